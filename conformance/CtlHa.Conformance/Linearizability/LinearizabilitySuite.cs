using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using CtlHa.Conformance.Differential;
using CtlHa.Conformance.Ha;
using CtlHa.Conformance.Suites;
using CtlHa.Initiator;
using CtlHa.Model;
using CtlHa.Spec;
using TaskAttribute = CtlHa.Initiator.Scsi.TaskAttribute;

namespace CtlHa.Conformance.Linearizability;

/// <summary>Round shape of <see cref="LinearizabilitySuite"/>; the defaults keep a round's history within the checker's reach.</summary>
public sealed record LinearizabilityOptions
{
    /// <summary>Concurrent clients (sessions, I_T nexuses) on each node.</summary>
    public int ClientsPerNode { get; init; } = 2;

    /// <summary>Commands each client sends in a COMPARE AND WRITE round.</summary>
    public int CawOperationsPerClient { get; init; } = 7;

    /// <summary>Commands each client sends in a persistent-reservation round.</summary>
    public int PrOperationsPerClient { get; init; } = 6;

    /// <summary>Blocks a round's counters live in (chosen afresh from a small window each round).</summary>
    public int CounterBlocks { get; init; } = 2;

    /// <summary>Share of rounds whose clients start each command together (more CAW collisions), the rest run free.</summary>
    public double LockstepFraction { get; init; } = 0.5;

    /// <summary>The checker's step limit per round (past it the round is inconclusive, not failed).</summary>
    public long MaxCheckerSteps { get; init; } = 2_000_000;

    /// <summary>
    /// The workloads rounds alternate between. Default: CAW counters and PR chains without unit attentions. The full PR
    /// workload (unit attentions included) still finds failures (see README.md "Finding") and runs as the opt-in suite
    /// <see cref="LinearizabilitySuite.WithUnitAttentionsName"/>.
    /// </summary>
    public IReadOnlyList<LinWorkload> Workloads { get; init; } =
        [LinWorkload.CompareAndWrite, LinWorkload.PersistentReservationsWithoutUnitAttentions];

    /// <summary>The suite's name in ctlha-conform (the default set uses "linearizability").</summary>
    public string Name { get; init; } = "linearizability";

    /// <summary>Stop after this many failed rounds.</summary>
    public int MaxFailures { get; init; } = 3;

    /// <summary>
    /// The pair's HA mode for the model's views; null takes it from an <see cref="EmbeddedPair"/>, else proxy. (Shared and
    /// proxy give the same answers to this suite's commands; standby would refuse media commands through B.)
    /// </summary>
    public HaMode? Mode { get; init; }

    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(15);
}

/// <summary>
/// Cross-node linearizability (issue 6): clients on both nodes of a pair run concurrent COMPARE AND WRITE counter chains
/// or PERSISTENT RESERVE OUT/IN chains; each round's recorded history (invocation and response times, inputs, observed
/// status/sense/data) must be linearizable against the sequential <see cref="LogicalUnitModel"/>. Counters catch a CAW
/// that is not atomic across nodes (two CAWs succeeding on one expected value); PR chains catch reservation state or
/// unit attentions that one node sees later than the other. Between rounds the LUN is put back to a known state (no
/// registrations, no reservation, no pending UAs, known counter blocks), and the model follows it.
/// </summary>
public sealed class LinearizabilitySuite(LinearizabilityOptions? options = null) : IConformanceSuite
{
    private const int Lun = 0;
    private const ulong ResetKey = 0xE0;
    private const int CounterWindow = 64;

    private readonly LinearizabilityOptions _options = Validated(options ?? new LinearizabilityOptions());

    /// <summary>Name of the opt-in suite that runs the full PR workload, unit attentions included.</summary>
    public const string WithUnitAttentionsName = "linearizability-pr-ua";

    public string Name => _options.Name;

    public string Description => "concurrent CAW counters and PR OUT chains through both nodes; each history must be linearizable against the model";

    public SuiteNeeds Needs => SuiteNeeds.Pair;

    /// <summary>Rounds whose check hit the step limit (neither passed nor failed) in the last run.</summary>
    public int InconclusiveRounds { get; private set; }

    /// <summary>Answers that meant "not executed" (BUSY, TASK SET FULL) in the last run.</summary>
    public int RejectedOperations { get; private set; }

    public async Task<SuiteResult> RunAsync(SuiteContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var pair = context.Pair ?? throw new InvalidOperationException("the linearizability suite needs a pair");
        var mode = _options.Mode ?? (pair is EmbeddedPair embedded ? embedded.Mode : HaMode.Proxy);
        var started = Stopwatch.StartNew();
        var failures = new List<SuiteFailure>();
        long operations = 0;
        var rounds = 0;
        InconclusiveRounds = 0;
        RejectedOperations = 0;

        await using var clients = await LinClients.ConnectAsync(pair, _options.ClientsPerNode, _options.CommandTimeout, cancellationToken);
        await clients.SettleAsync(TimeSpan.FromSeconds(15), cancellationToken);
        var capacity = await clients.CapacityAsync(cancellationToken);
        if (capacity.BlockLength != LinCommands.BlockSize)
        {
            throw new InvalidOperationException($"LUN {Lun} has {capacity.BlockLength}-byte blocks; the counter blocks need {LinCommands.BlockSize}");
        }

        var baseModel = new LogicalUnitModel(new LunConfig(BlockCount: capacity.Blocks, BlockSize: capacity.BlockLength)
        {
            TargetName = clients.TargetName,
            Ports = [new ModelPort(1, 1), new ModelPort(2, 257)],
            Node1View = new LunHaView(1, HaRole.Primary, false, LinkState.Online, mode),
            Node2View = new LunHaView(2, HaRole.Secondary, true, LinkState.Online, mode),
        });
        var checker = new LinearizabilityChecker(_options.MaxCheckerSteps);
        var seeds = new Random(context.Seed);
        context.Log($"linearizability: mode {mode}, {clients.All.Count} clients, {capacity.Blocks} blocks, seed {context.Seed}");

        while (DateTimeOffset.UtcNow < context.Deadline && !cancellationToken.IsCancellationRequested && failures.Count < _options.MaxFailures)
        {
            var round = rounds + 1;
            var roundSeed = seeds.Next();
            var random = new Random(roundSeed);
            var workload = _options.Workloads[(round - 1) % _options.Workloads.Count];
            var window = (ulong)Math.Min(CounterWindow, (long)capacity.Blocks);
            var lbas = Enumerable.Range(0, (int)window).Select(i => (ulong)i).OrderBy(_ => random.Next()).Take(_options.CounterBlocks).Order().ToArray();
            var initialValues = lbas.Select(_ => (long)random.Next(1000)).ToArray();
            var replay = $"--seed {context.Seed.ToString(CultureInfo.InvariantCulture)} (round {round}, round seed {roundSeed}); thread timing is not replayed, so the interleaving may differ";

            LogicalUnitModel initial;
            try
            {
                initial = await ResetAsync(clients, baseModel, lbas, initialValues, cancellationToken);
            }
            catch (LinResetException e)
            {
                failures.Add(new SuiteFailure($"round {round} reset", e.Message, e.Trace, replay));
                break;
            }

            var history = await RunRoundAsync(clients, workload, lbas, random, cancellationToken);
            rounds++;
            operations += history.Count;
            RejectedOperations += history.Count(o => o.Rejected);
            var result = checker.Check(history, initial);
            var origin = history.Count > 0 ? history.Min(o => o.Invoked) : 0;
            switch (result.Verdict)
            {
                case LinVerdict.NotLinearizable:
                    var trace = new List<string>(result.Explanation) { "history (shortest failing prefix, by invocation):" };
                    trace.AddRange(result.FailingPrefix.OrderBy(o => o.Invoked).Select(o => "  " + o.Describe(origin)));
                    trace.Add($"initial state: {Describe(lbas, initialValues)}, no registrations, no reservation, no pending UA");
                    failures.Add(new SuiteFailure($"round {round} {workload}", $"not linearizable ({history.Count} operations, {mode} mode)", trace, replay));
                    context.Log($"round {round} {workload}: NOT LINEARIZABLE\n  " + string.Join("\n  ", trace));
                    break;
                case LinVerdict.Inconclusive:
                    InconclusiveRounds++;
                    context.Log($"round {round} {workload}: inconclusive after {result.Steps} steps ({history.Count} operations)");
                    break;
                default:
                    context.Log($"round {round} {workload}: linearizable ({history.Count} operations, {result.Steps} steps)");
                    break;
            }

            context.Progress(new SuiteProgress(rounds, operations, failures.Count, $"round {round} {workload}"));
            if (clients.Broken)
            {
                await clients.ReconnectBrokenAsync(cancellationToken);
            }
        }

        context.Log($"linearizability: {rounds} rounds, {operations} operations, {InconclusiveRounds} inconclusive, {RejectedOperations} BUSY, {started.Elapsed.TotalSeconds:0.0} s");
        return new SuiteResult(Name, rounds, operations, failures, started.Elapsed);
    }

    private static LinearizabilityOptions Validated(LinearizabilityOptions o)
    {
        // Every client's commands plus the quiescent reads (two clients, at most CounterBlocks or 2 each) must fit the checker.
        var most = (2 * o.ClientsPerNode * Math.Max(o.CawOperationsPerClient, o.PrOperationsPerClient)) + (2 * Math.Max(o.CounterBlocks, 2));
        if (o.ClientsPerNode < 1 || o.CounterBlocks < 1 || o.Workloads.Count == 0 || most > LinearizabilityChecker.MaxOperations)
        {
            throw new ArgumentException($"a round of up to {most} operations: the checker takes at most {LinearizabilityChecker.MaxOperations}, with at least one client per node, one counter block and one workload", nameof(o));
        }

        return o;
    }

    private static string Describe(ulong[] lbas, long[] values) =>
        string.Join(", ", lbas.Select((l, i) => $"lba {l}={values[i]}"));

    private async Task<IReadOnlyList<LinOperation>> RunRoundAsync(LinClients clients, LinWorkload workload, ulong[] lbas, Random random, CancellationToken cancellationToken)
    {
        var recorder = new HistoryRecorder();
        var ids = clients.All.Select(c => c.Client.Id).ToList();
        var perClient = workload == LinWorkload.CompareAndWrite ? _options.CawOperationsPerClient : _options.PrOperationsPerClient;
        var scripts = clients.All.Select(c => new LinClientScript(workload, c.Client.Id, ids, lbas, new Random(random.Next()))).ToArray();
        // Lockstep rounds start every client's n-th command together (all CAWs on the same values at once); free
        // rounds let the clients drift, for other interleavings.
        var barrier = random.NextDouble() < _options.LockstepFraction ? new StepBarrier(clients.All.Count) : null;
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tasks = clients.All.Select((c, i) => Task.Run(async () =>
        {
            await go.Task;
            for (var n = 0; n < perClient; n++)
            {
                var command = scripts[i].Next();
                if (barrier is not null)
                {
                    await barrier.ArriveAsync();
                }

                if (!c.Broken)
                {
                    scripts[i].Observe(await c.RecordAsync(recorder, command, cancellationToken));
                }
            }
        }, cancellationToken)).ToArray();
        go.SetResult();
        await Task.WhenAll(tasks);

        // Quiescent reads through both nodes pin the round's end state.
        foreach (var c in new[] { clients.All[0], clients.All[^1] }.Where(c => !c.Broken))
        {
            if (workload == LinWorkload.CompareAndWrite)
            {
                foreach (var lba in lbas)
                {
                    await c.RecordAsync(recorder, LinCommands.Read(lba), cancellationToken);
                }
            }
            else
            {
                await c.RecordAsync(recorder, LinCommands.ReadKeys(), cancellationToken);
                await c.RecordAsync(recorder, LinCommands.ReadReservation(), cancellationToken);
            }
        }

        return recorder.Snapshot();
    }

    /// <summary>
    /// Puts the LUN in a known state and makes <paramref name="baseModel"/> follow it: every client unregisters itself,
    /// client 0 does REGISTER AND IGNORE + CLEAR (no registrations, no reservation), UAs are cleared on every nexus, and
    /// the counter blocks are written. The PR
    /// generation keeps counting across rounds on the target; the model (which does not see the rounds) catches up by
    /// key changes of the reset registration before its CLEAR, so READ KEYS generations compare exactly in the round.
    /// </summary>
    private static async Task<LogicalUnitModel> ResetAsync(LinClients clients, LogicalUnitModel baseModel, ulong[] lbas, long[] values, CancellationToken cancellationToken)
    {
        var trace = new List<string>();
        var first = clients.All[0];
        // Every client unregisters itself first, so the CLEAR below preempts nobody: a CLEAR would give the others
        // REGISTRATIONS PREEMPTED, and a UA that reaches the other node late (see README "Finding") would then surface
        // in the next round instead of here.
        foreach (var c in clients.All)
        {
            await ExpectGoodAsync(c, LinCommands.RegisterAndIgnore(0), trace, cancellationToken);
        }

        await ExpectGoodAsync(first, LinCommands.RegisterAndIgnore(ResetKey), trace, cancellationToken);
        await ExpectGoodAsync(first, LinCommands.Clear(ResetKey), trace, cancellationToken);
        foreach (var c in clients.All)
        {
            await ExpectGoodAsync(c, LinCommands.TestUnitReady(), trace, cancellationToken);
        }

        for (var i = 0; i < lbas.Length; i++)
        {
            await ExpectGoodAsync(first, LinCommands.Write(lbas[i], values[i]), trace, cancellationToken);
        }

        var keys = await ExpectGoodAsync(first, LinCommands.ReadKeys(), trace, cancellationToken);
        if (keys.DataIn.Length < 8 || BinaryPrimitives.ReadUInt32BigEndian(keys.DataIn.AsSpan(4)) != 0)
        {
            throw new LinResetException("after CLEAR, READ KEYS still lists keys", trace);
        }

        var generation = BinaryPrimitives.ReadUInt32BigEndian(keys.DataIn);

        // The model: the same steps, UAs cleared the same way, the generation caught up before CLEAR.
        var m = baseModel;
        foreach (var c in clients.All)
        {
            ModelUntilGood(m, c.Client, LinCommands.TestUnitReady(), trace);
        }

        ModelUntilGood(m, first.Client, LinCommands.RegisterAndIgnore(ResetKey), trace);
        var key = ResetKey;
        for (var guard = 0; m.PrGeneration + 1 < generation && guard < 1_000_000; guard++)
        {
            key = key == ResetKey ? ResetKey + 1 : ResetKey;
            ModelUntilGood(m, first.Client, LinCommands.RegisterAndIgnore(key), trace);
        }

        ModelUntilGood(m, first.Client, LinCommands.Clear(key), trace);
        if (m.PrGeneration != generation)
        {
            throw new LinResetException($"the model's PR generation {m.PrGeneration} cannot follow the target's {generation}", trace);
        }

        foreach (var c in clients.All)
        {
            ModelUntilGood(m, c.Client, LinCommands.TestUnitReady(), trace);
        }

        for (var i = 0; i < lbas.Length; i++)
        {
            ModelUntilGood(m, first.Client, LinCommands.Write(lbas[i], values[i]), trace);
        }

        var modelKeys = DiffOutcome.FromModel(m.Execute(first.Client.Nexus, LinCommands.ReadKeys().Cdb, [], 1024));
        if (DiffOutcome.Compare(keys, modelKeys) is { } difference)
        {
            throw new LinResetException($"after the reset, READ KEYS differs from the model: {difference}", trace);
        }

        return m.Clone();
    }

    /// <summary>Sends a reset command (not part of the history), retrying while it reports a UA; it must end GOOD.</summary>
    private static async Task<DiffOutcome> ExpectGoodAsync(LinSession session, LinCommand command, List<string> trace, CancellationToken cancellationToken)
    {
        DiffOutcome outcome = DiffOutcome.Skipped;
        for (var attempt = 0; attempt < 16; attempt++)
        {
            outcome = await session.ExecuteAsync(command, cancellationToken);
            trace.Add($"reset {session.Client} {command.Label} → {command.Render(outcome)}");
            if (outcome is not { Status: 0x02, Sense.Key: 0x06 })
            {
                break;
            }
        }

        return outcome.Status == 0 && outcome.Failure is null
            ? outcome
            : throw new LinResetException($"reset step {command.Label} through {session.Client} answered {command.Render(outcome)}", trace);
    }

    private static void ModelUntilGood(LogicalUnitModel model, LinClient client, LinCommand command, List<string> trace)
    {
        for (var attempt = 0; attempt < 16; attempt++)
        {
            var r = DiffOutcome.FromModel(model.Execute(client.Nexus, command.Cdb, command.DataOut, (uint)command.ExpectedLength));
            if (r.Status == 0)
            {
                return;
            }

            if (r is not { Status: 0x02, Sense.Key: 0x06 })
            {
                trace.Add($"model {client} {command.Label} → {command.Render(r)}");
                throw new LinResetException($"the model refused reset step {command.Label} through {client}: {command.Render(r)}", trace);
            }
        }

        throw new LinResetException($"the model kept reporting UAs to {command.Label} through {client}", trace);
    }
}

/// <summary>The LUN could not be put back to a known state (or the model could not follow it).</summary>
public sealed class LinResetException(string message, IReadOnlyList<string> trace) : Exception(message)
{
    public IReadOnlyList<string> Trace { get; } = trace;
}

/// <summary>One client's iSCSI session; transport failures end the client for the round (its command stays pending).</summary>
public sealed class LinSession(LinClient client, IscsiUrl url, InitiatorOptions options, IscsiInitiatorSession session)
{
    public LinClient Client { get; } = client;

    public IscsiInitiatorSession Session { get; private set; } = session;

    public bool Broken { get; private set; }

    public async Task<DiffOutcome> ExecuteAsync(LinCommand command, CancellationToken cancellationToken)
    {
        try
        {
            var response = await Session.ExecuteAsync(url.Lun, command.Cdb, command.DataOut, command.ExpectedLength, TaskAttribute.Simple, cancellationToken);
            return DiffOutcome.FromTarget(response);
        }
        catch (IscsiException e)
        {
            Broken = true;
            return DiffOutcome.FromException(e);
        }
    }

    /// <summary>Runs a command as an operation of the history.</summary>
    public async Task<DiffOutcome> RecordAsync(HistoryRecorder recorder, LinCommand command, CancellationToken cancellationToken)
    {
        var id = recorder.Invoke(Client, command.Cdb, command.DataOut, command.ExpectedLength, command.Label, command.Render);
        var outcome = await ExecuteAsync(command, cancellationToken);
        recorder.Complete(id, outcome);
        return outcome;
    }

    public async Task ReconnectAsync(CancellationToken cancellationToken)
    {
        await Session.DisposeAsync();
        Session = await IscsiInitiatorSession.ConnectAsync(url, options, cancellationToken);
        Broken = false;
    }

    public async ValueTask CloseAsync()
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await Session.LogoutAsync(cts.Token);
        }
        catch (Exception e) when (e is IscsiException or OperationCanceledException)
        {
            // The node may have dropped the session; disposing still closes the socket.
        }

        await Session.DisposeAsync();
    }
}

/// <summary>The round's clients: <c>ClientsPerNode</c> sessions through A, then as many through B; two initiator hosts.</summary>
public sealed class LinClients : IAsyncDisposable
{
    private readonly List<LinSession> _sessions;

    private LinClients(List<LinSession> sessions, string targetName)
    {
        _sessions = sessions;
        TargetName = targetName;
    }

    public IReadOnlyList<LinSession> All => _sessions;

    public string TargetName { get; }

    public bool Broken => _sessions.Any(s => s.Broken);

    public static async Task<LinClients> ConnectAsync(IPairUnderTest pair, int perNode, TimeSpan commandTimeout, CancellationToken cancellationToken)
    {
        var sessions = new List<LinSession>();
        var targetName = string.Empty;
        try
        {
            foreach (var node in new[] { PairNode.A, PairNode.B })
            {
                var url = IscsiUrl.Parse(pair.UrlOf(node).OriginalString);
                targetName = url.TargetName;
                for (var i = 0; i < perNode; i++)
                {
                    var id = sessions.Count;
                    var host = (id % 2) + 1;
                    var name = $"iqn.2026-11.org.ctlha:lin-host{host}";
                    var isid = 0x4000_0151_0000UL + (ulong)id;
                    var options = new InitiatorOptions
                    {
                        InitiatorName = name,
                        Isid = isid,
                        CommandTimeout = commandTimeout,
                        LoginTimeout = TimeSpan.FromSeconds(20),
                    };
                    var session = await IscsiInitiatorSession.ConnectAsync(url, options, cancellationToken);
                    var nexus = new Nexus(name, isid, (int)node, node == PairNode.A ? (ushort)1 : (ushort)257);
                    sessions.Add(new LinSession(new LinClient(id, node, host, nexus), url, options, session));
                }
            }

            return new LinClients(sessions, targetName);
        }
        catch
        {
            foreach (var s in sessions)
            {
                await s.CloseAsync();
            }

            throw;
        }
    }

    /// <summary>
    /// Waits until every client's TEST UNIT READY is GOOD: clears the login UAs (29/xx) and rides out a secondary still
    /// reporting an ALUA transition (02/04/0A) right after the link came up. Outside any history.
    /// </summary>
    public async Task SettleAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        foreach (var s in _sessions)
        {
            var outcome = DiffOutcome.Skipped;
            while (DateTime.UtcNow < deadline)
            {
                outcome = await s.ExecuteAsync(LinCommands.TestUnitReady(), cancellationToken);
                if (outcome is { Status: 0, Failure: null })
                {
                    break;
                }

                if (outcome is not { Status: 0x02, Sense.Key: 0x06 })
                {
                    await Task.Delay(50, cancellationToken);
                }
            }

            if (outcome is not { Status: 0, Failure: null })
            {
                throw new InvalidOperationException($"{s.Client}: TEST UNIT READY still answers {LinCommands.Text(outcome)} after {timeout.TotalSeconds:0} s");
            }
        }
    }

    public async Task<Initiator.Scsi.Capacity> CapacityAsync(CancellationToken cancellationToken)
    {
        var command = new LinCommand(Initiator.Scsi.Cdb.ReadCapacity16(), [], 32, "READ CAPACITY(16)", LinCommands.Text);
        for (var attempt = 0; attempt < 16; attempt++)
        {
            var outcome = await _sessions[0].ExecuteAsync(command, cancellationToken);
            if (outcome.Status == 0 && Initiator.Scsi.Capacity.TryParse16(outcome.DataIn, out var capacity))
            {
                return capacity;
            }

            if (outcome is not { Status: 0x02, Sense.Key: 0x06 })
            {
                throw new InvalidOperationException($"READ CAPACITY(16) through {_sessions[0].Client}: {outcome}");
            }
        }

        throw new InvalidOperationException("READ CAPACITY(16) kept reporting unit attentions");
    }

    public async Task ReconnectBrokenAsync(CancellationToken cancellationToken)
    {
        foreach (var s in _sessions.Where(s => s.Broken))
        {
            await s.ReconnectAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var s in _sessions)
        {
            await s.CloseAsync();
        }
    }
}

/// <summary>A reusable barrier for the clients of a lockstep round: the n-th arrival of every party releases them all.</summary>
internal sealed class StepBarrier(int parties)
{
    private readonly Lock _lock = new();
    private TaskCompletionSource _step = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _arrived;

    public Task ArriveAsync()
    {
        lock (_lock)
        {
            var step = _step;
            if (++_arrived == parties)
            {
                _arrived = 0;
                _step = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                step.SetResult();
            }

            return step.Task;
        }
    }
}

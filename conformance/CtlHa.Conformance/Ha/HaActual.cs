using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using CtlHa.Conformance.Differential;
using CtlHa.Conformance.Suites;
using CtlHa.Initiator;
using CtlHa.Initiator.Scsi;
using CtlHa.Model;
using CtlHa.Spec;
using TaskAttribute = CtlHa.Initiator.Scsi.TaskAttribute;

namespace CtlHa.Conformance.Ha;

/// <summary>
/// The actual side of the HA machine: a fresh <see cref="EmbeddedPair"/> with one iSCSI session per
/// <see cref="HaInitiator"/>, and the <see cref="HaOracle"/> that judges each observed outcome. Operations run one at a
/// time; after a link, role or process change it waits (bounded) until the status API shows the change has settled,
/// so the model's state at operation boundaries is the spec's.
/// </summary>
public sealed class HaActual : IAsyncDisposable
{
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Heartbeat silence before a node gives its peer up (the node default, 1 s, is too tight on a loaded CI machine).</summary>
    public static readonly TimeSpan PeerDeadAfter = TimeSpan.FromSeconds(4);

    private readonly EmbeddedPair _pair;
    private readonly IscsiInitiatorSession?[] _sessions = new IscsiInitiatorSession?[HaInitiator.All.Count];
    private readonly List<string> _trace = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private HaOracle _oracle = null!;

    private HaActual(EmbeddedPair pair)
    {
        _pair = pair;
    }

    public EmbeddedPair Pair => _pair;

    public HaOracle Oracle => _oracle;

    /// <summary>Trace lines so far: <c>B: init4 WRITE(10) lba=8 len=1 seed=2 → GOOD</c>.</summary>
    public IReadOnlyList<string> Trace => _trace;

    /// <summary>The first disagreement (null while everything agreed).</summary>
    public string? Failure { get; private set; }

    public long Operations { get; private set; }

    /// <summary>The link was lost to heartbeat silence during a command (a starved machine): the rest of the run is not judged.</summary>
    public bool Disturbed { get; private set; }

    /// <summary>"HA link down" lines of running nodes that name a heartbeat or handshake timeout.</summary>
    private int StarvedLinkLosses() =>
        new[] { PairNode.A, PairNode.B }.Sum(n => _pair.NodeOf(n)?.Log.Count(l =>
            l.Contains("HA link down", StringComparison.Ordinal)
            && (l.Contains("heartbeat", StringComparison.OrdinalIgnoreCase) || l.Contains("handshake", StringComparison.OrdinalIgnoreCase))) ?? 0);

    public TimeSpan Elapsed => _clock.Elapsed;

    public static async Task<HaActual> StartAsync(HaMode mode, int seed, CancellationToken cancellationToken)
    {
        var pair = await EmbeddedPair.StartAsync(new EmbeddedPairOptions
        {
            Mode = mode,
            LunBlocks = HaGen.LunBlocks,
            Seed = seed,
            // The suite judges answers, not heartbeat timing: a starved node must not lose the link behind its back.
            PeerDeadAfter = PeerDeadAfter,
        }, cancellationToken);
        var actual = new HaActual(pair);
        try
        {
            var initial = HaPairState.Initial(mode);
            foreach (var initiator in HaInitiator.All)
            {
                actual._sessions[initiator.Index - 1] = await actual.LoginAsync(initiator, 0, cancellationToken);
            }

            var config = await actual.ProbeConfigAsync(cancellationToken);
            actual._oracle = new HaOracle(config, initial, HaInitiator.All.Select(i => i.ToNexus(0)));
            return actual;
        }
        catch
        {
            await actual.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs one operation if the current state permits it; returns whether the pair's answer was allowed.</summary>
    public async Task<bool> ExecuteAsync(HaOp op, CancellationToken cancellationToken)
    {
        if (Failure is not null)
        {
            return false;
        }

        if (Disturbed)
        {
            return true;
        }

        var before = _oracle.State;
        if (!op.Permitted(before))
        {
            return true;
        }

        _oracle.BeginOperation();
        Operations++;
        var starvedBefore = StarvedLinkLosses();
        string line;
        string? failure;
        try
        {
            (line, failure) = op switch
            {
                HaCommand c => await CommandAsync(c, cancellationToken),
                HaLunReset r => await LunResetAsync(r, cancellationToken),
                HaLink l => await LinkAsync(l, before, cancellationToken),
                HaKill k => await KillAsync(k, before, cancellationToken),
                HaRestart r => await RestartAsync(r, before, cancellationToken),
                HaSetRole s => await RoleAsync(s, before, cancellationToken),
                _ => throw new ArgumentOutOfRangeException(nameof(op), op, "unknown HA operation"),
            };
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            (line, failure) = ($"{op} → {e.GetType().Name}: {e.Message}", $"the operation threw {e.GetType().Name}: {e.Message}");
        }

        if (op is HaCommand or HaLunReset && StarvedLinkLosses() > starvedBefore)
        {
            // The link died of heartbeat silence without a planned fault: the machine was starved (load), and what
            // follows is outside the model's state. Stop judging this run (it counts as disturbed, not as passed).
            Disturbed = true;
            line += "   [unplanned link loss: heartbeat timeout]";
        }

        _trace.Add(line);
        if (failure is not null && Disturbed)
        {
            _trace.Add($"    ^ not judged (disturbed run): {failure}");
            return true;
        }

        if (failure is not null)
        {
            Failure = failure;
            _trace.Add($"    ^ {failure}");
            _trace.Add($"    state: {_oracle}");
            return false;
        }

        return true;
    }

    private async Task<(string, string?)> CommandAsync(HaCommand c, CancellationToken cancellationToken)
    {
        var nexus = c.Initiator.ToNexus(_oracle.State.Generation(c.Initiator.Node));
        if (DiffExclusions.SkipReason(c.Step, _oracle.Model) is { } skip)
        {
            return ($"{c} [skipped: {skip}]", null);
        }

        var session = _sessions[c.Initiator.Index - 1] ?? throw new InvalidOperationException($"init{c.Initiator.Index} has no session");
        DiffOutcome got;
        try
        {
            var response = await session.ExecuteAsync(0, c.Step.Cdb, c.Step.DataOut, c.Step.ExpectedLength, TaskAttribute.Simple, cancellationToken);
            got = DiffOutcome.FromTarget(response);
        }
        catch (Exception e) when (e is IscsiConnectionLostException or IscsiTimeoutException or IscsiRejectException or IscsiProtocolException or IscsiTaskAbortedException)
        {
            got = DiffOutcome.FromException(e);
        }

        var uas = _oracle.DescribeUas(nexus);
        var difference = _oracle.Command(nexus, c.Step, got, out var expected);
        return difference is null
            ? ($"{c} → {got}", null)
            : ($"{c} → {got}", $"allowed: {expected} (UAs {uas}); {difference}");
    }

    private async Task<(string, string?)> LunResetAsync(HaLunReset r, CancellationToken cancellationToken)
    {
        var session = _sessions[r.Initiator.Index - 1] ?? throw new InvalidOperationException($"init{r.Initiator.Index} has no session");
        var response = await session.LunResetAsync(0, cancellationToken);
        if (response != TaskManagementResponse.FunctionComplete)
        {
            return ($"{r} → {response}", "LOGICAL UNIT RESET must complete (FUNCTION COMPLETE)");
        }

        _oracle.LunReset(r.Initiator.ToNexus(_oracle.State.Generation(r.Initiator.Node)));
        return ($"{r} → {response}", null);
    }

    private async Task<(string, string?)> LinkAsync(HaLink l, HaPairState before, CancellationToken cancellationToken)
    {
        var next = l.Next(before);
        switch (l.Action)
        {
            case HaLinkAction.Cut:
                await _pair.CutLinkAsync(cancellationToken);
                break;
            case HaLinkAction.Stall:
                await _pair.StallLinkAsync(cancellationToken);
                break;
            default:
                await _pair.RestoreLinkAsync(cancellationToken);
                break;
        }

        var (state, failure) = await SettleAsync(next, cancellationToken);
        if (before.Linked && !next.Linked)
        {
            _oracle.LinkLost();
        }
        _oracle.Apply(next);
        return ($"{l} → {state}", failure);
    }

    private async Task<(string, string?)> KillAsync(HaKill k, HaPairState before, CancellationToken cancellationToken)
    {
        var lost = HaInitiator.All.Where(i => i.Node == k.Node).ToList();
        _oracle.NexusesLost([.. lost.Select(i => i.ToNexus(before.Generation(k.Node)))]);
        foreach (var initiator in lost)
        {
            await DropSessionAsync(initiator, before.Generation(k.Node));
        }

        if (k.Graceful)
        {
            await _pair.StopAsync(k.Node);
        }
        else
        {
            await _pair.KillAsync(k.Node, cancellationToken);
        }

        var next = k.Next(before);
        var (state, failure) = await SettleAsync(next, cancellationToken);
        _oracle.Apply(next);
        return ($"{k} → {state}", failure);
    }

    private async Task<(string, string?)> RestartAsync(HaRestart r, HaPairState before, CancellationToken cancellationToken)
    {
        await _pair.RestartAsync(r.Node, cancellationToken);
        var next = r.Next(before);
        var (state, failure) = await SettleAsync(next, cancellationToken);
        _oracle.Apply(next);
        foreach (var initiator in HaInitiator.All.Where(i => i.Node == r.Node))
        {
            var generation = next.Generation(r.Node);
            _sessions[initiator.Index - 1] = await LoginAsync(initiator, generation, cancellationToken);
            _oracle.Register(initiator.ToNexus(generation));
        }

        return ($"{r} → {state}", failure);
    }

    private async Task<(string, string?)> RoleAsync(HaSetRole s, HaPairState before, CancellationToken cancellationToken)
    {
        var refused = s.Refused(before);
        var (ok, message) = await _pair.TrySetRoleAsync(s.Node, s.Primary, null, cancellationToken);
        var answer = ok ? "done" : "refused";
        if (ok == refused)
        {
            return ($"{s} → {answer}", refused
                ? "promoting while the linked peer is primary must be refused (two primaries)"
                : $"the role change must be accepted: {message.Trim()}");
        }

        var next = s.Next(before);
        var (state, failure) = await SettleAsync(next, cancellationToken);
        _oracle.Apply(next);
        return ($"{s} → {answer}; {state}", failure);
    }

    /// <summary>Waits until the status API shows <paramref name="next"/>: linked and roles agreed, or link down everywhere.</summary>
    private async Task<(string, string?)> SettleAsync(HaPairState next, CancellationToken cancellationToken)
    {
        var started = _clock.Elapsed;
        bool settled;
        string what;
        if (next.Linked)
        {
            what = "link up with roles agreed";
            settled = await _pair.WaitLinkedAsync(SettleTimeout, cancellationToken);
        }
        else
        {
            what = "link down on every running node";
            settled = await _pair.WaitUnlinkedAsync(SettleTimeout, cancellationToken);
        }

        var took = (_clock.Elapsed - started).TotalMilliseconds;
        var line = $"{next} (settled in {took:0} ms)";
        return settled ? (line, null) : (line, $"not settled within {SettleTimeout.TotalSeconds:0} s: {what}");
    }

    private async Task<IscsiInitiatorSession> LoginAsync(HaInitiator initiator, int generation, CancellationToken cancellationToken)
    {
        var (host, port) = _pair.PortalOf(initiator.Node);
        return await IscsiInitiatorSession.ConnectAsync(host, port, _pair.TargetName, new InitiatorOptions
        {
            InitiatorName = initiator.Name,
            Isid = initiator.Isid(generation),
            CommandTimeout = TimeSpan.FromSeconds(20),
            LoginTimeout = TimeSpan.FromSeconds(20),
        }, cancellationToken);
    }

    private async Task DropSessionAsync(HaInitiator initiator, int generation)
    {
        if (_sessions[initiator.Index - 1] is { } session)
        {
            _sessions[initiator.Index - 1] = null;
            await session.DisposeAsync();
        }

        _oracle.Forget(initiator.ToNexus(generation));
    }

    /// <summary>
    /// The LUN's identity (VPD 80h serial, VPD 83h T10 vendor part and NAA) read once through node A: configuration,
    /// not behaviour, so it is read instead of borrowing the implementation's derivation.
    /// </summary>
    private async Task<LunConfig> ProbeConfigAsync(CancellationToken cancellationToken)
    {
        var identity = await LunIdentity.ProbeAsync(_sessions[0]!, 0, cancellationToken);
        var serialText = identity.Serial ?? throw new InvalidOperationException("INQUIRY VPD 80h through A failed");
        var deviceId = identity.DeviceId;
        var naa = identity.Naa;
        return new LunConfig(BlockCount: (ulong)HaGen.LunBlocks, BlockSize: 512, LunId: 0, SerialNumber: serialText, DeviceId: deviceId ?? serialText)
        {
            Naa = naa,
            TargetName = _pair.TargetName,
            Ports = [new ModelPort(1, 1), new ModelPort(2, 257)],
            ImplicitTransitionTimeSeconds = _pair.ImplicitTransitionTimeSeconds,
        };
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var i in Enumerable.Range(0, _sessions.Length))
        {
            if (_sessions[i] is { } session)
            {
                _sessions[i] = null;
                await session.DisposeAsync();
            }
        }

        // The run's state is thrown away: SIGKILL is enough and much faster than a graceful stop on a busy machine.
        foreach (var node in new[] { PairNode.A, PairNode.B })
        {
            if (_pair.IsAlive(node))
            {
                await _pair.KillAsync(node, CancellationToken.None);
            }
        }

        await _pair.DisposeAsync();
    }

    public override string ToString() => _pair.ToString();
}

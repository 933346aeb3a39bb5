using System.Buffers.Binary;
using System.Diagnostics;
using CtlHa.Conformance.Differential;
using CtlHa.Initiator;
using CtlHa.Model;
using FsCheck;
using FsCheck.Fluent;
using InitiatorCdb = CtlHa.Initiator.Scsi.Cdb;

namespace CtlHa.Conformance.Suites;

/// <summary>Where the differential suite sends its commands.</summary>
public enum DifferentialTarget
{
    /// <summary>A fresh standalone <c>ctlha node</c> per sequence (<c>ctlha-conform self</c>).</summary>
    OwnNode,

    /// <summary>Node A of the pair under test, LUN 0, reset between sequences (<c>ctlha-conform pair</c>).</summary>
    PairNodeA,
}

/// <summary>
/// The single-node target-vs-model differential property (issue 3; conformance/Differential) as a budgeted suite:
/// random command sequences from three initiators (<see cref="DiffGen"/>), run on the target and on
/// <see cref="LogicalUnitModel"/>, every answer compared. A disagreement is shrunk (the same shrinker as the xunit
/// property: halves, then single steps) while time allows and reported as readable trace lines.
/// </summary>
public sealed class DifferentialSuite(DifferentialTarget target) : IConformanceSuite
{
    /// <summary>Longest generated sequence (the xunit property's default, CTLHA_DIFF_LENGTH).</summary>
    public int MaxLength { get; init; } = 25;

    /// <summary>Greedy shrinking stops after this many re-runs.</summary>
    public int MaxShrinkRuns { get; init; } = 60;

    /// <summary>How long past the deadline shrinking a found failure may go on (well inside the runner's grace).</summary>
    public TimeSpan ShrinkAllowance { get; init; } = TimeSpan.FromSeconds(25);

    public DifferentialTarget Target => target;

    public string Name => "differential";

    public string Description => target == DifferentialTarget.OwnNode
        ? "single-node target vs model: random 3-initiator command sequences, a fresh ctlha node each"
        : "target vs model through node A of the pair (LUN 0, reset between sequences)";

    public SuiteNeeds Needs => target == DifferentialTarget.OwnNode ? SuiteNeeds.OwnNodes : SuiteNeeds.Pair;

    /// <summary>Sequence <paramref name="index"/> of a run with <paramref name="seed"/> (pure: the same seed gives the same sequences).</summary>
    public DiffStep[] SequenceFor(int seed, int index)
    {
        var rnd = new Rnd(Mix((ulong)(uint)seed, (ulong)index));
        return DiffGen.Sequence(MaxLength).Sample(MaxLength, rnd, 1)[0];
    }

    public async Task<SuiteResult> RunAsync(SuiteContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var clock = Stopwatch.StartNew();
        var failures = new List<SuiteFailure>();
        long operations = 0;
        var cases = 0;
        var estimate = TimeSpan.FromSeconds(2);
        await using var pairTarget = target == DifferentialTarget.PairNodeA ? await PairRunner.OpenAsync(context, cancellationToken).ConfigureAwait(false) : null;
        Func<DiffStep[], Task<DiffRun>> run = pairTarget is null
            ? steps => RunOwnAsync(steps, cancellationToken)
            : steps => pairTarget.RunAsync(steps, cancellationToken);

        for (var index = 0; failures.Count == 0; index++)
        {
            if (cases > 0 && DateTimeOffset.UtcNow + estimate > context.Deadline)
            {
                break;
            }

            var steps = SequenceFor(context.Seed, index);
            context.Progress(new SuiteProgress(cases, operations, failures.Count, $"sequence {index + 1} ({steps.Length} steps)"));
            var caseClock = Stopwatch.StartNew();
            var result = await run(steps).ConfigureAwait(false);
            operations += Executed(result);
            cases++;
            estimate = TimeSpan.FromTicks(Math.Max(estimate.Ticks, caseClock.Elapsed.Ticks));
            if (result.FirstMismatch is { } first)
            {
                context.Log($"sequence {index + 1} disagrees at '{first.Step}'; shrinking");
                var (shrunk, runs, ops) = await ShrinkAsync(steps, result, run, context, cancellationToken).ConfigureAwait(false);
                operations += ops;
                var mismatch = shrunk.FirstMismatch!;
                failures.Add(new SuiteFailure(
                    $"sequence {index + 1}",
                    $"{mismatch.Step}: target {mismatch.Target} | model {mismatch.Model}: {mismatch.Difference} (shrunk from {steps.Length} to {shrunk.Lines.Count} steps in {runs} re-runs)",
                    [.. shrunk.Lines.Select(l => l.ToString())],
                    $"sequence {index + 1} of seed {context.Seed}"));
            }

            context.Progress(new SuiteProgress(cases, operations, failures.Count, null));
        }

        return new SuiteResult(Name, cases, operations, failures, clock.Elapsed);
    }

    private static async Task<DiffRun> RunOwnAsync(DiffStep[] steps, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return await DiffRunner.RunFreshAsync(steps).ConfigureAwait(false);
    }

    /// <summary>Greedy shrinking with <see cref="DiffGen.Shrink"/>: keep the first smaller sequence that still disagrees.</summary>
    private async Task<(DiffRun Run, int Runs, long Operations)> ShrinkAsync(DiffStep[] steps, DiffRun failing, Func<DiffStep[], Task<DiffRun>> run,
        SuiteContext context, CancellationToken cancellationToken)
    {
        var stopAt = (context.Deadline > DateTimeOffset.UtcNow ? context.Deadline : DateTimeOffset.UtcNow) + ShrinkAllowance;
        // Steps after the first disagreement never ran: drop them before anything else.
        var current = steps[..failing.Lines.Count];
        var best = failing;
        var runs = 0;
        long operations = 0;
        var progress = true;
        while (progress && runs < MaxShrinkRuns && DateTimeOffset.UtcNow < stopAt)
        {
            progress = false;
            foreach (var candidate in DiffGen.Shrink(current))
            {
                if (runs >= MaxShrinkRuns || DateTimeOffset.UtcNow >= stopAt)
                {
                    break;
                }

                cancellationToken.ThrowIfCancellationRequested();
                runs++;
                var attempt = await run(candidate).ConfigureAwait(false);
                operations += Executed(attempt);
                if (!attempt.Agreed)
                {
                    current = candidate[..attempt.Lines.Count];
                    best = attempt;
                    progress = true;
                    break;
                }
            }
        }

        return (best, runs, operations);
    }

    private static long Executed(DiffRun run) => run.Lines.Count(l => l.Target.Modeled || l.Target.Failure is not null);

    private static ulong Mix(ulong seed, ulong index)
    {
        // SplitMix64 finaliser: neighbouring (seed, index) pairs give unrelated generator seeds.
        var z = seed * 0x9E3779B97F4A7C15UL + (index + 1) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>
    /// Differential runs against node A of a running pair: the LUN is not fresh, so every sequence starts with a
    /// prelude sent to both sides and not compared (clear unit attentions, PR CLEAR, RELEASE(6), default caching and
    /// control pages, zeros over the LBAs the generator touches). The PR generation counter cannot be reset, so PR IN
    /// answers are compared relative to its value after the prelude. INQUIRY VPD 83h and REPORT LUNS are skipped: they
    /// describe the pair's configuration (ports, groups, other LUNs), which the single-LUN model does not know.
    /// </summary>
    private sealed class PairRunner : IAsyncDisposable
    {
        private const ulong CleanupKey = 0xC7A0_C7A0;
        private readonly DiffTarget _target;
        private readonly LunConfig _config;

        private PairRunner(DiffTarget target, LunConfig config)
        {
            _target = target;
            _config = config;
        }

        public static async Task<PairRunner> OpenAsync(SuiteContext context, CancellationToken cancellationToken)
        {
            var pair = context.Pair ?? throw new InvalidOperationException("the differential suite on a pair needs context.Pair");
            var url = IscsiUrl.Parse(pair.UrlOf(PairNode.A).ToString());
            var target = await DiffTarget.ConnectAsync(url, DiffInitiator.Default, cancellationToken).ConfigureAwait(false);
            var config = await target.ProbeModelConfigAsync(cancellationToken).ConfigureAwait(false);
            // Node A, primary with the link up (the model's default HA view), ports 1 (A) and 257 (B) as CtlHa numbers them.
            config = config with
            {
                Ports = [new ModelPort(1, 1), new ModelPort(2, 257)],
                Node1View = new LunConfig().Node1View,
            };
            return new PairRunner(target, config);
        }

        public async Task<DiffRun> RunAsync(IReadOnlyList<DiffStep> steps, CancellationToken cancellationToken)
        {
            var model = new LogicalUnitModel(_config);
            foreach (var step in Prelude())
            {
                if (step.Label == "TEST UNIT READY")
                {
                    await UntilGoodAsync(step, model, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                await _target.ExecuteAsync(step, cancellationToken).ConfigureAwait(false);
                model.Execute(Nexus(step), step.Cdb, step.DataOut, (uint)step.ExpectedLength);
            }

            var readKeys = new DiffStep(1, "PR IN READ KEYS", [0x5E, 0, 0, 0, 0, 0, 0, 0x04, 0, 0], [], 1024);
            var targetGeneration = Generation((await _target.ExecuteAsync(readKeys, cancellationToken).ConfigureAwait(false)).DataIn);
            var modelGeneration = Generation(model.Execute(Nexus(readKeys), readKeys.Cdb, readKeys.DataOut, 1024).DataIn);

            var lines = new List<DiffTraceLine>();
            foreach (var step in steps)
            {
                var skip = step.Label.StartsWith("INQUIRY VPD 83h", StringComparison.Ordinal) || step.Label == "REPORT LUNS"
                    ? "pair configuration"
                    : DiffExclusions.SkipReason(step, model);
                if (skip is not null)
                {
                    lines.Add(new DiffTraceLine(step with { Label = $"{step.Label} [skipped: {skip}]" }, DiffOutcome.Skipped, DiffOutcome.Skipped, null));
                    continue;
                }

                var expected = DiffOutcome.FromModel(model.Execute(Nexus(step), step.Cdb, step.DataOut, (uint)step.ExpectedLength));
                var got = await _target.ExecuteAsync(step, cancellationToken).ConfigureAwait(false);
                // PRGENERATION (bytes 0-3 of READ KEYS, READ RESERVATION, READ FULL STATUS) counts from the pair's past.
                if (step.Cdb is [0x5E, var sa, ..] && (sa & 0x1F) is 0 or 1 or 3 && got.DataIn.Length >= 4 && expected.DataIn.Length >= 4)
                {
                    var data = (byte[])got.DataIn.Clone();
                    BinaryPrimitives.WriteUInt32BigEndian(data, Generation(data) - targetGeneration + modelGeneration);
                    got = got with { DataIn = data };
                }

                var difference = DiffOutcome.CompareWithExclusions(step, got, expected);
                lines.Add(new DiffTraceLine(step, got, expected, difference));
                if (difference is not null)
                {
                    break;
                }
            }

            return new DiffRun(lines);
        }

        public ValueTask DisposeAsync() => _target.DisposeAsync();

        private static Nexus Nexus(DiffStep step) => DiffInitiator.Default[step.Initiator - 1].ToNexus();

        private static uint Generation(byte[] data) => data.Length >= 4 ? BinaryPrimitives.ReadUInt32BigEndian(data) : 0;

        /// <summary>TEST UNIT READY until GOOD (bounded) on both sides: consumes whatever unit attentions each has queued.</summary>
        private async Task UntilGoodAsync(DiffStep tur, LogicalUnitModel model, CancellationToken cancellationToken)
        {
            for (var i = 0; i < 8; i++)
            {
                if ((await _target.ExecuteAsync(tur, cancellationToken).ConfigureAwait(false)).Status == 0)
                {
                    break;
                }
            }

            for (var i = 0; i < 8; i++)
            {
                if (model.Execute(Nexus(tur), tur.Cdb, tur.DataOut, 0).Status == 0)
                {
                    break;
                }
            }
        }

        private IEnumerable<DiffStep> Prelude()
        {
            var initiators = DiffInitiator.Default.Select(i => i.Index).ToArray();
            foreach (var i in initiators)
            {
                yield return new DiffStep(i, "TEST UNIT READY", InitiatorCdb.TestUnitReady(), [], 0);
            }

            // A SCSI-2 reservation of another nexus would make the PR OUTs below conflict: release first.
            foreach (var i in initiators)
            {
                yield return new DiffStep(i, "RELEASE(6)", InitiatorCdb.Release6(), [], 0);
            }

            var parameters = new byte[24];
            BinaryPrimitives.WriteUInt64BigEndian(parameters.AsSpan(8), CleanupKey);
            yield return new DiffStep(1, "PR OUT REGISTER AND IGNORE", [0x5F, 6, 0, 0, 0, 0, 0, 0, 24, 0], parameters, 0);
            var clear = new byte[24];
            BinaryPrimitives.WriteUInt64BigEndian(clear, CleanupKey);
            yield return new DiffStep(1, "PR OUT CLEAR", [0x5F, 3, 0, 0, 0, 0, 0, 0, 24, 0], clear, 0);
            foreach (var i in initiators)
            {
                yield return new DiffStep(i, "RELEASE(6)", InitiatorCdb.Release6(), [], 0);
            }

            foreach (var page in new[] { ModePages.Caching, ModePages.Control })
            {
                byte[] select = [0, 0, 0, 0, .. ModePages.Default(page, _config)];
                yield return new DiffStep(1, "MODE SELECT(6) defaults", InitiatorCdb.ModeSelect6((byte)select.Length), select, 0);
            }

            var zeroBlocks = (ushort)Math.Min(_config.BlockCount, DiffGen.BlockCount + 8);
            yield return new DiffStep(1, "WRITE(10) zeros", InitiatorCdb.Write10(0, zeroBlocks), new byte[zeroBlocks * (int)DiffTarget.BlockSize], 0);
            foreach (var i in initiators)
            {
                yield return new DiffStep(i, "TEST UNIT READY", InitiatorCdb.TestUnitReady(), [], 0);
            }
        }
    }
}

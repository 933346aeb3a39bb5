using CtlHa.Spec;
using FsCheck;
using FsCheck.Experimental;
using FsCheck.Fluent;

namespace CtlHa.Conformance.Ha;

/// <summary>
/// Bookkeeping shared by the runs of one FsCheck check (the original sequence and every shrink candidate): the
/// trace of the last failing run (after shrinking, the minimal one), operation counts, and the hard deadline after
/// which runs no longer start a pair (they pass at once, which ends shrinking with the smallest failure found so far).
/// </summary>
public sealed class HaRunLog(HaMode mode, int seed, DateTimeOffset hardDeadline, CancellationToken cancellationToken)
{
    public HaMode Mode => mode;

    public int Seed => seed;

    public DateTimeOffset HardDeadline => hardDeadline;

    public CancellationToken CancellationToken => cancellationToken;

    public int Runs { get; set; }

    public long Operations { get; set; }

    public TimeSpan OperationTime { get; set; }

    public int LateUas { get; set; }

    public int DisturbedRuns { get; set; }

    public IReadOnlyList<string>? FailingTrace { get; set; }

    public string? FailingMessage { get; set; }

    public string? LastPairLogs { get; set; }

    public Action<string> Log { get; init; } = _ => { };
}

/// <summary>The FsCheck actual: a started <see cref="HaActual"/>, or nothing once past the hard deadline.</summary>
public sealed class HaMachineActual(HaActual? actual, HaRunLog log)
{
    public HaActual? Actual => actual;

    public HaRunLog Log => log;

    public override string ToString() => actual?.ToString() ?? "(past the deadline: not started)";
}

/// <summary>
/// The HA/ALUA state machine (issue 6): FsCheck generates operations from the pair state (<see cref="HaGen"/>), runs
/// them on a fresh <see cref="EmbeddedPair"/> and checks every answer against the set <see cref="HaOracle"/> allows.
/// FsCheck's model is the pure <see cref="HaPairState"/> (what is permitted next); the logical-unit model lives in the
/// oracle next to the actual, because where the pair may answer in more than one way it is advanced with the answer.
/// </summary>
public sealed class HaMachine(HaRunLog log, int maxSteps) : Machine<HaMachineActual, HaPairState>(maxSteps)
{
    public override Arbitrary<Setup<HaMachineActual, HaPairState>> Setup =>
        Gen.Constant<Setup<HaMachineActual, HaPairState>>(new PairSetup(log)).ToArbitrary();

    public override TearDown<HaMachineActual> TearDown => new PairTearDown();

    public override Gen<Operation<HaMachineActual, HaPairState>> Next(HaPairState model) =>
        HaGen.Next(model).Select(op => (Operation<HaMachineActual, HaPairState>)new HaOperation(op));

    private sealed class PairSetup(HaRunLog log) : Setup<HaMachineActual, HaPairState>
    {
        public override HaMachineActual Actual()
        {
            if (DateTimeOffset.UtcNow >= log.HardDeadline || log.CancellationToken.IsCancellationRequested)
            {
                return new HaMachineActual(null, log);
            }

            log.Runs++;
            var actual = HaActual.StartAsync(log.Mode, log.Seed, log.CancellationToken).GetAwaiter().GetResult();
            return new HaMachineActual(actual, log);
        }

        public override HaPairState Model() => HaPairState.Initial(log.Mode);

        public override string ToString() => $"fresh {log.Mode.ToString().ToLowerInvariant()} pair, A primary, 2 initiators per node";
    }

    private sealed class PairTearDown : TearDown<HaMachineActual>
    {
        public override void Actual(HaMachineActual machine)
        {
            if (machine.Actual is not { } actual)
            {
                return;
            }

            var log = machine.Log;
            log.Operations += actual.Operations;
            log.OperationTime += actual.Elapsed;
            log.LateUas += actual.Oracle.LateObserved;
            log.DisturbedRuns += actual.Disturbed ? 1 : 0;
            foreach (var note in actual.Oracle.LateNotes)
            {
                log.Log($"  late UA (seed {log.Seed}): {note}");
            }

            if (actual.Failure is not null)
            {
                log.FailingTrace = [.. actual.Trace];
                log.FailingMessage = actual.Failure;
                log.LastPairLogs = actual.Pair.DescribeLogs(60);
            }

            actual.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private sealed class HaOperation(HaOp op) : Operation<HaMachineActual, HaPairState>
    {
        public override bool Pre(HaPairState model) => op.Permitted(model);

        public override HaPairState Run(HaPairState model) => op.Next(model) with { Steps = model.Steps + 1 };

        public override Property Check(HaMachineActual machine, HaPairState model)
        {
            if (machine.Actual is not { } actual)
            {
                return true.ToProperty();
            }

            var ok = actual.ExecuteAsync(op, machine.Log.CancellationToken).GetAwaiter().GetResult();
            return ok.Label(ok ? op.ToString() : $"{op}: {actual.Failure}");
        }

        public override string ToString() => op.ToString();
    }
}

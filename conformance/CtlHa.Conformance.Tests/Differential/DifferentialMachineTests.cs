using CtlHa.Conformance.Differential;
using CtlHa.Conformance.Tests.Node;
using CtlHa.Model;
using FsCheck;
using FsCheck.Experimental;
using FsCheck.Fluent;

namespace CtlHa.Conformance.Tests.Differential;

/// <summary>The actual side of the machine: a fresh node with its sessions, driven synchronously by FsCheck.</summary>
public sealed class NodeUnderTest : IDisposable
{
    private readonly CancellationTokenSource _cts = new(DiffRunner.SequenceTimeout);

    public NodeUnderTest()
    {
        Target = DiffTarget.StartAsync(DiffGen.BlockCount, DiffInitiator.Default, _cts.Token).GetAwaiter().GetResult();
    }

    public DiffTarget Target { get; }

    public DiffOutcome Execute(DiffStep step) => Target.ExecuteAsync(step, _cts.Token).GetAwaiter().GetResult();

    public void Dispose()
    {
        Target.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _cts.Dispose();
    }

    public override string ToString() => Target.Node.ToString();
}

/// <summary>The model state: the logical unit after the last step and the answer it predicted for that step.</summary>
public sealed record LuModelState(LogicalUnitModel Lu, DiffOutcome? Expected)
{
    public override string ToString() => $"model {Expected?.ToString() ?? "-"}";
}

/// <summary>
/// The differential test as an FsCheck <see cref="Machine{TActual,TModel}"/>: the shape the HA suites (issue 6) grow
/// into by adding operations such as a second node, link cuts and kills. <c>Run</c> clones the model and records its
/// answer (it must be pure: sequences are generated from the model alone); <c>Check</c> sends the step to the node.
/// </summary>
public sealed class LogicalUnitDifferentialMachine(LunConfig config, int maxSteps) : Machine<NodeUnderTest, LuModelState>(maxSteps)
{
    public override Arbitrary<Setup<NodeUnderTest, LuModelState>> Setup =>
        Gen.Constant<Setup<NodeUnderTest, LuModelState>>(new NodeSetup(config)).ToArbitrary();

    public override TearDown<NodeUnderTest> TearDown => new NodeTearDown();

    public override Gen<Operation<NodeUnderTest, LuModelState>> Next(LuModelState model) =>
        DiffGen.Step().Select(step => (Operation<NodeUnderTest, LuModelState>)new StepOperation(step));

    private sealed class NodeSetup(LunConfig config) : Setup<NodeUnderTest, LuModelState>
    {
        public override NodeUnderTest Actual() => new();

        public override LuModelState Model() => new(new LogicalUnitModel(config), null);

        public override string ToString() => "fresh node, 3 initiators";
    }

    private sealed class NodeTearDown : TearDown<NodeUnderTest>
    {
        public override void Actual(NodeUnderTest actual) => actual.Dispose();
    }

    private sealed class StepOperation(DiffStep step) : Operation<NodeUnderTest, LuModelState>
    {
        public override LuModelState Run(LuModelState model)
        {
            if (DiffExclusions.SkipReason(step, model.Lu) is not null)
            {
                return model with { Expected = null };
            }

            var lu = model.Lu.Clone();
            var nexus = DiffInitiator.Default[step.Initiator - 1].ToNexus();
            return new LuModelState(lu, DiffOutcome.FromModel(lu.Execute(nexus, step.Cdb, step.DataOut, (uint)step.ExpectedLength)));
        }

        public override Property Check(NodeUnderTest actual, LuModelState model)
        {
            if (model.Expected is not { } expected)
            {
                return true.Label($"{step} skipped (E6)");
            }

            var got = actual.Execute(step);
            var difference = DiffOutcome.CompareWithExclusions(step, got, expected);
            return (difference is null).Label($"{step} → target {got} | model {expected}: {difference}");
        }

        public override string ToString() => step.ToString();
    }
}

[Collection(NodeCollection.Name)]
public sealed class DifferentialMachineTests
{
    [Fact(Timeout = 1_800_000)]
    public async Task The_node_and_the_model_run_as_an_FsCheck_state_machine()
    {
        var config = await ProbeConfigAsync();
        var machine = new LogicalUnitDifferentialMachine(config, DiffSettings.MaxLength);

        await Task.Run(() => Check.One(DiffSettings.Config(Math.Max(1, DiffSettings.Runs / 3)), machine.ToProperty()));
    }

    /// <summary>
    /// The model needs the LUN identity before any node exists (FsCheck builds the model first). It is a function of
    /// the target name and LUN id only, so one probe of a throwaway node gives it for every run.
    /// </summary>
    private static async Task<LunConfig> ProbeConfigAsync()
    {
        using var cts = new CancellationTokenSource(DiffRunner.SequenceTimeout);
        await using var target = await DiffTarget.StartAsync(DiffGen.BlockCount, DiffInitiator.Default, cts.Token);
        return await target.ProbeModelConfigAsync(cts.Token);
    }
}

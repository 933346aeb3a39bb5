using FsCheck;
using FsCheck.Experimental;
using FsCheck.Fluent;
using FsCheck.Xunit;
using static CtlHa.Model.Tests.Fixture;

namespace CtlHa.Model.Tests;

/// <summary>The FsCheck model state: the logical unit after the last operation and the answer it predicted.</summary>
public sealed record LuState(LogicalUnitModel Lu, ModelResult? Expected)
{
    public override string ToString() => $"expected {Expected?.ToString() ?? "-"} | {Lu}";
}

/// <summary>
/// The shape a model-based suite takes (HOUSE_STYLE "Model-based tests"): <c>Run</c> advances a clone of the
/// model and records its answer; <c>Check</c> sends the same command to the system under test and compares.
/// Here the system under test is a second model instance, which checks that the model is usable this way
/// (purity of <see cref="LogicalUnitModel.Clone"/>, determinism); conformance/ swaps in a real iSCSI target.
/// </summary>
public sealed class LogicalUnitMachine : Machine<LogicalUnitModel, LuState>
{
    private static readonly ulong[] Keys = [0x1, 0x2, 0x3];

    public LogicalUnitMachine()
        : base(25)
    {
    }

    public override Arbitrary<Setup<LogicalUnitModel, LuState>> Setup =>
        Gen.Constant<Setup<LogicalUnitModel, LuState>>(new LuSetup()).ToArbitrary();

    public override Gen<Operation<LogicalUnitModel, LuState>> Next(LuState model) =>
        OpGen.Any(All, Keys).Select(op => (Operation<LogicalUnitModel, LuState>)new CommandOperation(op));

    private sealed class LuSetup : Setup<LogicalUnitModel, LuState>
    {
        public override LogicalUnitModel Actual() => new(new LunConfig(BlockCount: 64));

        public override LuState Model() => new(new LogicalUnitModel(new LunConfig(BlockCount: 64)), null);
    }

    private sealed class CommandOperation(Op op) : Operation<LogicalUnitModel, LuState>
    {
        public override LuState Run(LuState model)
        {
            var next = model.Lu.Clone();
            return new LuState(next, op.Apply(next));
        }

        public override Property Check(LogicalUnitModel actual, LuState model)
        {
            var got = op.Apply(actual);
            var expected = model.Expected;
            var same = got is null ? expected is null : expected is not null && got.SameAs(expected, senseDecoded: true);
            return same.Label($"{op}: expected {expected}, got {got}");
        }

        public override string ToString() => op.ToString();
    }
}

public sealed class MachineExampleTests
{
    [Property(MaxTest = 50)]
    public Property The_model_drives_an_FsCheck_state_machine() => new LogicalUnitMachine().ToProperty();
}

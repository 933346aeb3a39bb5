using CtlHa.Spec;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace CtlHa.Spec.Tests;

/// <summary>ctl-ha.md §5.2 (gates), §5.3 (forwarding), §9 (RUN_HERE) and the §15 requirements they carry.</summary>
public sealed class CommandGatesTests
{
    private static readonly CommandInfo Read10 = CommandTable.Lookup(0x28);
    private static readonly CommandInfo Tur = CommandTable.Lookup(0x00);
    private static readonly CommandInfo ReadCapacity10 = CommandTable.Lookup(0x25);
    private static readonly CommandInfo Inquiry = CommandTable.Lookup(0x12);
    private static readonly CommandInfo RequestSense = CommandTable.Lookup(0x03);
    private static readonly CommandInfo ReportLuns = CommandTable.Lookup(0xA0);
    private static readonly CommandInfo Rtpg = CommandTable.Lookup(0xA3, 0x0A);
    private static readonly CommandInfo ModeSense6 = CommandTable.Lookup(0x1A);
    private static readonly CommandInfo PrOutRegister = CommandTable.Lookup(0x5F, 0x00);

    private static GateVerdict Reject(GateSense s) => GateVerdict.RejectWith(s);

    [Theory]
    [InlineData(HaMode.Unavailable)]
    [InlineData(HaMode.Standby)]
    [InlineData(HaMode.Shared)]
    [InlineData(HaMode.Proxy)]
    public void Gate_1_secondary_without_interlink_rejects_media_commands_with_04_0C_requirement_18(HaMode mode)
    {
        var v = new LunHaView(2, HaRole.Secondary, false, LinkState.Offline, mode);
        Assert.Equal(Reject(CommandGates.UnavailableSense), CommandGates.Evaluate(v, Read10));
        Assert.Equal(Reject(new GateSense(0x02, 0x04, 0x0C)), CommandGates.Evaluate(v, Tur));
        Assert.Equal(GateVerdict.Execute, CommandGates.Evaluate(v, Inquiry));
    }

    [Theory]
    [InlineData(LinkState.Connecting, HaMode.Standby)]
    [InlineData(LinkState.Connecting, HaMode.Proxy)]
    [InlineData(LinkState.Online, HaMode.Shared)]
    [InlineData(LinkState.Online, HaMode.Proxy)]
    public void Gate_2_secondary_whose_peer_is_not_primary_rejects_with_04_0A_requirement_19(LinkState link, HaMode mode)
    {
        var v = new LunHaView(1, HaRole.Secondary, false, link, mode);
        Assert.Equal(Reject(new GateSense(0x02, 0x04, 0x0A)), CommandGates.Evaluate(v, Read10));
        Assert.Equal(Reject(CommandGates.TransitioningSense), CommandGates.Evaluate(v, ModeSense6));
        // OK_ON_UNAVAIL commands execute locally: the peer is not primary, so nothing is forwarded (§9).
        Assert.Equal(GateVerdict.Execute, CommandGates.Evaluate(v, Inquiry));
        Assert.Equal(GateVerdict.Execute, CommandGates.Evaluate(v, Rtpg));
    }

    [Fact]
    public void Gate_3_standby_path_rejects_TUR_READ_and_READ_CAPACITY_with_04_0B_requirement_20()
    {
        var v = new LunHaView(2, HaRole.Secondary, true, LinkState.Online, HaMode.Standby);
        Assert.Equal(Reject(new GateSense(0x02, 0x04, 0x0B)), CommandGates.Evaluate(v, Tur));
        Assert.Equal(Reject(CommandGates.StandbySense), CommandGates.Evaluate(v, Read10));
        Assert.Equal(Reject(CommandGates.StandbySense), CommandGates.Evaluate(v, ReadCapacity10));
    }

    [Fact]
    public void Standby_path_serializes_OK_ON_STANDBY_commands_through_the_primary_5_3()
    {
        var v = new LunHaView(2, HaRole.Secondary, true, LinkState.Online, HaMode.Standby);
        Assert.Equal(GateVerdict.Forward, CommandGates.Evaluate(v, ModeSense6));
        Assert.Equal(GateVerdict.Forward, CommandGates.Evaluate(v, PrOutRegister));
        Assert.Equal(GateVerdict.Forward, CommandGates.Evaluate(v, Inquiry));
        Assert.Equal(GateVerdict.Forward, CommandGates.Evaluate(v, Rtpg));
    }

    [Theory]
    [InlineData(HaMode.Shared)]
    [InlineData(HaMode.Proxy)]
    public void Secondary_with_primary_peer_forwards_everything_but_RUN_HERE_requirement_30(HaMode mode)
    {
        var v = new LunHaView(1, HaRole.Secondary, true, LinkState.Online, mode);
        foreach (var cmd in CommandTable.All)
        {
            var expected = cmd.RunHere ? GateVerdict.Execute : GateVerdict.Forward;
            Assert.Equal(expected, CommandGates.Evaluate(v, cmd));
        }
    }

    [Theory]
    [InlineData(HaRole.Secondary, HaMode.Proxy, false)] // gate 4: the primary checks forwarded commands
    [InlineData(HaRole.Secondary, HaMode.Standby, true)]
    [InlineData(HaRole.Secondary, HaMode.Shared, true)]
    [InlineData(HaRole.Primary, HaMode.Proxy, true)]
    public void Gate_4_proxy_secondary_skips_the_local_checks_5_2(HaRole role, HaMode mode, bool runs)
    {
        var v = new LunHaView(1, role, role == HaRole.Secondary, LinkState.Online, mode);
        Assert.Equal(runs, CommandGates.RunsLocalChecks(v));
    }

    [Theory]
    [InlineData(HaMode.Standby)]
    [InlineData(HaMode.Shared)]
    [InlineData(HaMode.Proxy)]
    public void REQUEST_SENSE_and_REPORT_LUNS_run_where_they_arrive_section_9(HaMode mode)
    {
        var v = new LunHaView(1, HaRole.Secondary, true, LinkState.Online, mode);
        Assert.Equal(GateVerdict.Execute, CommandGates.Evaluate(v, RequestSense));
        Assert.Equal(GateVerdict.Execute, CommandGates.Evaluate(v, ReportLuns));
    }

    [Property(MaxTest = 300)]
    public Property The_primary_executes_every_supported_command_locally() =>
        Prop.ForAll(Generators.ConsistentView.Where(v => v.LocalRole == HaRole.Primary).ToArbitrary(), Generators.Command.ToArbitrary(),
            (v, cmd) => CommandGates.Evaluate(v, cmd) == GateVerdict.Execute);

    [Property(MaxTest = 300)]
    public Property Discovery_commands_succeed_in_every_ALUA_state_requirement_21() =>
        Prop.ForAll(Generators.ConsistentView.ToArbitrary(), v =>
        {
            byte[][] cdbs = [[0x12], [0x03], [0xA0], [0xA3, 0x0A], [0xA3, 0x0C], [0xA3, 0x0D], [0xA3, 0x0F]];
            return cdbs.All(cdb => CommandGates.Evaluate(v, CommandTable.Lookup(cdb)).Action != GateAction.Reject);
        });

    [Property(MaxTest = 300)]
    public Property MAINTENANCE_OUT_is_05_20_00_on_every_node_in_every_state_requirement_24() =>
        Prop.ForAll(Generators.ConsistentView.ToArbitrary(), v =>
            CommandGates.Evaluate(v, CommandTable.Lookup(0xA4, 0x0A)) == GateVerdict.RejectWith(new GateSense(0x05, 0x20, 0x00)));

    [Property(MaxTest = 300)]
    public Property The_gate_sense_matches_the_reported_own_group_state() =>
        // Cross-check of §5.2 against §5.5: what a media command gets is what RTPG says about this path.
        Prop.ForAll(Generators.ConsistentView.ToArbitrary(), v =>
        {
            var verdict = CommandGates.Evaluate(v, Read10);
            return AluaTable.OwnGroupState(v) switch
            {
                AccessState.ActiveOptimized => verdict == GateVerdict.Execute,
                AccessState.ActiveNonOptimized => verdict == GateVerdict.Forward,
                AccessState.Standby => verdict == Reject(CommandGates.StandbySense),
                AccessState.Unavailable => verdict == Reject(CommandGates.UnavailableSense),
                AccessState.Transitioning => verdict == Reject(CommandGates.TransitioningSense),
                _ => false,
            };
        });

    [Property(MaxTest = 300)]
    public Property A_node_without_the_backing_store_never_executes_a_media_command_itself() =>
        Prop.ForAll(Generators.ConsistentView.Where(v => !v.HasBackingStore).ToArbitrary(), v =>
            CommandGates.Evaluate(v, Read10).Action != GateAction.ExecuteLocally
            && AluaTable.OwnGroupState(v) != AccessState.ActiveOptimized);
}

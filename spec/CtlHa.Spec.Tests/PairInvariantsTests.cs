using CtlHa.Spec;

namespace CtlHa.Spec.Tests;

public sealed class PairInvariantsTests
{
    [Fact]
    public void A_synced_linked_pair_has_no_violations()
    {
        var n1 = new LunHaView(1, HaRole.Primary, false, LinkState.Online, HaMode.Standby);
        var n2 = new LunHaView(2, HaRole.Secondary, true, LinkState.Online, HaMode.Standby);
        Assert.True(PairInvariants.RtpgMustAgree(n1, n2));
        Assert.Empty(PairInvariants.Violations(n1, n2));
    }

    [Fact]
    public void Stale_peer_primary_knowledge_is_reported()
    {
        var n1 = new LunHaView(1, HaRole.Secondary, false, LinkState.Online, HaMode.Proxy);
        var n2 = new LunHaView(2, HaRole.Secondary, true, LinkState.Online, HaMode.Proxy);
        Assert.Contains(PairInvariants.Violations(n1, n2), v => v.Contains("node 2 believes", StringComparison.Ordinal));
    }

    [Fact]
    public void Two_unlinked_secondaries_may_disagree_on_RTPG_5_5()
    {
        var n1 = new LunHaView(1, HaRole.Secondary, false, LinkState.Connecting, HaMode.Proxy);
        var n2 = n1 with { NodeId = 2 };
        Assert.False(PairInvariants.RtpgMustAgree(n1, n2));
        Assert.NotEqual(AluaTable.Groups(n1), AluaTable.Groups(n2));
        Assert.Empty(PairInvariants.Violations(n1, n2));
    }

    [Theory]
    [InlineData(LinkState.Offline, LinkState.Connecting, new[] { LunRoleTrigger.Configure })]
    [InlineData(LinkState.Connecting, LinkState.Online, new[] { LunRoleTrigger.LinkUp })]
    [InlineData(LinkState.Online, LinkState.Connecting, new[] { LunRoleTrigger.LinkDown })]
    [InlineData(LinkState.Online, LinkState.Offline, new[] { LunRoleTrigger.Unconfigure })]
    [InlineData(LinkState.Connecting, LinkState.Offline, new[] { LunRoleTrigger.Unconfigure })]
    [InlineData(LinkState.Online, LinkState.Online, new LunRoleTrigger[0])]
    public void Link_state_edges_map_to_LUN_triggers(LinkState before, LinkState after, LunRoleTrigger[] expected) =>
        Assert.Equal(expected, PairInvariants.LunTriggersForLinkChange(before, after));

    [Fact]
    public void On_R2R_the_originator_executes_unless_a_gate_now_rejects_6_1()
    {
        var read = CommandTable.Lookup(0x28);
        var shared = new LunHaView(2, HaRole.Secondary, true, LinkState.Online, HaMode.Shared);
        Assert.Equal(GateVerdict.Forward, CommandGates.Evaluate(shared, read));
        Assert.Equal(GateVerdict.Execute, CommandGates.EvaluateOnReadyToRun(shared, read));
        var lost = shared with { PeerPrimary = false, Link = LinkState.Connecting };
        Assert.Equal(GateVerdict.RejectWith(CommandGates.TransitioningSense), CommandGates.EvaluateOnReadyToRun(lost, read));
    }
}

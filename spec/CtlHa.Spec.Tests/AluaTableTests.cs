using CtlHa.Spec;
using static CtlHa.Spec.AccessState;

namespace CtlHa.Spec.Tests;

/// <summary>ctl-ha.md §5.5 "State computation": one test case per row, in every mode the row covers.</summary>
public sealed class AluaTableTests
{
    public static TheoryData<HaRole, bool, LinkState, HaMode, AccessState, AccessState> Rows => new()
    {
        // §5.5 row 1: primary here, ONLINE, ACT_STBY → AO / Standby.
        { HaRole.Primary, false, LinkState.Online, HaMode.Standby, ActiveOptimized, AccessState.Standby },
        // §5.5 row 2: primary here, ONLINE, SER_ONLY or XFER → AO / Non-optimized.
        { HaRole.Primary, false, LinkState.Online, HaMode.Shared, ActiveOptimized, ActiveNonOptimized },
        { HaRole.Primary, false, LinkState.Online, HaMode.Proxy, ActiveOptimized, ActiveNonOptimized },
        // §5.5 row 3: primary here, UNKNOWN → AO / Transitioning.
        { HaRole.Primary, false, LinkState.Connecting, HaMode.Standby, ActiveOptimized, Transitioning },
        { HaRole.Primary, false, LinkState.Connecting, HaMode.Shared, ActiveOptimized, Transitioning },
        { HaRole.Primary, false, LinkState.Connecting, HaMode.Proxy, ActiveOptimized, Transitioning },
        // §5.5 row 4: primary here, OFFLINE → AO / Unavailable (also §5.6, the Unavailable mode).
        { HaRole.Primary, false, LinkState.Offline, HaMode.Unavailable, ActiveOptimized, AccessState.Unavailable },
        { HaRole.Primary, false, LinkState.Offline, HaMode.Standby, ActiveOptimized, AccessState.Unavailable },
        { HaRole.Primary, false, LinkState.Offline, HaMode.Proxy, ActiveOptimized, AccessState.Unavailable },
        // §5.5 row 5: peer primary, ONLINE, ACT_STBY → Standby / AO.
        { HaRole.Secondary, true, LinkState.Online, HaMode.Standby, AccessState.Standby, ActiveOptimized },
        // §5.5 row 6: peer primary, ONLINE, SER_ONLY or XFER → Non-optimized / AO.
        { HaRole.Secondary, true, LinkState.Online, HaMode.Shared, ActiveNonOptimized, ActiveOptimized },
        { HaRole.Secondary, true, LinkState.Online, HaMode.Proxy, ActiveNonOptimized, ActiveOptimized },
        // §5.5 row 7: neither known primary, OFFLINE → Unavailable / AO (§5.6).
        { HaRole.Secondary, false, LinkState.Offline, HaMode.Unavailable, AccessState.Unavailable, ActiveOptimized },
        { HaRole.Secondary, false, LinkState.Offline, HaMode.Shared, AccessState.Unavailable, ActiveOptimized },
        // §5.5 row 8: neither known primary, UNKNOWN → Transitioning / AO.
        { HaRole.Secondary, false, LinkState.Connecting, HaMode.Standby, Transitioning, ActiveOptimized },
        { HaRole.Secondary, false, LinkState.Connecting, HaMode.Proxy, Transitioning, ActiveOptimized },
        // §5.5 row 9: neither known primary, ONLINE → Transitioning / Transitioning.
        { HaRole.Secondary, false, LinkState.Online, HaMode.Standby, Transitioning, Transitioning },
        { HaRole.Secondary, false, LinkState.Online, HaMode.Shared, Transitioning, Transitioning },
        { HaRole.Secondary, false, LinkState.Online, HaMode.Proxy, Transitioning, Transitioning },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void Each_row_of_the_5_5_state_table_holds_on_both_nodes(
        HaRole role, bool peerPrimary, LinkState link, HaMode mode, AccessState own, AccessState other)
    {
        foreach (var node in new[] { 1, 2 })
        {
            var v = new LunHaView(node, role, peerPrimary, link, mode);
            Assert.Equal(own, AluaTable.OwnGroupState(v));
            Assert.Equal(other, AluaTable.PeerGroupState(v));

            // Group ids are absolute (§5.5): TPG 2 is node 1's, TPG 3 node 2's, ordered by id.
            var groups = AluaTable.Groups(v);
            Assert.Equal(2, groups.Count);
            Assert.Equal((ushort)2, groups[0].GroupId);
            Assert.Equal((ushort)3, groups[1].GroupId);
            Assert.Equal(node == 1 ? own : other, groups[0].State);
            Assert.Equal(node == 2 ? own : other, groups[1].State);
        }
    }

    [Fact]
    public void Requirement_26_proxy_link_up_node_1_primary_reports_TPG2_AO_and_TPG3_ANO()
    {
        var node1 = new LunHaView(1, HaRole.Primary, false, LinkState.Online, HaMode.Proxy);
        Assert.Equal([((ushort)2, ActiveOptimized), ((ushort)3, ActiveNonOptimized)], AluaTable.Groups(node1));
    }

    [Fact]
    public void Shared_group_TPG1_comes_first_and_takes_the_answering_nodes_state_5_5()
    {
        var v = new LunHaView(2, HaRole.Secondary, true, LinkState.Online, HaMode.Shared);
        var groups = AluaTable.Groups(v, sharedGroupPresent: true);
        Assert.Equal([((ushort)1, ActiveNonOptimized), ((ushort)2, ActiveOptimized), ((ushort)3, ActiveNonOptimized)], groups);
    }

    [Theory]
    [InlineData(1, 2)]
    [InlineData(2, 3)]
    public void Node_group_ids_are_2_and_3_requirement_25(int node, int group) =>
        Assert.Equal((ushort)group, AluaTable.GroupIdOfNode(node));

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void Group_id_of_a_node_outside_1_and_2_is_refused(int node) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => AluaTable.GroupIdOfNode(node));

    [Fact]
    public void Split_brain_reports_both_groups_AO_on_both_nodes_a_deliberate_CtlHa_difference()
    {
        var a = new LunHaView(1, HaRole.Primary, true, LinkState.Online, HaMode.Proxy);
        var b = new LunHaView(2, HaRole.Primary, true, LinkState.Online, HaMode.Proxy);
        Assert.True(a.IsSplitBrain);
        Assert.Equal(AluaTable.Groups(a), AluaTable.Groups(b));
        Assert.All(AluaTable.Groups(a), g => Assert.Equal(ActiveOptimized, g.State));
    }

    [Theory]
    [InlineData(HaRole.Secondary, LinkState.Offline, 1)] // §5.5 / requirement 23: not primary, no interlink → 001b.
    [InlineData(HaRole.Secondary, LinkState.Connecting, 0)]
    [InlineData(HaRole.Secondary, LinkState.Online, 0)]
    [InlineData(HaRole.Primary, LinkState.Offline, 0)]
    public void Peripheral_qualifier_is_001b_only_on_a_secondary_without_interlink_requirement_23(HaRole role, LinkState link, int pq)
    {
        var v = new LunHaView(1, role, false, link, link == LinkState.Offline ? HaMode.Unavailable : HaMode.Standby);
        Assert.Equal((byte)pq, AluaTable.PeripheralQualifier(v));
        Assert.Equal(pq == 1, AluaTable.RequestSenseReportsLunNotSupported(v)); // requirement 29
    }

    [Theory]
    [InlineData(HaRole.Secondary, true, LinkState.Connecting, HaMode.Proxy)] // peer primary needs the link
    [InlineData(HaRole.Secondary, false, LinkState.Online, HaMode.Unavailable)] // no interlink in that mode
    [InlineData(HaRole.Secondary, false, LinkState.Connecting, HaMode.Unavailable)]
    public void Inconsistent_views_are_refused(HaRole role, bool peerPrimary, LinkState link, HaMode mode)
    {
        var v = new LunHaView(1, role, peerPrimary, link, mode);
        Assert.False(v.IsConsistent);
        Assert.Throws<ArgumentException>(() => AluaTable.OwnGroupState(v));
        Assert.Throws<ArgumentException>(() => CommandGates.Evaluate(v, CommandTable.Lookup(0x28)));
    }

    [Theory]
    [InlineData(1000, 10_000, 11)]
    [InlineData(1000, 0, 1)]
    [InlineData(100, 0, 1)]
    [InlineData(2500, 3000, 6)]
    [InlineData(60_000, 250_000, 255)]
    public void Implicit_transition_time_is_detection_plus_promotion_rounded_up_within_1_to_255(int deadMs, int promotionMs, int seconds) =>
        Assert.Equal(seconds, AluaTable.ImplicitTransitionTimeSeconds(TimeSpan.FromMilliseconds(deadMs), TimeSpan.FromMilliseconds(promotionMs)));
}

using CtlHa.Spec;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using T = CtlHa.Spec.LunRoleTrigger;

namespace CtlHa.Spec.Tests;

/// <summary>Per-LUN role and ALUA knowledge (ctl-ha.md §4.3, §5.1, §7.1, §7.3; requirements 14, 16, 17, 38, 41, 42).</summary>
public sealed class LunRoleTests
{
    private static readonly UaCode[] Aasc = [UaCode.AsymmetricAccessStateChanged];

    private static LunRoleSpec Run(HaMode mode, params T[] triggers)
    {
        var m = new LunRoleSpec(1, mode);
        foreach (var t in triggers)
        {
            m.Fire(t);
        }

        return m;
    }

    [Fact]
    public void A_new_LUN_on_an_HA_node_is_secondary_without_link_requirement_14()
    {
        var m = new LunRoleSpec(2, HaMode.Standby);
        Assert.Equal(new LunHaView(2, HaRole.Secondary, false, LinkState.Offline, HaMode.Standby), m.View);
    }

    [Fact]
    public void Promotion_and_demotion_raise_2A_06_and_announce_when_the_link_is_up_requirement_16()
    {
        var m = Run(HaMode.Proxy, T.Configure, T.LinkUp);
        var promoted = m.Fire(T.Promote);
        Assert.Equal(Aasc, promoted.UnitAttentions);
        Assert.True(promoted.AnnounceToPeer);
        Assert.Equal(BackingStoreChange.Open, promoted.BackingStore); // requirement 17

        var demoted = m.Fire(T.Demote);
        Assert.Equal(Aasc, demoted.UnitAttentions);
        Assert.True(demoted.AnnounceToPeer);
        Assert.Equal(BackingStoreChange.Close, demoted.BackingStore);
    }

    [Fact]
    public void Shared_mode_keeps_the_backing_store_open_on_both_roles_requirement_17()
    {
        var m = Run(HaMode.Shared);
        Assert.Equal(BackingStoreChange.None, m.Fire(T.Promote).BackingStore);
        Assert.Equal(BackingStoreChange.None, m.Fire(T.Demote).BackingStore);
    }

    [Fact]
    public void Role_change_without_link_raises_2A_06_but_announces_nothing_5_6()
    {
        var outcome = Run(HaMode.Unavailable).Fire(T.Promote);
        Assert.Equal(Aasc, outcome.UnitAttentions);
        Assert.False(outcome.AnnounceToPeer);
    }

    [Fact]
    public void Repeating_the_current_role_changes_nothing()
    {
        var m = Run(HaMode.Standby, T.Promote);
        var again = m.Fire(T.Promote);
        Assert.Empty(again.UnitAttentions);
        Assert.Equal(again.Before, again.After);
    }

    [Fact]
    public void Promote_is_refused_while_the_link_is_up_and_the_peer_is_primary()
    {
        var m = Run(HaMode.Proxy, T.Configure, T.LinkUp, T.PeerAnnouncedPrimary);
        Assert.False(m.CanFire(T.Promote));
        Assert.Throws<InvalidOperationException>(() => m.Fire(T.Promote));
        m.Fire(T.PeerAnnouncedSecondary);
        Assert.True(m.CanFire(T.Promote));
    }

    [Fact]
    public void Peer_announcements_raise_2A_06_only_when_the_knowledge_changes_4_3()
    {
        var m = Run(HaMode.Standby, T.Configure, T.LinkUp);
        Assert.Equal(Aasc, m.Fire(T.PeerAnnouncedPrimary).UnitAttentions);
        Assert.Empty(m.Fire(T.PeerAnnouncedPrimary).UnitAttentions);
        Assert.Equal(Aasc, m.Fire(T.PeerAnnouncedSecondary).UnitAttentions);
        Assert.Empty(m.Fire(T.PeerAnnouncedSecondary).UnitAttentions);
    }

    [Fact]
    public void Link_loss_clears_peer_primary_with_2A_06_and_never_promotes_requirements_38_41()
    {
        var m = Run(HaMode.Proxy, T.Configure, T.LinkUp, T.PeerAnnouncedPrimary);
        var down = m.Fire(T.LinkDown);
        Assert.Equal(Aasc, down.UnitAttentions);
        Assert.Equal(new LunHaView(1, HaRole.Secondary, false, LinkState.Connecting, HaMode.Proxy), down.After);
        Assert.Equal(AccessState.Transitioning, AluaTable.OwnGroupState(down.After));
        Assert.Equal(GateVerdict.RejectWith(CommandGates.TransitioningSense), CommandGates.Evaluate(down.After, CommandTable.Lookup(0x28)));

        // Requirement 41/42: explicit promotion makes commands succeed and RTPG report this group AO, with 2A/06.
        var promoted = m.Fire(T.Promote);
        Assert.Equal(Aasc, promoted.UnitAttentions);
        Assert.Equal(AccessState.ActiveOptimized, AluaTable.OwnGroupState(promoted.After));
        Assert.Equal(GateVerdict.Execute, CommandGates.Evaluate(promoted.After, CommandTable.Lookup(0x28)));
    }

    [Fact]
    public void Link_loss_with_a_secondary_peer_raises_no_UA_7_1()
    {
        var m = Run(HaMode.Proxy, T.Promote, T.Configure, T.LinkUp, T.PeerAnnouncedSecondary);
        Assert.Empty(m.Fire(T.LinkDown).UnitAttentions);
    }

    [Fact]
    public void Link_up_announces_the_LUN_and_starts_from_peer_not_primary_4_1()
    {
        var up = Run(HaMode.Standby, T.Configure).Fire(T.LinkUp);
        Assert.True(up.AnnounceToPeer);
        Assert.False(up.After.PeerPrimary);
        Assert.Empty(up.UnitAttentions);
    }

    [Fact]
    public void Unavailable_mode_has_no_interlink_5_6()
    {
        var m = new LunRoleSpec(1, HaMode.Unavailable);
        Assert.False(m.CanFire(T.Configure));
        Assert.False(m.CanFire(T.LinkUp));
        Assert.True(m.CanFire(T.Promote));
    }

    [Theory]
    [InlineData(HaMode.Standby)]
    [InlineData(HaMode.Shared)]
    [InlineData(HaMode.Proxy)]
    public void Every_phase_and_peer_knowledge_is_reachable_in_linked_modes(HaMode mode)
    {
        var reached = Reachable(mode);
        Assert.Equal(8, reached.Count); // 2 roles x 3 link states, plus peer-primary knowledge while Online
        Assert.Contains(new LunHaView(1, HaRole.Primary, true, LinkState.Online, mode), reached); // via promotion while the link was down
    }

    [Fact]
    public void Only_the_offline_phases_are_reachable_in_unavailable_mode()
    {
        var reached = Reachable(HaMode.Unavailable);
        Assert.Equal(2, reached.Count);
        Assert.All(reached, v => Assert.Equal(LinkState.Offline, v.Link));
    }

    private static HashSet<LunHaView> Reachable(HaMode mode)
    {
        var start = new LunRoleSpec(1, mode).View;
        var seen = new HashSet<LunHaView> { start };
        var queue = new Queue<LunHaView>([start]);
        while (queue.Count > 0)
        {
            var v = queue.Dequeue();
            foreach (var t in LunRoleSpec.AllTriggers)
            {
                var m = new LunRoleSpec(v);
                if (m.CanFire(t))
                {
                    var next = m.Fire(t).After;
                    Assert.True(next.IsConsistent, next.ToString());
                    if (seen.Add(next))
                    {
                        queue.Enqueue(next);
                    }
                }
            }
        }

        return seen;
    }

    [Property(MaxTest = 500)]
    public Property UA_2A_06_is_raised_exactly_when_role_or_peer_primary_knowledge_changes() =>
        Prop.ForAll(Generators.Mode.ToArbitrary(), Gen.ListOf(Gen.Elements(LunRoleSpec.AllTriggers.ToArray())).ToArbitrary(), (mode, triggers) =>
        {
            var m = new LunRoleSpec(2, mode);
            foreach (var t in triggers)
            {
                if (!m.CanFire(t))
                {
                    continue;
                }

                var o = m.Fire(t);
                var changed = o.Before.LocalRole != o.After.LocalRole || o.Before.PeerPrimary != o.After.PeerPrimary;
                if (!o.After.IsConsistent || changed != o.UnitAttentions.SequenceEqual(Aasc) || (!changed && o.UnitAttentions.Count != 0))
                {
                    return false;
                }

                // Promotion never creates two primaries while the link is up.
                if (t == T.Promote && o.After.IsSplitBrain && !o.Before.IsSplitBrain)
                {
                    return false;
                }
            }

            return true;
        });

    [Property(MaxTest = 300)]
    public Property At_most_one_group_is_AO_unless_both_nodes_are_primary() =>
        Prop.ForAll(Generators.ConsistentView.ToArbitrary(), v =>
            AluaTable.Groups(v).Count(g => g.State == AccessState.ActiveOptimized) <= 1 || v.IsSplitBrain);

    [Property(MaxTest = 300)]
    public Property Own_group_is_AO_exactly_when_the_LUN_is_primary_here() =>
        Prop.ForAll(Generators.ConsistentView.ToArbitrary(), v =>
            (AluaTable.OwnGroupState(v) == AccessState.ActiveOptimized) == (v.LocalRole == HaRole.Primary));

    // ---- Two nodes of one LUN, driven together -------------------------------------------------------

    private enum PairEvent { Promote1, Promote2, Demote1, Demote2, ConfigureBoth, LinkUp, LinkDown, Unconfigure1, Unconfigure2, Configure1, Configure2 }

    /// <summary>Both nodes' machines for one LUN, with the link events delivered to both and LUN_SYNC exchanged.</summary>
    private sealed class Pair(HaMode mode)
    {
        public LunRoleSpec A { get; } = new(1, mode);

        public LunRoleSpec B { get; } = new(2, mode);

        public void Apply(PairEvent e)
        {
            switch (e)
            {
                case PairEvent.Promote1: ChangeRole(A, B, T.Promote); break;
                case PairEvent.Promote2: ChangeRole(B, A, T.Promote); break;
                case PairEvent.Demote1: ChangeRole(A, B, T.Demote); break;
                case PairEvent.Demote2: ChangeRole(B, A, T.Demote); break;
                case PairEvent.ConfigureBoth: A.TryFire(T.Configure); B.TryFire(T.Configure); break;
                case PairEvent.Configure1: A.TryFire(T.Configure); break;
                case PairEvent.Configure2: B.TryFire(T.Configure); break;
                case PairEvent.LinkUp:
                    if (A.Link == LinkState.Connecting && B.Link == LinkState.Connecting)
                    {
                        A.Fire(T.LinkUp);
                        B.Fire(T.LinkUp);
                        Announce(A, B);
                        Announce(B, A);
                    }

                    break;
                case PairEvent.LinkDown:
                    if (A.Link == LinkState.Online)
                    {
                        A.Fire(T.LinkDown);
                        B.Fire(T.LinkDown);
                    }

                    break;
                case PairEvent.Unconfigure1: Unconfigure(A, B); break;
                case PairEvent.Unconfigure2: Unconfigure(B, A); break;
            }
        }

        private static void ChangeRole(LunRoleSpec node, LunRoleSpec peer, T trigger)
        {
            if (node.CanFire(trigger) && node.Fire(trigger).AnnounceToPeer)
            {
                Announce(node, peer);
            }
        }

        private static void Announce(LunRoleSpec from, LunRoleSpec to) =>
            to.Fire(from.LocalRole == HaRole.Primary ? T.PeerAnnouncedPrimary : T.PeerAnnouncedSecondary);

        private static void Unconfigure(LunRoleSpec node, LunRoleSpec peer)
        {
            if (node.Link == LinkState.Online)
            {
                peer.Fire(T.LinkDown);
            }

            node.Fire(T.Unconfigure);
        }
    }

    private static Arbitrary<(HaMode, List<PairEvent>)> PairRuns { get; } =
        (from mode in Generators.Mode
         from events in Gen.ListOf(Gen.Elements(Enum.GetValues<PairEvent>()))
         select (mode, events.ToList())).ToArbitrary();

    [Property(MaxTest = 500)]
    public Property Both_nodes_report_the_same_RTPG_groups_whenever_they_agree_on_the_link() =>
        // Initiators send RTPG down any path: with the link up (knowledge synced), or with the link equally
        // down on both and exactly one primary, the answer must not depend on the path.
        Prop.ForAll(PairRuns, run =>
        {
            var (mode, events) = run;
            var pair = new Pair(mode);
            foreach (var e in events)
            {
                pair.Apply(e);
                var (a, b) = (pair.A.View, pair.B.View);
                if (!a.IsConsistent || !b.IsConsistent || (a.Link == LinkState.Online) != (b.Link == LinkState.Online))
                {
                    return false;
                }

                var exactlyOnePrimary = (a.LocalRole == HaRole.Primary) != (b.LocalRole == HaRole.Primary);
                var comparable = a.Link == LinkState.Online || (a.Link == b.Link && exactlyOnePrimary);
                if (comparable && !AluaTable.Groups(a).SequenceEqual(AluaTable.Groups(b)))
                {
                    return false;
                }

                if (a.Link == LinkState.Online
                    && (a.PeerPrimary != (b.LocalRole == HaRole.Primary) || b.PeerPrimary != (a.LocalRole == HaRole.Primary)))
                {
                    return false;
                }
            }

            return true;
        });

    [Property(MaxTest = 500)]
    public Property While_linked_at_most_one_node_serves_media_unless_both_were_promoted_apart() =>
        Prop.ForAll(PairRuns, run =>
        {
            var (mode, events) = run;
            var pair = new Pair(mode);
            var promotedWhileApart = false;
            foreach (var e in events)
            {
                var wasOnline = pair.A.Link == LinkState.Online;
                pair.Apply(e);
                if (!wasOnline && e is PairEvent.Promote1 or PairEvent.Promote2)
                {
                    promotedWhileApart = true;
                }

                var (a, b) = (pair.A.View, pair.B.View);
                if (a.Link == LinkState.Online && AluaTable.ServesMedia(a) && AluaTable.ServesMedia(b) && !promotedWhileApart)
                {
                    return false;
                }
            }

            return true;
        });
}

public sealed class LunSyncReplyTests
{
    [Fact]
    public void A_primary_answers_a_LUN_SYNC_from_a_peer_that_did_not_know_requirement_45()
    {
        var m = new LunRoleSpec(1, HaMode.Standby);
        m.Fire(LunRoleTrigger.Promote);
        m.Fire(LunRoleTrigger.Configure);
        m.Fire(LunRoleTrigger.LinkUp);
        Assert.True(m.ReceiveLunSync(peerPrimary: false, peerBelievesUsPrimary: false).AnnounceToPeer);
        Assert.False(m.ReceiveLunSync(peerPrimary: false, peerBelievesUsPrimary: true).AnnounceToPeer);
    }

    [Fact]
    public void A_secondary_never_answers_a_LUN_SYNC_4_3()
    {
        var m = new LunRoleSpec(2, HaMode.Proxy);
        m.Fire(LunRoleTrigger.Configure);
        m.Fire(LunRoleTrigger.LinkUp);
        var outcome = m.ReceiveLunSync(peerPrimary: true, peerBelievesUsPrimary: false);
        Assert.False(outcome.AnnounceToPeer);
        Assert.True(outcome.After.PeerPrimary);
        Assert.Equal([UaCode.AsymmetricAccessStateChanged], outcome.UnitAttentions);
    }

    [Fact]
    public void A_LUN_SYNC_needs_an_online_link()
    {
        var m = new LunRoleSpec(2, HaMode.Proxy);
        Assert.Throws<InvalidOperationException>(() => m.ReceiveLunSync(peerPrimary: true, peerBelievesUsPrimary: false));
    }
}

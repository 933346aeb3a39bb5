using CtlHa.Spec;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using L = CtlHa.Spec.LinkTrigger;

namespace CtlHa.Spec.Tests;

/// <summary>
/// Two nodes, each with its real <see cref="LinkLifecycleSpec"/> and a <see cref="LunRoleSpec"/> for one
/// LUN, wired by <see cref="PairInvariants.LunTriggersForLinkChange"/> and LUN_SYNC announcements. Node 1
/// listens, node 2 connects. After every settled step the pair satisfies <see cref="PairInvariants"/>.
/// </summary>
public sealed class TwoNodeSystemTests
{
    public enum Step { ConfigureBoth, TcpConnect, TcpFail, Authenticate, AuthFail, Login, Drop, Retry, Promote1, Promote2, Demote1, Demote2, Unconfigure2, Reconfigure2, Handshake }

    private sealed class Node(int id, HaMode mode, LoginParameters login)
    {
        public LinkLifecycleSpec Link { get; } = new();

        public LunRoleSpec Lun { get; } = new(id, mode);

        public LoginParameters Login { get; } = login;

        /// <summary>Fires a link trigger and carries the link-state edge to the LUN; true when the link just came up.</summary>
        public bool FireLink(L trigger)
        {
            var before = Link.LinkState;
            if (!Link.TryFire(trigger))
            {
                return false;
            }

            foreach (var t in PairInvariants.LunTriggersForLinkChange(before, Link.LinkState))
            {
                Lun.Fire(t);
            }

            return before != LinkState.Online && Link.LinkState == LinkState.Online;
        }
    }

    private sealed class Pair
    {
        public Pair(HaMode mode, LoginParameters login2)
        {
            N1 = new Node(1, mode, new LoginParameters(1, mode, 1, "pair", 1024, 1024, 2048));
            N2 = new Node(2, mode, login2);
        }

        public Node N1 { get; }

        public Node N2 { get; }

        public void Apply(Step step)
        {
            switch (step)
            {
                case Step.ConfigureBoth:
                    if (N1.Lun.Mode != HaMode.Unavailable)
                    {
                        N1.FireLink(L.ConfigureListen);
                        N2.FireLink(L.ConfigureConnect);
                    }

                    break;
                case Step.TcpConnect:
                    if (N1.Link.Phase == LinkPhase.Listening && N2.Link.Phase == LinkPhase.Connecting)
                    {
                        N1.FireLink(L.TcpAccepted);
                        N2.FireLink(L.TcpConnected);
                    }

                    break;
                case Step.TcpFail: N2.FireLink(L.TcpFailed); break;
                case Step.Authenticate: Both(L.AuthSucceeded, LinkPhase.Authenticating); break;
                case Step.AuthFail: Both(L.AuthFailed, LinkPhase.Authenticating); break;
                case Step.Login:
                    if (N1.Link.Phase == LinkPhase.LoggingIn && N2.Link.Phase == LinkPhase.LoggingIn)
                    {
                        var up1 = N1.FireLink(LoginValidation.Compare(N1.Login, N2.Login));
                        var up2 = N2.FireLink(LoginValidation.Compare(N2.Login, N1.Login));
                        Assert.Equal(up1, up2); // symmetric validation: both sides agree
                        if (up1)
                        {
                            Announce(N1, N2);
                            Announce(N2, N1);
                        }
                    }

                    break;
                case Step.Drop:
                    if (N1.Link.Phase is LinkPhase.Authenticating or LinkPhase.LoggingIn or LinkPhase.Online)
                    {
                        N1.FireLink(L.PeerClosed);
                        N2.FireLink(L.PeerClosed);
                    }

                    break;
                case Step.Retry:
                    N1.FireLink(L.RetryTimerFired);
                    N2.FireLink(L.RetryTimerFired);
                    break;
                case Step.Promote1: Role(N1, N2, LunRoleTrigger.Promote); break;
                case Step.Promote2: Role(N2, N1, LunRoleTrigger.Promote); break;
                case Step.Demote1: Role(N1, N2, LunRoleTrigger.Demote); break;
                case Step.Demote2: Role(N2, N1, LunRoleTrigger.Demote); break;
                case Step.Handshake:
                    // The common path in one step, so short runs reach Online often.
                    foreach (var s in new[] { Step.ConfigureBoth, Step.Retry, Step.TcpConnect, Step.Authenticate, Step.Login })
                    {
                        Apply(s);
                    }

                    break;
                case Step.Unconfigure2: Leave(L.Unconfigure); break;
                case Step.Reconfigure2: Leave(L.ReconfigureConnect); break;
            }
        }

        private void Both(L trigger, LinkPhase phase)
        {
            if (N1.Link.Phase == phase && N2.Link.Phase == phase)
            {
                N1.FireLink(trigger);
                N2.FireLink(trigger);
            }
        }

        /// <summary>Node 2 drops the connection by reconfiguring; node 1 sees the peer close.</summary>
        private void Leave(L trigger)
        {
            var connected = N2.Link.Phase is LinkPhase.Authenticating or LinkPhase.LoggingIn or LinkPhase.Online;
            if (N2.FireLink(trigger) || N2.Link.Phase is LinkPhase.Unconfigured or LinkPhase.Connecting)
            {
                if (connected)
                {
                    N1.FireLink(L.PeerClosed);
                }
            }
        }

        private static void Role(Node node, Node peer, LunRoleTrigger trigger)
        {
            if (node.Lun.TryFire(trigger) is { AnnounceToPeer: true })
            {
                Announce(node, peer);
            }
        }

        private static void Announce(Node from, Node to) =>
            to.Lun.Fire(from.Lun.LocalRole == HaRole.Primary ? LunRoleTrigger.PeerAnnouncedPrimary : LunRoleTrigger.PeerAnnouncedSecondary);
    }

    private static readonly Gen<LoginParameters> Node2Login =
        Gen.Frequency(
            (4, Gen.Constant<Func<HaMode, LoginParameters>>(m => new(1, m, 2, "pair", 1024, 1024, 2048))),
            (1, Gen.Constant<Func<HaMode, LoginParameters>>(m => new(1, m, 1, "pair", 1024, 1024, 2048))),
            (1, Gen.Constant<Func<HaMode, LoginParameters>>(m => new(1, m, 2, "other", 1024, 1024, 2048))),
            (1, Gen.Constant<Func<HaMode, LoginParameters>>(m => new(1, m, 2, "pair", 256, 1024, 2048))))
        .SelectMany(f => Generators.Mode.Where(m => m != HaMode.Unavailable).Select(f));

    private static Arbitrary<(HaMode Mode, LoginParameters Login2, List<Step> Steps)> Runs { get; } =
        (from mode in Generators.Mode
         from login in Node2Login
         from steps in Gen.ListOf(Gen.Frequency((1, Gen.Elements(Enum.GetValues<Step>())), (1, Gen.Constant(Step.Handshake))))
         select (mode, login with { Mode = mode }, steps.ToList())).ToArbitrary();

    [Property(MaxTest = 400)]
    public Property Every_settled_two_node_state_satisfies_the_pair_invariants() =>
        Prop.ForAll(Runs, run =>
        {
            var pair = new Pair(run.Mode, run.Login2);
            foreach (var step in run.Steps)
            {
                pair.Apply(step);
                var violations = PairInvariants.Violations(pair.N1.Lun.View, pair.N2.Lun.View);
                if (violations.Count > 0)
                {
                    return false.Label($"after {step}: {string.Join("; ", violations)}");
                }

                // The LUN machines see exactly the link state their node's link machine reports.
                if (pair.N1.Lun.Link != pair.N1.Link.LinkState || pair.N2.Lun.Link != pair.N2.Link.LinkState)
                {
                    return false.Label($"after {step}: LUN link state out of step with the link machine");
                }

                // A mismatched Login never brings the link up.
                if (pair.N1.Link.Phase == LinkPhase.Online && LoginValidation.Compare(pair.N1.Login, pair.N2.Login) != L.LoginMatched)
                {
                    return false.Label("Online despite a Login mismatch");
                }
            }

            return true.Label("ok");
        });

    [Fact]
    public void A_full_failover_story_keeps_the_pair_consistent()
    {
        var pair = new Pair(HaMode.Proxy, new LoginParameters(1, HaMode.Proxy, 2, "pair", 1024, 1024, 2048));
        Step[] story =
        [
            Step.Promote1, Step.ConfigureBoth, Step.TcpConnect, Step.Authenticate, Step.Login, // node 1 primary, linked
            Step.Drop, Step.Promote2, // link lost; node 2 promoted explicitly (split brain forms apart)
            Step.Demote1, Step.Retry, Step.TcpConnect, Step.Authenticate, Step.Login, // node 1 steps down, rejoins
        ];
        foreach (var step in story)
        {
            pair.Apply(step);
            Assert.Empty(PairInvariants.Violations(pair.N1.Lun.View, pair.N2.Lun.View));
        }

        Assert.Equal([((ushort)2, AccessState.ActiveNonOptimized), ((ushort)3, AccessState.ActiveOptimized)], AluaTable.Groups(pair.N1.Lun.View));
        Assert.Equal(AluaTable.Groups(pair.N1.Lun.View), AluaTable.Groups(pair.N2.Lun.View));
    }
}

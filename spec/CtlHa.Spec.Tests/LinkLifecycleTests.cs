using CtlHa.Spec;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using T = CtlHa.Spec.LinkTrigger;

namespace CtlHa.Spec.Tests;

/// <summary>The interlink lifecycle (ctl-ha.md §2.1, §2.2, §4.2; requirements 1, 2, 5, 8, 66).</summary>
public sealed class LinkLifecycleTests
{
    private static LinkLifecycleSpec Run(params T[] triggers)
    {
        var m = new LinkLifecycleSpec();
        foreach (var t in triggers)
        {
            m.Fire(t);
        }

        return m;
    }

    [Fact]
    public void Every_phase_is_reachable_from_a_fresh_node()
    {
        // Breadth-first over (phase, side), replaying trigger paths from the initial state.
        var seen = new Dictionary<(LinkPhase, LinkSide), T[]> { [(LinkPhase.Unconfigured, LinkSide.None)] = [] };
        var queue = new Queue<T[]>([[]]);
        while (queue.Count > 0)
        {
            var path = queue.Dequeue();
            foreach (var t in Run(path).PermittedTriggers())
            {
                T[] next = [.. path, t];
                var m = Run(next);
                if (seen.TryAdd((m.Phase, m.Side), next))
                {
                    queue.Enqueue(next);
                }
            }
        }

        Assert.Equal(Enum.GetValues<LinkPhase>().Order(), seen.Keys.Select(k => k.Item1).Distinct().Order());
        // Both sides reach Online and Rejected.
        Assert.Contains((LinkPhase.Online, LinkSide.Listen), seen.Keys);
        Assert.Contains((LinkPhase.Online, LinkSide.Connect), seen.Keys);
        Assert.Contains((LinkPhase.Rejected, LinkSide.Listen), seen.Keys);
        Assert.Contains((LinkPhase.Rejected, LinkSide.Connect), seen.Keys);
    }

    [Theory]
    [InlineData(LinkPhase.Unconfigured, LinkState.Offline)]
    [InlineData(LinkPhase.Listening, LinkState.Connecting)]
    [InlineData(LinkPhase.Connecting, LinkState.Connecting)]
    [InlineData(LinkPhase.BackingOff, LinkState.Connecting)]
    [InlineData(LinkPhase.Authenticating, LinkState.Connecting)]
    [InlineData(LinkPhase.LoggingIn, LinkState.Connecting)]
    [InlineData(LinkPhase.Rejected, LinkState.Connecting)]
    [InlineData(LinkPhase.Online, LinkState.Online)]
    public void Phases_map_to_the_three_link_states_of_2_2(LinkPhase phase, LinkState state) =>
        Assert.Equal(state, LinkLifecycleSpec.ToLinkState(phase));

    [Fact]
    public void Connect_side_goes_online_after_authentication_and_a_matching_login()
    {
        var m = Run(T.ConfigureConnect, T.TcpConnected, T.AuthSucceeded, T.LoginMatched);
        Assert.Equal(LinkPhase.Online, m.Phase);
        Assert.Equal(LinkSide.Connect, m.Side);
        Assert.Null(m.LastRejection);
    }

    [Fact]
    public void Login_is_not_possible_before_authentication()
    {
        var m = Run(T.ConfigureListen, T.TcpAccepted);
        Assert.False(m.CanFire(T.LoginMatched));
        Assert.Throws<InvalidOperationException>(() => m.Fire(T.LoginMatched));
    }

    [Fact]
    public void A_dropped_link_goes_2_to_1_not_0_requirement_2()
    {
        var connect = Run(T.ConfigureConnect, T.TcpConnected, T.AuthSucceeded, T.LoginMatched, T.PeerClosed);
        Assert.Equal(LinkPhase.BackingOff, connect.Phase); // connect side retries after a pause (requirement 5)
        Assert.Equal(LinkState.Connecting, connect.LinkState);
        var listen = Run(T.ConfigureListen, T.TcpAccepted, T.AuthSucceeded, T.LoginMatched, T.HeartbeatLost);
        Assert.Equal(LinkPhase.Listening, listen.Phase); // the listener stays open (§2.1)
        Assert.Equal(LinkState.Connecting, listen.LinkState);
    }

    [Fact]
    public void Connect_side_retries_forever_after_failures_requirement_5()
    {
        var m = new LinkLifecycleSpec();
        m.Fire(T.ConfigureConnect);
        for (var i = 0; i < 5; i++)
        {
            m.Fire(T.TcpFailed);
            Assert.Equal(LinkPhase.BackingOff, m.Phase);
            m.Fire(T.RetryTimerFired);
            Assert.Equal(LinkPhase.Connecting, m.Phase);
        }
    }

    [Fact]
    public void Listen_side_accepts_only_while_listening_one_connection_at_a_time_requirement_5()
    {
        var m = Run(T.ConfigureListen, T.TcpAccepted);
        Assert.False(m.CanFire(T.TcpAccepted));
        m.Fire(T.AuthSucceeded);
        Assert.False(m.CanFire(T.TcpAccepted));
    }

    [Theory]
    [InlineData(T.VersionMismatch)]
    [InlineData(T.ModeMismatch)]
    [InlineData(T.SameNodeId)]
    [InlineData(T.InvalidNodeId)]
    [InlineData(T.ClusterMismatch)]
    [InlineData(T.MaxLunsMismatch)]
    [InlineData(T.MaxPortsMismatch)]
    [InlineData(T.MaxInitiatorsMismatch)]
    public void A_login_mismatch_rejects_and_keeps_the_reason_requirement_8(T mismatch)
    {
        var m = Run(T.ConfigureConnect, T.TcpConnected, T.AuthSucceeded, mismatch);
        Assert.Equal(LinkPhase.Rejected, m.Phase);
        Assert.Equal(mismatch, m.LastRejection);
        m.Fire(T.RetryTimerFired);
        Assert.Equal(LinkPhase.Connecting, m.Phase);
        Assert.Equal(mismatch, m.LastRejection); // still shown by status after leaving Rejected
    }

    [Fact]
    public void Failed_authentication_rejects_and_the_listener_reopens_after_the_timer()
    {
        var m = Run(T.ConfigureListen, T.TcpAccepted, T.AuthFailed);
        Assert.Equal(LinkPhase.Rejected, m.Phase);
        Assert.Equal(T.AuthFailed, m.LastRejection);
        Assert.False(m.CanFire(T.TcpAccepted));
        m.Fire(T.RetryTimerFired);
        Assert.Equal(LinkPhase.Listening, m.Phase);
    }

    [Fact]
    public void Reconfiguring_an_online_link_drops_and_re_establishes_it_requirement_66()
    {
        var m = Run(T.ConfigureListen, T.TcpAccepted, T.AuthSucceeded, T.LoginMatched, T.ReconfigureConnect);
        Assert.Equal(LinkPhase.Connecting, m.Phase);
        Assert.Equal(LinkSide.Connect, m.Side);
        m.Fire(T.ReconfigureListen);
        Assert.Equal(LinkPhase.Listening, m.Phase);
        Assert.Equal(LinkSide.Listen, m.Side);
    }

    [Fact]
    public void Unconfigure_and_shutdown_take_any_phase_offline_5_6()
    {
        foreach (var stop in new[] { T.Unconfigure, T.Shutdown })
        {
            var m = Run(T.ConfigureListen, T.TcpAccepted, T.AuthSucceeded, T.LoginMatched, stop);
            Assert.Equal(LinkPhase.Unconfigured, m.Phase);
            Assert.Equal(LinkSide.None, m.Side);
            Assert.Equal(LinkState.Offline, m.LinkState);
            Assert.True(m.CanFire(stop)); // idempotent
        }
    }

    [Fact]
    public void Positioning_constructor_refuses_impossible_phase_and_side_pairs()
    {
        Assert.Throws<ArgumentException>(() => new LinkLifecycleSpec(LinkPhase.Listening, LinkSide.Connect));
        Assert.Throws<ArgumentException>(() => new LinkLifecycleSpec(LinkPhase.Online, LinkSide.None));
        Assert.Throws<ArgumentException>(() => new LinkLifecycleSpec(LinkPhase.Unconfigured, LinkSide.Listen));
        Assert.Equal(LinkPhase.BackingOff, new LinkLifecycleSpec(LinkPhase.BackingOff, LinkSide.Connect).Phase);
    }

    [Property(MaxTest = 300)]
    public Property Random_trigger_sequences_keep_side_consistent_and_only_a_matched_login_reaches_online() =>
        Prop.ForAll(Gen.ListOf(Gen.Elements(LinkLifecycleSpec.AllTriggers.ToArray())).ToArbitrary(), triggers =>
        {
            var m = new LinkLifecycleSpec();
            var authenticatedSinceDrop = false;
            foreach (var t in triggers)
            {
                var before = m.Phase;
                if (!m.TryFire(t))
                {
                    continue;
                }

                if (m.Phase == LinkPhase.LoggingIn && before == LinkPhase.Authenticating)
                {
                    authenticatedSinceDrop = true;
                }

                if (m.Phase == LinkPhase.Online && before != LinkPhase.Online && (t != T.LoginMatched || !authenticatedSinceDrop))
                {
                    return false;
                }

                if (m.Phase is not LinkPhase.LoggingIn and not LinkPhase.Online)
                {
                    authenticatedSinceDrop = false;
                }

                var sideOk = m.Phase switch
                {
                    LinkPhase.Unconfigured => m.Side == LinkSide.None,
                    LinkPhase.Listening => m.Side == LinkSide.Listen,
                    LinkPhase.Connecting or LinkPhase.BackingOff => m.Side == LinkSide.Connect,
                    _ => m.Side != LinkSide.None,
                };
                if (!sideOk || (m.Phase == LinkPhase.Rejected && m.LastRejection is null))
                {
                    return false;
                }
            }

            return true;
        });
}

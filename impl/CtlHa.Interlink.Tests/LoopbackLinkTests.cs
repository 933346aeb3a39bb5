using CtlHa.Wire;

namespace CtlHa.Interlink.Tests;

[CollectionDefinition("loopback", DisableParallelization = true)]
public sealed class LoopbackCollection;

/// <summary>Two real links over 127.0.0.1 (PROTOCOL.md §4–§5).</summary>
[Collection("loopback")]
public sealed class LoopbackLinkTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static readonly InterlinkMessage[] SyncA =
    [
        new PortSync(0, "iscsi-0", true, false, "iqn.2026-11.org.ctlha:disk", 1, [], [], []),
        new LunSync(0, [1, 2, 3], 1024, 512, LunRoleFlags.Primary, 0, false, WireLimits.NoReservation, 0, [], WireLimits.NoReservation),
    ];

    [Fact(Timeout = 20_000)]
    public async Task Two_nodes_with_the_same_key_go_online_sync_and_exchange_messages()
    {
        await using var pair = new LinkPair(syncA: SyncA);
        await pair.StartAsync();
        var peerOfA = await pair.HandlerA.Up.WaitAsync(Timeout);
        var peerOfB = await pair.HandlerB.Up.WaitAsync(Timeout);
        Assert.Equal(2, peerOfA.PeerLogin.NodeId);
        Assert.Equal(1, peerOfB.PeerLogin.NodeId);
        Assert.True(peerOfA.Authenticated);

        Assert.IsType<PortSync>(await pair.HandlerB.NextAsync<PortSync>(Timeout));
        Assert.IsType<LunSync>(await pair.HandlerB.NextAsync<LunSync>(Timeout));
        var completeAtB = await pair.HandlerB.NextAsync<SyncComplete>(Timeout);
        Assert.Equal((1u, 0u, 1u, 0u), (completeAtB.PortCount, completeAtB.InitiatorCount, completeAtB.LunCount, completeAtB.ModePageCount));
        await pair.HandlerA.NextAsync<SyncComplete>(Timeout);

        var serialize = new Serialize(new Nexus(512, 1, 0), 7, TaskAttribute.Simple, 0, [0x00, 0, 0, 0, 0, 0], 0, DataDirection.None, 11);
        Assert.True(await pair.B!.SendAsync(serialize));
        var atA = await pair.HandlerA.NextAsync<Serialize>(Timeout);
        Assert.Equal(11UL, atA.OriginatorHandle);
        Assert.True(await pair.A.SendAsync(new ReadyToRun(atA.Nexus, atA.OriginatorHandle, 99)));
        Assert.Equal(99UL, (await pair.HandlerB.NextAsync<ReadyToRun>(Timeout)).PrimaryHandle);
        Assert.Equal(InterlinkPhase.Online, pair.A.Phase);
        Assert.Null(pair.A.LastRejection);
    }

    [Fact(Timeout = 20_000)]
    public async Task Heartbeats_keep_an_idle_link_online_for_many_dead_peer_intervals()
    {
        await using var pair = new LinkPair();
        await pair.StartAsync();
        await pair.HandlerA.Up.WaitAsync(Timeout);
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(InterlinkPhase.Online, pair.A.Phase);
        Assert.Equal(InterlinkPhase.Online, pair.B!.Phase);
        Assert.Equal(1, pair.HandlerA.UpCount);
    }

    [Fact(Timeout = 20_000)]
    public async Task Login_with_mismatched_mode_aborts_both_sides_naming_the_field_and_both_values()
    {
        await using var pair = new LinkPair(configureB: o => o.Mode = HaMode.Standby);
        await pair.StartAsync();
        await Eventually.TrueAsync(() => pair.A.LastRejection is not null && pair.B!.LastRejection is not null, Timeout, "both rejections");
        Assert.Equal(InterlinkTrigger.ModeMismatch, pair.A.LastRejection!.Trigger);
        Assert.Equal(new LoginMismatch(LoginField.HaMode, "proxy", "standby"), pair.A.LastRejection.Mismatch);
        Assert.Equal(InterlinkTrigger.ModeMismatch, pair.B!.LastRejection!.Trigger);
        Assert.Equal(new LoginMismatch(LoginField.HaMode, "standby", "proxy"), pair.B.LastRejection.Mismatch);
        Assert.Equal("HA mode differs: local proxy, peer standby", pair.A.LastRejection.Reason);
        Assert.Equal(0, pair.HandlerA.UpCount);
        Assert.DoesNotContain(pair.TraceA, t => t.To == InterlinkPhase.Online);
        Assert.Contains(pair.TraceA, t => t is { From: InterlinkPhase.LoggingIn, Trigger: InterlinkTrigger.ModeMismatch, To: InterlinkPhase.Rejected });
    }

    [Fact(Timeout = 20_000)]
    public async Task A_wrong_key_is_rejected_by_both_sides_as_AuthFailed()
    {
        var otherKey = LinkPair.Key.Select(b => (byte)(b ^ 0x5A)).ToArray();
        await using var pair = new LinkPair(configureB: o => o.Psk = otherKey);
        await pair.StartAsync();
        await Eventually.TrueAsync(() => pair.A.LastRejection is not null && pair.B!.LastRejection is not null, Timeout, "both rejections");
        Assert.Equal(InterlinkTrigger.AuthFailed, pair.A.LastRejection!.Trigger);
        Assert.Equal(InterlinkTrigger.AuthFailed, pair.B!.LastRejection!.Trigger);
        Assert.DoesNotContain(pair.TraceA, t => t.To is InterlinkPhase.LoggingIn or InterlinkPhase.Online);
    }

    [Fact(Timeout = 20_000)]
    public async Task A_node_with_a_key_refuses_a_peer_without_one()
    {
        await using var pair = new LinkPair(configureB: o => { o.Psk = null; o.AllowUnauthenticated = true; });
        await pair.StartAsync();
        await Eventually.TrueAsync(() => pair.A.LastRejection is not null && pair.B!.LastRejection is not null, Timeout, "both rejections");
        Assert.Equal(InterlinkTrigger.AuthFailed, pair.A.LastRejection!.Trigger);
        Assert.Equal(InterlinkTrigger.AuthFailed, pair.B!.LastRejection!.Trigger);
    }

    [Fact(Timeout = 20_000)]
    public async Task Two_nodes_that_both_allow_it_link_unauthenticated()
    {
        await using var pair = new LinkPair(
            configureA: o => { o.Psk = null; o.AllowUnauthenticated = true; },
            configureB: o => { o.Psk = null; o.AllowUnauthenticated = true; });
        await pair.StartAsync();
        var peer = await pair.HandlerA.Up.WaitAsync(Timeout);
        Assert.False(peer.Authenticated);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_peer_that_stops_is_seen_at_once_and_a_restarted_peer_links_again()
    {
        await using var pair = new LinkPair();
        await pair.StartAsync();
        await pair.HandlerA.Up.WaitAsync(Timeout);
        await pair.StopBAsync();
        var down = await pair.HandlerA.Down.WaitAsync(TimeSpan.FromSeconds(2));
        Assert.Equal(InterlinkTrigger.PeerClosed, down.Trigger);
        Assert.Contains("Shutdown", down.Reason, StringComparison.Ordinal);
        await Eventually.TrueAsync(() => pair.A.Phase == InterlinkPhase.Listening, Timeout, "A listening again");

        var b2 = new RecordingHandler();
        var options = LinkPair.Fast(2, pair.OptionsB!.Peer!);
        var link = new InterlinkLink(options, b2);
        b2.Link = link;
        using var stop = new CancellationTokenSource();
        var run = link.RunAsync(stop.Token);
        pair.HandlerA.Reset();
        await pair.HandlerA.Up.WaitAsync(Timeout);
        await b2.Up.WaitAsync(Timeout);
        await stop.CancelAsync();
        await run.WaitAsync(Timeout);
    }

    [Fact(Timeout = 20_000)]
    public async Task The_connect_side_retries_with_bounded_back_off_until_the_listener_appears()
    {
        // Reserve a port, close it, then connect to it: refused until something listens.
        var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        var endPoint = (System.Net.IPEndPoint)probe.LocalEndpoint;
        probe.Stop();
        var options = LinkPair.Fast(2, new InterlinkEndpoint(InterlinkSide.Connect, endPoint));
        var handler = new RecordingHandler();
        var link = new InterlinkLink(options, handler);
        handler.Link = link;
        var trace = new System.Collections.Concurrent.ConcurrentQueue<(InterlinkTransition T, DateTime At)>();
        link.Transitioned += t => trace.Enqueue((t, DateTime.UtcNow));
        using var stop = new CancellationTokenSource();
        var run = link.RunAsync(stop.Token);
        await Task.Delay(1500);
        var failures = trace.Count(x => x.T.Trigger == InterlinkTrigger.TcpFailed);
        Assert.InRange(failures, 4, 60); // retried repeatedly, never a busy loop
        var retries = trace.Where(x => x.T.Trigger is InterlinkTrigger.TcpFailed or InterlinkTrigger.RetryTimerFired).ToList();
        for (var i = 1; i < retries.Count; i++)
        {
            if (retries[i].T.Trigger == InterlinkTrigger.RetryTimerFired && retries[i - 1].T.Trigger == InterlinkTrigger.TcpFailed)
            {
                Assert.InRange((retries[i].At - retries[i - 1].At).TotalMilliseconds, 10, 400);
            }
        }

        var listenerOptions = LinkPair.Fast(1, new InterlinkEndpoint(InterlinkSide.Listen, endPoint));
        var listenerHandler = new RecordingHandler();
        var listener = new InterlinkLink(listenerOptions, listenerHandler);
        listenerHandler.Link = listener;
        var runListener = listener.RunAsync(stop.Token);
        await handler.Up.WaitAsync(Timeout);
        await stop.CancelAsync();
        await Task.WhenAll(run, runListener).WaitAsync(Timeout);
    }

    [Fact(Timeout = 20_000)]
    public async Task Reconfiguring_the_peer_drops_the_link_and_setting_it_back_links_again()
    {
        await using var pair = new LinkPair();
        await pair.StartAsync();
        await pair.HandlerB.Up.WaitAsync(Timeout);
        var original = pair.OptionsB!.Peer!;
        pair.B!.Reconfigure(original); // same value: no-op
        await Task.Delay(200);
        Assert.Equal(InterlinkPhase.Online, pair.B.Phase);

        pair.HandlerB.Reset();
        pair.B.Reconfigure(new InterlinkEndpoint(InterlinkSide.Connect, new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 1)));
        var down = await pair.HandlerB.Down.WaitAsync(Timeout);
        Assert.Equal(InterlinkTrigger.Shutdown, down.Trigger);
        await Eventually.TrueAsync(() => pair.TraceB.Any(t => t is { From: InterlinkPhase.Online, Trigger: InterlinkTrigger.ReconfigureConnect, To: InterlinkPhase.Connecting }), Timeout, "reconfigure transition");
        pair.B.Reconfigure(original);
        await pair.HandlerB.Up.WaitAsync(Timeout);
        Assert.Equal(InterlinkPhase.Online, pair.B.Phase);
    }

    [Fact(Timeout = 20_000)]
    public async Task Sending_while_not_online_returns_false_and_invalid_messages_throw()
    {
        await using var pair = new LinkPair();
        Assert.False(await pair.A.SendAsync(new ReadyToRun(new Nexus(0, 0, 0), 1, 1)));
        await pair.StartAsync();
        await pair.HandlerA.Up.WaitAsync(Timeout);
        await Assert.ThrowsAsync<InterlinkProtocolException>(async () => await pair.A.SendAsync(new ReadyToRun(new Nexus(0, 0, 0), 0, 1)));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await pair.A.SendAsync(new Heartbeat(1, 0, 0)));
        Assert.Equal(InterlinkPhase.Online, pair.A.Phase);
    }
}

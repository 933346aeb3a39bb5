using System.Diagnostics;
using System.Net;
using CtlHa.Wire;

namespace CtlHa.Interlink.Tests;

/// <summary>A node faced with a broken or hostile peer drops the link with a reason, keeps running, and links again.</summary>
[Collection("loopback")]
public sealed class HostilePeerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static Login PeerLogin => LinkPair.Fast(2, new InterlinkEndpoint(InterlinkSide.Connect, new IPEndPoint(IPAddress.Loopback, 1))).ToLogin();

    private sealed class Node : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();

        public Node()
        {
            Options = LinkPair.Fast(1, new InterlinkEndpoint(InterlinkSide.Listen, new IPEndPoint(IPAddress.Loopback, 0)));
            Handler = new RecordingHandler();
            Link = new InterlinkLink(Options, Handler);
            Handler.Link = Link;
            Link.Transitioned += t => Trace.Enqueue(t);
            Run = Link.RunAsync(_stop.Token);
        }

        public InterlinkOptions Options { get; }

        public RecordingHandler Handler { get; }

        public InterlinkLink Link { get; }

        public Task Run { get; }

        public System.Collections.Concurrent.ConcurrentQueue<InterlinkTransition> Trace { get; } = new();

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await Run.WaitAsync(TimeSpan.FromSeconds(5));
        }
    }

    private static async Task<(RawPeer Peer, IPEndPoint EndPoint)> LoggedInPeerAsync(Node node)
    {
        var endPoint = await node.Link.ListeningAsync.WaitAsync(Timeout);
        var peer = new RawPeer();
        await peer.ConnectAsync(endPoint);
        await peer.HandshakeAsync(LinkPair.Key, PeerLogin);
        await node.Handler.Up.WaitAsync(Timeout);
        return (peer, endPoint);
    }

    private static async Task LinksCleanlyAgainAsync(Node node, IPEndPoint endPoint)
    {
        await Eventually.TrueAsync(() => node.Link.Phase == InterlinkPhase.Listening, Timeout, "listening again");
        node.Handler.Reset();
        await using var again = new RawPeer();
        await again.ConnectAsync(endPoint);
        await again.HandshakeAsync(LinkPair.Key, PeerLogin);
        await node.Handler.Up.WaitAsync(Timeout);
    }

    public static TheoryData<string, byte[]> HostileFrames()
    {
        static byte[] Framed(params byte[] payload) => [(byte)(payload.Length >> 24), (byte)(payload.Length >> 16), (byte)(payload.Length >> 8), (byte)payload.Length, .. payload];
        var heartbeat = InterlinkFrame.Encode(new Heartbeat(1, 0, 0));
        return new TheoryData<string, byte[]>
        {
            { "invalid MessagePack byte", Framed(0xC1) },
            { "unknown message type", Framed(0x92, 0x63, 0x90) },
            { "zero length", [0, 0, 0, 0] },
            { "oversized length", [0x7F, 0xFF, 0xFF, 0xFF] },
            { "trailing bytes", [.. Framed([.. heartbeat[4..], 0xC0])] },
            { "wrong field count", Framed(0x92, 0x04, 0x91, 0x01) },
            { "Login after Login", InterlinkFrame.Encode(PeerLogin) },
            { "heartbeat sequence skips", InterlinkFrame.Encode(new Heartbeat(5, 0, 0)) },
            { "heartbeat echoes the future", InterlinkFrame.Encode(new Heartbeat(1, 0, 1000)) },
            { "SyncComplete with wrong counts", InterlinkFrame.Encode(new SyncComplete(3, 0, 0, 0)) },
            { "out-of-range field", Framed([.. InterlinkFrame.Encode(new ReadyToRun(new Nexus(0, 0, 0), 1, 1))[4..^1], 0x00]) },
        };
    }

    [Theory(Timeout = 30_000)]
    [MemberData(nameof(HostileFrames))]
    public async Task A_hostile_frame_drops_the_link_with_a_reason_and_a_clean_peer_links_again(string what, byte[] frame)
    {
        await using var node = new Node();
        var (peer, endPoint) = await LoggedInPeerAsync(node);
        await using (peer)
        {
            await peer.SendRawAsync(frame);
            var down = await node.Handler.Down.WaitAsync(Timeout);
            Assert.True(down.Trigger == InterlinkTrigger.ProtocolError, $"{what}: {down.Trigger} {down.Reason}");
            var goodbye = await peer.DrainUntilClosedAsync(Timeout);
            Assert.Equal(GoodbyeReason.ProtocolError, goodbye?.Reason);
        }

        await LinksCleanlyAgainAsync(node, endPoint);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_peer_that_goes_silent_after_login_is_declared_dead_within_the_dead_peer_interval()
    {
        await using var node = new Node();
        var (peer, endPoint) = await LoggedInPeerAsync(node);
        await using (peer)
        {
            var clock = Stopwatch.StartNew();
            var down = await node.Handler.Down.WaitAsync(Timeout);
            Assert.Equal(InterlinkTrigger.HeartbeatLost, down.Trigger);
            Assert.InRange(clock.Elapsed.TotalMilliseconds, 200, node.Options.DeadAfter.TotalMilliseconds + 400);
        }

        await LinksCleanlyAgainAsync(node, endPoint);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_peer_that_sends_heartbeats_but_never_reads_ours_is_declared_dead()
    {
        await using var node = new Node();
        var (peer, endPoint) = await LoggedInPeerAsync(node);
        await using (peer)
        {
            var beats = Task.Run(async () =>
            {
                for (ulong i = 1; i <= 40; i++)
                {
                    try
                    {
                        await peer.SendAsync(new Heartbeat(i, 0, 0));
                    }
                    catch (IOException)
                    {
                        return;
                    }

                    await Task.Delay(40);
                }
            });
            var down = await node.Handler.Down.WaitAsync(Timeout);
            Assert.Equal(InterlinkTrigger.HeartbeatLost, down.Trigger);
            Assert.Contains("stopped reading", down.Reason, StringComparison.Ordinal);
            await beats.WaitAsync(Timeout);
        }

        await LinksCleanlyAgainAsync(node, endPoint);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_peer_that_sends_nothing_after_connecting_is_dropped_at_the_handshake_timeout()
    {
        await using var node = new Node();
        var endPoint = await node.Link.ListeningAsync.WaitAsync(Timeout);
        await using var peer = new RawPeer();
        await peer.ConnectAsync(endPoint);
        var clock = Stopwatch.StartNew();
        Assert.IsType<AuthChallenge>(await peer.ReceiveAsync(Timeout));
        var goodbye = await peer.DrainUntilClosedAsync(Timeout);
        Assert.Equal(GoodbyeReason.HeartbeatTimeout, goodbye?.Reason);
        Assert.InRange(clock.Elapsed.TotalSeconds, 1.5, 4);
        await Eventually.TrueAsync(() => node.Trace.Any(t => t is { From: InterlinkPhase.Authenticating, Trigger: InterlinkTrigger.HeartbeatLost, To: InterlinkPhase.Listening }), Timeout, "HeartbeatLost transition");
        await LinksCleanlyAgainAsync(node, endPoint);
    }

    [Fact(Timeout = 30_000)]
    public async Task Garbage_instead_of_a_challenge_is_a_protocol_error_and_the_node_stays_up()
    {
        await using var node = new Node();
        var endPoint = await node.Link.ListeningAsync.WaitAsync(Timeout);
        await using (var peer = new RawPeer())
        {
            await peer.ConnectAsync(endPoint);
            await peer.SendRawAsync("GET / HTTP/1.1\r\n\r\n"u8.ToArray());
            await peer.DrainUntilClosedAsync(Timeout);
        }

        await Eventually.TrueAsync(() => node.Trace.Any(t => t is { From: InterlinkPhase.Authenticating, Trigger: InterlinkTrigger.ProtocolError }), Timeout, "ProtocolError transition");
        await LinksCleanlyAgainAsync(node, endPoint);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_peer_without_the_key_learns_only_a_random_nonce()
    {
        await using var node = new Node();
        var endPoint = await node.Link.ListeningAsync.WaitAsync(Timeout);
        await using var peer = new RawPeer();
        await peer.ConnectAsync(endPoint);
        await peer.SendAsync(new AuthChallenge(AuthMethod.HmacSha256Psk, peer.OwnNonce));
        Assert.IsType<AuthChallenge>(await peer.ReceiveAsync(Timeout));
        await peer.SendAsync(new AuthResponse(new byte[32]));
        var next = await peer.ReceiveAsync(Timeout);
        Assert.Equal(GoodbyeReason.AuthenticationFailed, Assert.IsType<Goodbye>(next).Reason);
        Assert.Null(await peer.ReceiveAsync(Timeout)); // closed; never an AuthResponse
        await Eventually.TrueAsync(() => node.Link.LastRejection is not null, Timeout, "rejection");
        Assert.Equal(InterlinkTrigger.AuthFailed, node.Link.LastRejection!.Trigger);
    }
}

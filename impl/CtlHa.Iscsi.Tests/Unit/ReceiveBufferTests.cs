using System.Buffers;
using System.Net;
using System.Net.Sockets;
using CtlHa.Core;

namespace CtlHa.Iscsi.Tests.Unit;

/// <summary>
/// <see cref="ReceiveBuffer"/> and <see cref="DirectReceive"/> over a real loopback TCP connection: the receive
/// threads of the iSCSI connections and the interlink depend on them keeping every byte, in order, across
/// compaction and growth.
/// </summary>
public sealed class ReceiveBufferTests : IDisposable
{
    private readonly Socket _client;
    private readonly Socket _server;

    public ReceiveBufferTests()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        _client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _client.Connect(listener.LocalEndPoint!);
        _server = listener.Accept();
    }

    public void Dispose()
    {
        _client.Dispose();
        _server.Dispose();
    }

    [Fact]
    public async Task A_frame_larger_than_the_buffer_arrives_whole_and_in_order_after_growth_and_compaction()
    {
        var rx = new ReceiveBuffer(initialBytes: 4096, minReadBytes: 1024);
        var payload = new byte[300_000];
        new Random(7).NextBytes(payload);
        var sender = Task.Run(() =>
        {
            // A small frame first, so what is left is not at the front when the big one needs room.
            _client.Send(payload.AsSpan(0, 100));
            _client.Send(payload.AsSpan(100));
        });

        var received = new List<byte>();
        // Consume the first 100 bytes as one "frame", then keep everything else pending until it is all there.
        while (received.Count < 100)
        {
            Assert.True(rx.Receive(_server, CancellationToken.None) > 0);
            if (rx.Count >= 100)
            {
                received.AddRange(rx.Pending.Slice(0, 100).ToArray<byte>());
                rx.Consume(rx.Count - 100);
            }
        }

        while (rx.Count < payload.Length - 100)
        {
            Assert.True(rx.Receive(_server, CancellationToken.None) > 0);
        }

        received.AddRange(rx.Pending.ToArray<byte>());
        rx.Consume(0);
        Assert.Equal(0, rx.Count);
        Assert.Equal(payload, received.ToArray());
        await sender;
    }

    [Fact]
    public void Receive_reports_a_peer_close_as_zero_and_a_cancellation_as_minus_one()
    {
        var rx = new ReceiveBuffer();
        using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100)))
        {
            Assert.Equal(-1, rx.Receive(_server, cts.Token));
        }

        _client.Shutdown(SocketShutdown.Send);
        Assert.Equal(0, rx.Receive(_server, CancellationToken.None));
        Assert.Equal(0, rx.Count);
    }

    [Fact]
    public async Task ReceiveAsync_waits_on_its_own_thread_and_delivers_what_was_sent()
    {
        var rx = new ReceiveBuffer();
        var pending = rx.ReceiveAsync(_server, CancellationToken.None);
        await Task.Delay(50);
        Assert.False(pending.IsCompleted);
        _client.Send([1, 2, 3]);
        Assert.Equal(3, await pending.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(new byte[] { 1, 2, 3 }, rx.Pending.ToArray<byte>());
    }

    [Fact]
    public void Consume_refuses_more_than_is_pending()
    {
        var rx = new ReceiveBuffer();
        Assert.Throws<ArgumentOutOfRangeException>(() => rx.Consume(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => rx.Consume(-1));
    }
}

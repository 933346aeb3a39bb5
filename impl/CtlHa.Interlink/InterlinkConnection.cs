using System.Buffers;
using System.Net.Sockets;
using CtlHa.Core;
using CtlHa.Wire;
using Microsoft.Extensions.Logging;

namespace CtlHa.Interlink;

/// <summary>
/// One TCP connection of the interlink: handshake (<see cref="HandshakeAsync"/>), then the Online loops
/// (<see cref="RunOnlineAsync"/>): one receive loop, one send loop (the only writer), one timer loop for
/// heartbeats and dead-peer detection. The first end cause wins (<see cref="Break"/>).
/// </summary>
internal sealed partial class InterlinkConnection : IAsyncDisposable
{
    private readonly InterlinkLink _link;
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly ReceiveBuffer _rx = new();
    private readonly LinkRole _role;
    private readonly InterlinkOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _cts = new();
    private ConnectionEnd? _end;
    private int _disposed;

    public InterlinkConnection(InterlinkLink link, long id, Socket socket, LinkRole role)
    {
        _link = link;
        _options = link.Options;
        _logger = link.Logger;
        _time = link.Time;
        Id = id;
        _socket = socket;
        _role = role;
        socket.NoDelay = true;
        try
        {
            socket.SendBufferSize = _options.SocketBufferSize;
            socket.ReceiveBufferSize = _options.SocketBufferSize;
        }
        catch (SocketException)
        {
            // Buffer sizes are advice; the OS may cap them.
        }

        _stream = new NetworkStream(socket, ownsSocket: true);
        _sendQueue = System.Threading.Channels.Channel.CreateBounded<Outgoing>(new System.Threading.Channels.BoundedChannelOptions(_options.SendQueueCapacity)
        {
            SingleReader = true,
            FullMode = System.Threading.Channels.BoundedChannelFullMode.Wait,
            // The producer that wakes an idle send loop runs it (to the burst wait, or through one write): no thread
            // hand-off per message. Safe: producers never hold a lock while they enqueue.
            AllowSynchronousContinuations = true,
        });
        _lastReceived = _time.GetTimestamp();
    }

    public long Id { get; }

    /// <summary>Set when the handshake succeeded.</summary>
    public InterlinkPeer? PeerInfo { get; private set; }

    /// <summary>Records the first end cause and stops every loop.</summary>
    private void Break(ConnectionEnd end)
    {
        if (Interlocked.CompareExchange(ref _end, end, null) is null)
        {
            _cts.Cancel();
            _cork.Flush(); // a send loop waiting for a burst to end sees the cancellation now
        }
    }

    /// <summary>Reads one whole frame during the handshake (limit HandshakeMaxFrameLength).</summary>
    private async ValueTask<InterlinkMessage> ReadHandshakeMessageAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var buffer = _rx.Pending;
            if (InterlinkFrame.TryReadFrame(ref buffer, WireLimits.HandshakeMaxFrameLength, out var message))
            {
                _rx.Consume(buffer.Length);
                _lastReceived = _time.GetTimestamp();
                return message;
            }

            var n = await _rx.ReceiveAsync(_socket, cancellationToken).ConfigureAwait(false);
            if (n < 0)
            {
                throw new OperationCanceledException(cancellationToken);
            }

            if (n == 0)
            {
                throw _rx.Count == 0
                    ? new PeerClosedException("peer closed the connection")
                    : new InterlinkProtocolException(InterlinkErrorKind.Truncated, "connection closed inside a frame");
            }
        }
    }

    private async ValueTask WriteDirectAsync(InterlinkMessage message, CancellationToken cancellationToken)
    {
        var frame = InterlinkFrame.Encode(message);
        await _stream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Best-effort Goodbye straight to the socket, bounded in time.</summary>
    private async ValueTask TrySendGoodbyeAsync(Goodbye goodbye)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(250));
            await WriteDirectAsync(goodbye, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsTransportEnd(ex) || ex is OperationCanceledException or InterlinkProtocolException)
        {
            // Best effort by design (PROTOCOL.md §4.4).
        }
    }

    internal static bool IsTransportEnd(Exception ex) =>
        ex is IOException or SocketException or ObjectDisposedException or PeerClosedException;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _cts.CancelAsync().ConfigureAwait(false);
        _sendQueue.Writer.TryComplete();
        while (_sendQueue.Reader.TryRead(out var item))
        {
            item.Return();
        }

        // Half-close, then drain briefly: closing with unread bytes would make the kernel send RST, and the
        // peer could lose our Goodbye (and its reason) still sitting in its receive buffer.
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
            using var drain = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
            var scratch = new byte[4096];
            while (await _stream.ReadAsync(scratch, drain.Token).ConfigureAwait(false) > 0)
            {
            }
        }
        catch (Exception ex) when (IsTransportEnd(ex) || ex is OperationCanceledException)
        {
            // Already gone, or the peer keeps talking: close anyway.
        }

        await _stream.DisposeAsync().ConfigureAwait(false);
        _cts.Dispose();
    }
}

/// <summary>The peer closed the TCP connection cleanly (a transport end, not an error).</summary>
internal sealed class PeerClosedException(string message) : Exception(message)
{
    public PeerClosedException()
        : this("peer closed the connection")
    {
    }

    public PeerClosedException(string message, Exception innerException)
        : this(message + ": " + innerException?.Message)
    {
    }
}

using System.Buffers;
using System.Net.Sockets;

namespace CtlHa.Core;

/// <summary>
/// The bytes received on a connection and not yet consumed, in one growable array, filled by
/// <see cref="DirectReceive"/>. A frame handed out as a slice of <see cref="Pending"/> stays valid until the next
/// receive (which may move what is left to the front).
/// </summary>
public sealed class ReceiveBuffer(int initialBytes = 256 * 1024, int minReadBytes = 16 * 1024)
{
    private byte[] _buffer = new byte[initialBytes];
    private int _start;
    private int _end;

    /// <summary>Received, not yet consumed.</summary>
    public ReadOnlySequence<byte> Pending => new(_buffer, _start, _end - _start);

    /// <summary>Bytes received and not yet consumed.</summary>
    public int Count => _end - _start;

    /// <summary>Marks everything but the last <paramref name="remaining"/> bytes of <see cref="Pending"/> consumed.</summary>
    public void Consume(long remaining)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(remaining);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(remaining, Count);
        _start = _end - (int)remaining;
        if (_start == _end)
        {
            _start = _end = 0;
        }
    }

    /// <summary>Receives more (waiting for it); the count, 0 when the peer closed, -1 when cancelled.</summary>
    public int Receive(Socket socket, CancellationToken cancellationToken)
    {
        var n = DirectReceive.Receive(socket, MakeRoom().Span, cancellationToken);
        _end += Math.Max(n, 0);
        return n;
    }

    /// <inheritdoc cref="Receive"/>
    public async Task<int> ReceiveAsync(Socket socket, CancellationToken cancellationToken)
    {
        var n = await DirectReceive.ReceiveAsync(socket, MakeRoom(), cancellationToken).ConfigureAwait(false);
        _end += Math.Max(n, 0);
        return n;
    }

    /// <summary>
    /// Free space for the next receive: what is left (part of a frame) moves to the front when the tail is short, and
    /// the array doubles when a frame does not fit (callers check a frame's declared length against their limit first).
    /// </summary>
    private Memory<byte> MakeRoom()
    {
        if (_buffer.Length - _end < minReadBytes)
        {
            var target = Count + minReadBytes > _buffer.Length ? new byte[_buffer.Length * 2] : _buffer;
            Buffer.BlockCopy(_buffer, _start, target, 0, Count);
            (_buffer, _end, _start) = (target, Count, 0);
        }

        return _buffer.AsMemory(_end);
    }
}

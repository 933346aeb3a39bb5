using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Threading.Channels;
using CtlHa.Initiator.Pdus;

namespace CtlHa.Initiator;

/// <summary>
/// One TCP connection carrying iSCSI PDUs. It is both the transport under <see cref="IscsiInitiatorSession"/> and
/// the "raw mode" of the conformance kit: callers may send any PDU or any bytes and read whatever PDUs come back.
/// A background pump frames incoming bytes into PDUs; after each Login Response it pauses until the caller's
/// next Receive/Send, so a caller can switch <see cref="Digests"/> exactly at the login boundary.
/// </summary>
public sealed class IscsiConnection : IAsyncDisposable
{
    /// <summary>Login PDUs carry at most 8192 data bytes (RFC 7143 §6.1: MaxRecvDataSegmentLength before negotiation).</summary>
    public const int LoginMaxRecvDataSegmentLength = 8192;

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly PipeReader _reader;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Channel<IscsiPdu> _incoming = Channel.CreateUnbounded<IscsiPdu>(new() { SingleWriter = true });
    private readonly SemaphoreSlim _loginGate = new(0, 1);
    private readonly CancellationTokenSource _lifetime = new();
    private int _loginGatePending;
    private volatile Exception? _failure;
    private int _closed;
    private Task? _pump;

    private IscsiConnection(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        _reader = PipeReader.Create(_stream, new StreamPipeReaderOptions(bufferSize: 65536, leaveOpen: true));
    }

    /// <summary>Digests applied to both directions; switch right after the final Login Response.</summary>
    public DigestSettings Digests { get; set; }

    /// <summary>Incoming data segments larger than this are a protocol error (checked before awaiting the data).</summary>
    public int MaxRecvDataSegmentLength { get; set; } = LoginMaxRecvDataSegmentLength;

    /// <summary>True once the connection ended for any reason.</summary>
    public bool IsClosed => Volatile.Read(ref _closed) != 0 || _failure is not null;

    /// <summary>Why the connection ended, if it did.</summary>
    public Exception? Failure => _failure;

    public static async Task<IscsiConnection> ConnectAsync(string host, int port, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(host, port, deadline.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new IscsiTimeoutException($"TCP connect to {host}:{port} took longer than {timeout}.");
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var connection = new IscsiConnection(socket);
        connection._pump = Task.Run(connection.PumpAsync);
        return connection;
    }

    /// <summary>Sends one PDU. <paramref name="beforeWrite"/> runs under the write lock so sequence numbers follow wire order.</summary>
    public Task SendAsync(IscsiPdu pdu, Action<IscsiPdu>? beforeWrite, CancellationToken cancellationToken) =>
        SendCoreAsync(pdu, p =>
        {
            beforeWrite?.Invoke(p);
            return true;
        }, cancellationToken);

    public Task SendAsync(IscsiPdu pdu, CancellationToken cancellationToken) => SendCoreAsync(pdu, null, cancellationToken);

    /// <summary>
    /// Sends one PDU if <paramref name="tryPrepare"/>, run under the write lock, agrees; returns false otherwise.
    /// Used to assign a CmdSN only when the command window is open, keeping CmdSN order equal to wire order.
    /// </summary>
    public Task<bool> TrySendAsync(IscsiPdu pdu, Func<IscsiPdu, bool> tryPrepare, CancellationToken cancellationToken) =>
        SendCoreAsync(pdu, tryPrepare, cancellationToken);

    /// <summary>Raw mode: writes arbitrary bytes (half PDUs, bad digests, garbage) as they are.</summary>
    public async Task SendRawAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        ReleaseLoginGate();
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            ThrowIfFailed();
            await WriteAsync(bytes, cancellationToken);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>The next PDU from the target; throws <see cref="IscsiConnectionLostException"/> when the connection ended.</summary>
    public async Task<IscsiPdu> ReceiveAsync(CancellationToken cancellationToken)
    {
        ReleaseLoginGate();
        try
        {
            var pdu = await _incoming.Reader.ReadAsync(cancellationToken);
            if (pdu.Opcode == IscsiOpcode.LoginResponse)
            {
                Volatile.Write(ref _loginGatePending, 1);
            }

            return pdu;
        }
        catch (ChannelClosedException)
        {
            throw LostException();
        }
    }

    /// <summary>Raw mode: the next PDU, or null if none arrives within <paramref name="timeout"/>.</summary>
    public async Task<IscsiPdu?> TryReceiveAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            return await ReceiveAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>Raw mode: waits until the target closes the connection; true if it did within <paramref name="timeout"/>. PDUs arriving meanwhile are discarded.</summary>
    public async Task<bool> WaitForCloseAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            while (true)
            {
                await ReceiveAsync(deadline.Token);
            }
        }
        catch (IscsiConnectionLostException)
        {
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Drops the TCP connection at once (idempotent; the first cause wins).</summary>
    public void Abort(Exception? cause = null)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        _failure ??= cause ?? new IscsiConnectionLostException("Connection closed locally.");
        _incoming.Writer.TryComplete();
        _lifetime.Cancel();
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Already gone: nothing to shut down.
        }
        catch (ObjectDisposedException)
        {
            // Already disposed.
        }

        _socket.Close();
    }

    public async ValueTask DisposeAsync()
    {
        Abort();
        if (_pump is not null)
        {
            await _pump.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _lifetime.Dispose();
        _writeLock.Dispose();
        _loginGate.Dispose();
        await _stream.DisposeAsync();
        _socket.Dispose();
    }

    private async Task<bool> SendCoreAsync(IscsiPdu pdu, Func<IscsiPdu, bool>? prepare, CancellationToken cancellationToken)
    {
        ReleaseLoginGate();
        await _writeLock.WaitAsync(cancellationToken);
        byte[]? rented = null;
        try
        {
            ThrowIfFailed();
            if (prepare is not null && !prepare(pdu))
            {
                return false;
            }

            pdu.UpdateLengths();
            var length = PduFramer.WireLength(pdu, Digests);
            rented = ArrayPool<byte>.Shared.Rent(length);
            PduFramer.Write(pdu, Digests, rented);
            await WriteAsync(rented.AsMemory(0, length), cancellationToken);
            return true;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }

            _writeLock.Release();
        }
    }

    private async Task WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        try
        {
            await _stream.WriteAsync(bytes, cancellationToken);
        }
        catch (OperationCanceledException ex)
        {
            // A half-written PDU leaves the stream unusable: the connection ends here.
            Abort(new IscsiConnectionLostException("Send cancelled mid-PDU; connection dropped.", ex));
            throw;
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            var lost = new IscsiConnectionLostException("Send failed: " + ex.Message, ex);
            Abort(lost);
            throw lost;
        }
    }

    private async Task PumpAsync()
    {
        var token = _lifetime.Token;
        try
        {
            while (true)
            {
                var result = await _reader.ReadAsync(token);
                var buffer = result.Buffer;
                var pausedForLogin = false;
                while (PduFramer.TryRead(ref buffer, Digests, MaxRecvDataSegmentLength, out var pdu))
                {
                    _incoming.Writer.TryWrite(pdu!);
                    if (pdu!.Opcode == IscsiOpcode.LoginResponse)
                    {
                        pausedForLogin = true;
                        break;
                    }
                }

                if (pausedForLogin)
                {
                    _reader.AdvanceTo(buffer.Start);
                    await _loginGate.WaitAsync(token);
                    continue;
                }

                _reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    Fail(new IscsiConnectionLostException(buffer.IsEmpty
                        ? "Target closed the connection."
                        : $"Target closed the connection inside a PDU ({buffer.Length} bytes pending)."));
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            Fail(new IscsiConnectionLostException("Connection closed locally."));
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            Fail(new IscsiConnectionLostException("Receive failed: " + ex.Message, ex));
        }
        catch (IscsiException ex)
        {
            // A framing or digest error: nothing after it can be trusted (ERL 0), so the connection ends.
            Fail(ex);
            Abort(ex);
        }
        finally
        {
            await _reader.CompleteAsync();
        }
    }

    private void Fail(Exception cause)
    {
        _failure ??= cause;
        _incoming.Writer.TryComplete();
    }

    private void ReleaseLoginGate()
    {
        if (Interlocked.Exchange(ref _loginGatePending, 0) == 1)
        {
            _loginGate.Release();
        }
    }

    private void ThrowIfFailed()
    {
        if (IsClosed)
        {
            throw LostException();
        }
    }

    private IscsiConnectionLostException LostException() => _failure switch
    {
        IscsiConnectionLostException lost => lost,
        { } other => new IscsiConnectionLostException(other.Message, other),
        null => new IscsiConnectionLostException("Connection closed."),
    };
}

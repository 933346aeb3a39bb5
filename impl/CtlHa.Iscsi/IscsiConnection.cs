using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using CtlHa.Core;
using CtlHa.Iscsi.Pdus;
using Microsoft.Extensions.Logging;

namespace CtlHa.Iscsi;

/// <summary>Connection states (RFC 7143 §8.1 collapsed to what a target at ERL 0 needs).</summary>
internal enum ConnectionState
{
    Login,
    FullFeature,
    LoggingOut,

    /// <summary>The last PDU (failed login response) is queued; nothing more is read.</summary>
    Closing,
    Closed,
    Broken,
}

/// <summary>An expected end of a connection (peer closed, logout, reinstatement, shutdown): no error log.</summary>
internal sealed class ConnectionEndedException : Exception
{
    public ConnectionEndedException(string message)
        : base(message)
    {
    }

    public ConnectionEndedException()
    {
    }

    public ConnectionEndedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// One iSCSI connection: a read loop on its own thread that frames PDUs and dispatches them, one writer
/// loop that owns the socket's output (everything else enqueues), and a timer for login timeout and NOP-In keep-alive.
/// Split by concern: <c>.Login.cs</c>, <c>.FullFeature.cs</c>, <c>.TaskManagement.cs</c>, <c>.Writer.cs</c>.
/// </summary>
internal sealed partial class IscsiConnection
{
    private static long s_nextId;

    private readonly Socket _socket;
    private readonly IscsiTargetServer _server;
    private readonly IScsiTarget _target;
    private readonly IscsiTargetOptions _options;
    private readonly ILogger _logger;
    private readonly ReceiveBuffer _rx = new();
    private readonly CancellationTokenSource _cts = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private PduReaderSettings _readerSettings = PduReaderSettings.Login;
    private Exception? _breakReason;
    private int _state = (int)ConnectionState.Login;
    private long _lastReceiveTicks = Environment.TickCount64;
    private readonly long _startTicks = Environment.TickCount64;

    public IscsiConnection(Socket socket, IscsiTargetServer server, IScsiTarget target, IscsiTargetOptions options, ILogger logger)
    {
        _socket = socket;
        _server = server;
        _target = target;
        _options = options;
        _logger = logger;
        Id = Interlocked.Increment(ref s_nextId);
        var stream = new NetworkStream(socket, ownsSocket: false);
        _output = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 65536, leaveOpen: true));
        RemoteEndPoint = socket.RemoteEndPoint;
        LocalEndPoint = socket.LocalEndPoint as IPEndPoint;
    }

    public long Id { get; }

    public EndPoint? RemoteEndPoint { get; }

    public IPEndPoint? LocalEndPoint { get; }

    public IscsiSession? Session { get; private set; }

    public ConnectionState State => (ConnectionState)Volatile.Read(ref _state);

    /// <summary>Completes when the connection is fully torn down (session ended, socket closed).</summary>
    public Task Closed => _closed.Task;

    private CancellationToken Token => _cts.Token;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        Log.Accepted(_logger, Id, RemoteEndPoint);
        using CancellationTokenRegistration stop = cancellationToken.Register(
            static s => ((IscsiConnection)s!).Break(new ConnectionEndedException("target shutting down")), this);
        Task writer = WriteLoopAsync();
        Task timer = TimerLoopAsync();
        try
        {
            await ReadLoopAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Break(ex);
        }
        finally
        {
            await TearDownAsync(writer, timer).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The read loop, on a thread of its own (<see cref="DirectReceive"/>: one wake-up per read, none on other
    /// threads), as LIO gives each connection a receive thread.
    /// </summary>
    private Task ReadLoopAsync() => DirectReceive.RunThread($"iscsi-rx {Id}", ReadLoop);

    private void ReadLoop()
    {
        while (true)
        {
            int n;
            try
            {
                n = _rx.Receive(_socket, Token);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                Break(new ConnectionEndedException("receive failed: " + ex.Message, ex));
                return;
            }
            if (n < 0)
            {
                return; // cancelled
            }
            // Only login awaits (on the thread pool); this thread waits for it.
            ValueTask<ReadOnlySequence<byte>> handling = HandleReceivedAsync(_rx.Pending);
            ReadOnlySequence<byte> rest = handling.IsCompletedSuccessfully ? handling.Result : handling.AsTask().GetAwaiter().GetResult();
            _rx.Consume(rest.Length);
            if (!KeepReading(n == 0, rest.Length))
            {
                return;
            }
        }
    }

    /// <summary>
    /// Frames and dispatches the whole PDUs at the front of <paramref name="buffer"/>, all in one output burst (the
    /// responses made meanwhile leave together). Returns what is left: part of a PDU.
    /// </summary>
    private async ValueTask<ReadOnlySequence<byte>> HandleReceivedAsync(ReadOnlySequence<byte> buffer)
    {
        if (!buffer.IsEmpty)
        {
            Volatile.Write(ref _lastReceiveTicks, Environment.TickCount64);
            _pingOutstanding = false;
        }
        var burst = OutputBurst.Begin();
        try
        {
            while (State is ConnectionState.Login or ConnectionState.FullFeature or ConnectionState.LoggingOut)
            {
                IscsiFrame frame;
                try
                {
                    if (!PduReader.TryRead(ref buffer, _readerSettings, out frame))
                    {
                        break;
                    }
                }
                catch (IscsiProtocolException ex) when (!ex.IsFatal)
                {
                    Reject(ex);
                    continue;
                }
                try
                {
                    if (State == ConnectionState.Login)
                    {
                        burst.Dispose(); // a burst never spans an await
                        burst = default;
                        await HandleLoginAsync(frame).ConfigureAwait(false);
                        burst = OutputBurst.Begin();
                    }
                    else
                    {
                        DispatchFullFeature(frame);
                    }
                }
                catch (IscsiProtocolException ex) when (!ex.IsFatal)
                {
                    Reject(ex);
                }
            }
        }
        finally
        {
            burst.Dispose();
        }
        return buffer;
    }

    /// <summary>After a read was handled: false when the connection is done (closed, broken, or the peer closed).</summary>
    private bool KeepReading(bool peerClosed, long pending)
    {
        if (State is ConnectionState.Closed or ConnectionState.Broken)
        {
            return false;
        }
        if (peerClosed)
        {
            Break(new ConnectionEndedException(pending == 0 ? "peer closed the connection" : $"peer closed the connection inside a PDU ({pending} bytes pending)"));
            return false;
        }
        return true;
    }

    /// <summary>
    /// The one failure funnel (Npgsql's Break): the first cause wins; protocol violations are logged as warnings with a Reject
    /// sent when a header is known, transport ends at debug, anything else is a bug logged at error.
    /// </summary>
    public void Break(Exception reason)
    {
        if (Interlocked.CompareExchange(ref _breakReason, reason, null) is not null)
        {
            return;
        }
        int previous = Interlocked.Exchange(ref _state, (int)ConnectionState.Broken);
        switch (reason)
        {
            case IscsiProtocolException protocol:
                Log.ProtocolViolation(_logger, Id, protocol.Reason, "dropping the connection", protocol.Message);
                if (protocol.HasHeader && previous == (int)ConnectionState.FullFeature)
                {
                    EnqueueReject(protocol.Reason, protocol.OffendingHeader);
                }
                break;
            case ConnectionEndedException or OperationCanceledException:
                Log.TransportEnded(_logger, Id, reason.Message);
                break;
            case TimeoutException:
                Log.Warning(_logger, Id, reason.Message);
                break;
            case SocketException or IOException:
                Log.TransportEnded(_logger, Id, reason.Message);
                break;
            default:
                Log.Bug(_logger, Id, reason);
                break;
        }
        _outbox.Writer.TryComplete();
        _cts.Cancel();
    }

    /// <summary>Graceful close after the writer flushed the last PDU (logout response, failed login response).</summary>
    private void CloseGracefully(string reason)
    {
        if (Interlocked.CompareExchange(ref _breakReason, new ConnectionEndedException(reason), null) is not null)
        {
            return;
        }
        Volatile.Write(ref _state, (int)ConnectionState.Closed);
        Log.Closed(_logger, Id, reason);
        _outbox.Writer.TryComplete();
        _cts.Cancel();
    }

    private void Reject(IscsiProtocolException ex)
    {
        Log.ProtocolViolation(_logger, Id, ex.Reason, "rejecting the PDU", ex.Message);
        if (State == ConnectionState.Login)
        {
            // RFC 7143 §6.3: protocol errors during login end the login.
            Break(new IscsiProtocolException(ex.Message, ex));
            return;
        }
        EnqueueReject(ex.Reason, ex.OffendingHeader);
    }

    private async Task TimerLoopAsync()
    {
        long period = 1000;
        if (_options.NopInInterval > TimeSpan.Zero)
        {
            period = Math.Min(period, (long)_options.NopInInterval.TotalMilliseconds / 2);
        }
        period = Math.Min(period, (long)_options.LoginTimeout.TotalMilliseconds / 4);
        period = Math.Max(period, 20);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(period));
        try
        {
            while (await timer.WaitForNextTickAsync(Token).ConfigureAwait(false))
            {
                long now = Environment.TickCount64;
                ConnectionState state = State;
                if (state == ConnectionState.Login)
                {
                    if (now - _startTicks > (long)_options.LoginTimeout.TotalMilliseconds)
                    {
                        Break(new TimeoutException($"login did not complete within {_options.LoginTimeout.TotalSeconds:0.#} s"));
                        return;
                    }
                    continue;
                }
                if (state != ConnectionState.FullFeature || _options.NopInInterval <= TimeSpan.Zero)
                {
                    continue;
                }
                if (_pingOutstanding)
                {
                    if (now - _pingSentTicks > (long)_options.NopInTimeout.TotalMilliseconds)
                    {
                        Break(new TimeoutException($"no answer to NOP-In ping within {_options.NopInTimeout.TotalSeconds:0.#} s"));
                        return;
                    }
                }
                else if (now - Volatile.Read(ref _lastReceiveTicks) >= (long)_options.NopInInterval.TotalMilliseconds)
                {
                    SendPing();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task TearDownAsync(Task writer, Task timer)
    {
        if (_breakReason is null)
        {
            Break(new ConnectionEndedException("read loop ended"));
        }
        _outbox.Writer.TryComplete();
        _cts.Cancel();
        try
        {
            await writer.WaitAsync(_options.DrainTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Log.Warning(_logger, Id, "writer did not drain in time");
        }
        DrainOutbox();

        IscsiCommand[] commands = SnapshotCommands();
        var ended = new ConnectionEndedException("connection closed");
        foreach (IscsiCommand command in commands)
        {
            command.Fail(ended);
        }
        if (Session is { } session)
        {
            // SAM-5 §6.3.4: the executor aborts the nexus's tasks; then wait for ours to come back.
            session.End();
            _server.Registry.Remove(session);
        }
        try
        {
            await Task.WhenAll(commands.Select(c => c.Completion)).WaitAsync(_options.DrainTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Log.Warning(_logger, Id, $"{commands.Count(c => !c.Completion.IsCompleted)} commands still running after the connection closed");
        }
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
        _socket.Dispose();
        await timer.ConfigureAwait(false);
        _closed.TrySetResult();
    }
}

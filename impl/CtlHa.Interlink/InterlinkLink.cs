using System.Net;
using System.Net.Sockets;
using CtlHa.Core;
using CtlHa.Wire;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CtlHa.Interlink;

/// <summary>
/// One node's interlink (spec/PROTOCOL.md §4–§5): listens or connects, authenticates, logs in, then carries
/// messages both ways until the connection ends, and starts over. Phases and triggers follow the spec's
/// LinkLifecycleSpec; every transition is logged once and raised on <see cref="Transitioned"/>.
/// </summary>
public sealed partial class InterlinkLink
{
    private readonly InterlinkOptions _options;
    private readonly IInterlinkHandler _handler;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource<IPEndPoint> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private InterlinkPhase _phase = InterlinkPhase.Unconfigured;
    private LinkRejection? _lastRejection;
    private InterlinkConnection? _online;
    private long _connectionIds;
    private InterlinkEndpoint? _peer;
    private InterlinkEndpoint? _pendingPeer;
    private CancellationTokenSource? _epoch;
    private TaskCompletionSource _reconfigured = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _running;

    public InterlinkLink(InterlinkOptions options, IInterlinkHandler handler, ILogger<InterlinkLink>? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(handler);
        options.Validate();
        _options = options;
        _handler = handler;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
        _peer = options.Peer;
    }

    /// <summary>Raised after every transition (on the thread that caused it). For tests and status.</summary>
    public event Action<InterlinkTransition>? Transitioned;

    /// <summary>Current phase.</summary>
    public InterlinkPhase Phase
    {
        get
        {
            lock (_gate)
            {
                return _phase;
            }
        }
    }

    /// <summary>True while Online.</summary>
    public bool IsOnline => Phase == InterlinkPhase.Online;

    /// <summary>The last authentication or Login rejection (kept after reconnecting, for <c>ctlha status</c>).</summary>
    public LinkRejection? LastRejection
    {
        get
        {
            lock (_gate)
            {
                return _lastRejection;
            }
        }
    }

    /// <summary>The peer of the current Online connection, or null.</summary>
    public InterlinkPeer? Peer => _online?.PeerInfo;

    /// <summary>The configured peer endpoint.</summary>
    public InterlinkEndpoint? Endpoint
    {
        get
        {
            lock (_gate)
            {
                return _peer;
            }
        }
    }

    /// <summary>Completes with the bound address once a listen-side link listens (port 0 resolved).</summary>
    public Task<IPEndPoint> ListeningAsync => _listening.Task;

    /// <summary>
    /// Queues <paramref name="message"/> for the current connection. Waits while the send queue is full
    /// (back-pressure). Returns false, dropping the message, if the link is not Online or goes down meanwhile
    /// (as CTL: messages never cross to a later connection). Throws <see cref="InterlinkProtocolException"/>
    /// if the message is invalid or larger than the peer accepts: a bug in the caller, the link stays up.
    /// </summary>
    public ValueTask<bool> SendAsync(InterlinkMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        var connection = _online;
        return connection is null ? ValueTask.FromResult(false) : connection.EnqueueAsync(message, cancellationToken);
    }

    /// <summary>
    /// Changes the peer setting (spec Reconfigure*/Unconfigure): the current connection is closed with
    /// Goodbye(Reconfigured) and the link listens/connects anew. Setting the same value again is a no-op.
    /// </summary>
    public void Reconfigure(InterlinkEndpoint? peer)
    {
        lock (_gate)
        {
            if (Equals(peer, _pendingPeer ?? _peer))
            {
                return;
            }

            _pendingPeer = peer;
            _epoch?.Cancel();
            _reconfigured.TrySetResult();
        }
    }

    /// <summary>Runs the link until <paramref name="cancellationToken"/> is cancelled (then Shutdown: Goodbye, close).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _running, 1) != 0)
        {
            throw new InvalidOperationException("RunAsync is already running");
        }

        try
        {
            if (_peer is { } initial)
            {
                Transition(initial.Side == InterlinkSide.Listen ? InterlinkTrigger.ConfigureListen : InterlinkTrigger.ConfigureConnect, StartPhase(initial));
            }

            while (!cancellationToken.IsCancellationRequested)
            {
                InterlinkEndpoint? peer;
                CancellationTokenSource epoch;
                Task reconfigured;
                lock (_gate)
                {
                    peer = _peer;
                    epoch = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    _epoch = epoch;
                    reconfigured = _reconfigured.Task;
                }

                using (epoch)
                {
                    try
                    {
                        if (peer is null)
                        {
                            await reconfigured.WaitAsync(cancellationToken).ConfigureAwait(false);
                        }
                        else if (peer.Side == InterlinkSide.Listen)
                        {
                            await RunListenerAsync(peer.EndPoint, epoch.Token).ConfigureAwait(false);
                        }
                        else
                        {
                            await RunConnectorAsync(peer.EndPoint, epoch.Token).ConfigureAwait(false);
                        }
                    }
                    catch (OperationCanceledException)
                    {
                        // Reconfigured (handled below) or stopped (loop ends).
                    }
                    catch (Exception ex) when (ex is SocketException or IOException)
                    {
                        // E.g. the listen address cannot be bound (yet): keep trying, slowly, like CTL.
                        LogLinkLoopFailed(_logger, ex.Message);
                        try
                        {
                            await DelayAsync(_options.BackoffMax, epoch.Token).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException)
                        {
                        }

                        if (!epoch.IsCancellationRequested)
                        {
                            continue;
                        }
                    }
                }

                if (cancellationToken.IsCancellationRequested)
                {
                    break;
                }

                InterlinkEndpoint? next;
                lock (_gate)
                {
                    next = _pendingPeer;
                    _peer = next;
                    _pendingPeer = null;
                    _reconfigured = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                LogReconfigured(_logger, peer?.ToString() ?? "none", next?.ToString() ?? "none");
                if (next is null)
                {
                    Transition(InterlinkTrigger.Unconfigure, InterlinkPhase.Unconfigured);
                }
                else if (Phase == InterlinkPhase.Unconfigured)
                {
                    Transition(next.Side == InterlinkSide.Listen ? InterlinkTrigger.ConfigureListen : InterlinkTrigger.ConfigureConnect, StartPhase(next));
                }
                else
                {
                    Transition(next.Side == InterlinkSide.Listen ? InterlinkTrigger.ReconfigureListen : InterlinkTrigger.ReconfigureConnect, StartPhase(next));
                }
            }
        }
        finally
        {
            if (Phase != InterlinkPhase.Unconfigured)
            {
                Transition(InterlinkTrigger.Shutdown, InterlinkPhase.Unconfigured);
            }

            Volatile.Write(ref _running, 0);
        }
    }

    private static InterlinkPhase StartPhase(InterlinkEndpoint peer) =>
        peer.Side == InterlinkSide.Listen ? InterlinkPhase.Listening : InterlinkPhase.Connecting;

    private async Task RunListenerAsync(IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        using var listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        try
        {
            listener.Bind(endPoint);
        }
        catch (SocketException ex)
        {
            LogBindFailed(_logger, endPoint.ToString(), ex.Message);
            throw;
        }

        listener.Listen(1);
        var bound = (IPEndPoint)listener.LocalEndPoint!;
        _listening.TrySetResult(bound);
        LogListening(_logger, bound.ToString());
        while (true)
        {
            var socket = await listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
            Transition(InterlinkTrigger.TcpAccepted, InterlinkPhase.Authenticating);
            var end = await RunConnectionAsync(socket, LinkRole.Acceptor, cancellationToken).ConfigureAwait(false);
            if (end.Rejection is not null)
            {
                // A fixed short pause, not the growing connect-side back-off: the listener stays open and the
                // operator's restarted (fixed) peer must be accepted at once (spec LinkPhase.Rejected).
                Transition(end.Trigger, InterlinkPhase.Rejected);
                await DelayAsync(ListenRejectionPause, cancellationToken).ConfigureAwait(false);
                Transition(InterlinkTrigger.RetryTimerFired, InterlinkPhase.Listening);
            }
            else
            {
                Transition(end.Trigger, InterlinkPhase.Listening);
            }
        }
    }

    private async Task RunConnectorAsync(IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        var failures = 0;
        while (true)
        {
            var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(_options.HandshakeTimeout);
                await DirectReceive.ConnectAsync(socket, endPoint, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
                socket.Dispose();
                cancellationToken.ThrowIfCancellationRequested();
                LogConnectFailed(_logger, endPoint.ToString(), ex.Message);
                Transition(InterlinkTrigger.TcpFailed, InterlinkPhase.BackingOff);
                await DelayAsync(Backoff(failures++), cancellationToken).ConfigureAwait(false);
                Transition(InterlinkTrigger.RetryTimerFired, InterlinkPhase.Connecting);
                continue;
            }
            catch
            {
                socket.Dispose();
                throw;
            }

            Transition(InterlinkTrigger.TcpConnected, InterlinkPhase.Authenticating);
            var end = await RunConnectionAsync(socket, LinkRole.Connector, cancellationToken).ConfigureAwait(false);
            if (end.WasOnline)
            {
                failures = 0;
            }

            Transition(end.Trigger, end.Rejection is not null ? InterlinkPhase.Rejected : InterlinkPhase.BackingOff);
            await DelayAsync(Backoff(failures++), cancellationToken).ConfigureAwait(false);
            Transition(InterlinkTrigger.RetryTimerFired, InterlinkPhase.Connecting);
        }
    }

    /// <summary>Runs one TCP connection to its end. Throws OperationCanceledException after closing if cancelled.</summary>
    private async Task<ConnectionEnd> RunConnectionAsync(Socket socket, LinkRole role, CancellationToken cancellationToken)
    {
        var id = Interlocked.Increment(ref _connectionIds);
        await using var connection = new InterlinkConnection(this, id, socket, role);
        var end = await connection.HandshakeAsync(cancellationToken).ConfigureAwait(false);
        if (end is not null)
        {
            if (end.Rejection is not null)
            {
                lock (_gate)
                {
                    _lastRejection = end.Rejection;
                }

                LogRejected(_logger, id, end.Rejection.Reason);
            }
            else
            {
                LogHandshakeFailed(_logger, id, end.Trigger, end.Reason);
            }

            cancellationToken.ThrowIfCancellationRequested();
            return end;
        }

        Transition(InterlinkTrigger.LoginMatched, InterlinkPhase.Online);
        var peer = connection.PeerInfo!;
        if (!peer.Authenticated)
        {
            LogUnauthenticated(_logger, id);
        }

        LogLinkUp(_logger, id, peer.PeerLogin.NodeId, peer.PeerLogin.SoftwareVersion, socket.RemoteEndPoint?.ToString() ?? "?");
        _online = connection;
        try
        {
            end = await connection.RunOnlineAsync(_handler, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _online = null;
        }

        LogLinkDown(_logger, id, end.Trigger, end.Reason);
        try
        {
            _handler.OnLinkDown(new InterlinkDown(id, end.Trigger, end.Reason));
        }
        catch (Exception ex)
        {
            LogHandlerFailed(_logger, ex);
        }

        cancellationToken.ThrowIfCancellationRequested();
        return end;
    }

    internal InterlinkOptions Options => _options;

    internal ILogger Logger => _logger;

    internal TimeProvider Time => _time;

    /// <summary>Whether the current stop is a reconfiguration (Goodbye Reconfigured) rather than shutdown.</summary>
    internal bool IsReconfiguring
    {
        get
        {
            lock (_gate)
            {
                return _reconfigured.Task.IsCompleted;
            }
        }
    }

    /// <summary>The listen side's pause in Rejected: BackoffInitial (≤ 0.5 s, validated), never growing.</summary>
    private TimeSpan ListenRejectionPause => _options.BackoffInitial;

    private TimeSpan Backoff(int failures)
    {
        var baseDelay = _options.BackoffInitial.TotalMilliseconds * Math.Pow(2, Math.Min(failures, 16));
        var capped = Math.Min(baseDelay, _options.BackoffMax.TotalMilliseconds);
        var jitter = 0.8 + (0.4 * Random.Shared.NextDouble());
        return TimeSpan.FromMilliseconds(Math.Min(capped * jitter, _options.BackoffMax.TotalMilliseconds));
    }

    private Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken) =>
        Task.Delay(delay, _time, cancellationToken);

    internal void Transition(InterlinkTrigger trigger, InterlinkPhase to)
    {
        InterlinkPhase from;
        lock (_gate)
        {
            from = _phase;
            _phase = to;
        }

        LogTransition(_logger, from, to, trigger);
        Transitioned?.Invoke(new InterlinkTransition(from, trigger, to));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Interlink {From} -> {To} on {Trigger}")]
    private static partial void LogTransition(ILogger logger, InterlinkPhase from, InterlinkPhase to, InterlinkTrigger trigger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Interlink listening on {EndPoint}")]
    private static partial void LogListening(ILogger logger, string endPoint);

    [LoggerMessage(Level = LogLevel.Error, Message = "Interlink cannot listen on {EndPoint}: {Reason}")]
    private static partial void LogBindFailed(ILogger logger, string endPoint, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Interlink connect to {EndPoint} failed: {Reason}")]
    private static partial void LogConnectFailed(ILogger logger, string endPoint, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Interlink connection {Id} rejected: {Reason}")]
    private static partial void LogRejected(ILogger logger, long id, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Interlink connection {Id} failed during the handshake ({Trigger}): {Reason}")]
    private static partial void LogHandshakeFailed(ILogger logger, long id, InterlinkTrigger trigger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Interlink connection {Id} is NOT authenticated (allow-unauthenticated on both nodes); use a pre-shared key")]
    private static partial void LogUnauthenticated(ILogger logger, long id);

    [LoggerMessage(Level = LogLevel.Information, Message = "Interlink connection {Id} online with node {PeerNodeId} ({PeerSoftware}) at {Remote}")]
    private static partial void LogLinkUp(ILogger logger, long id, byte peerNodeId, string peerSoftware, string remote);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Interlink connection {Id} down ({Trigger}): {Reason}")]
    private static partial void LogLinkDown(ILogger logger, long id, InterlinkTrigger trigger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Interlink peer setting changed from {Old} to {New}")]
    private static partial void LogReconfigured(ILogger logger, string old, string @new);

    [LoggerMessage(Level = LogLevel.Error, Message = "Interlink cannot run its socket: {Reason}; retrying")]
    private static partial void LogLinkLoopFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Interlink handler failed")]
    internal static partial void LogHandlerFailed(ILogger logger, Exception exception);
}

/// <summary>How a connection ended: the spec trigger, one line of reason, and the rejection if it was one.</summary>
internal sealed record ConnectionEnd(InterlinkTrigger Trigger, string Reason, LinkRejection? Rejection = null, bool WasOnline = false, Goodbye? Goodbye = null);

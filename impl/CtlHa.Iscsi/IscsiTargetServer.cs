using System.Net;
using System.Net.Sockets;
using CtlHa.Core;
using Microsoft.Extensions.Logging;

namespace CtlHa.Iscsi;

/// <summary>
/// The iSCSI target frontend (RFC 7143): listens on every portal, runs one <c>IscsiConnection</c> per accepted socket,
/// and hands SCSI commands to an <see cref="IScsiTarget"/>.
/// </summary>
public sealed class IscsiTargetServer
{
    private readonly IscsiTargetOptions _options;
    private readonly IScsiTarget _target;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _connectionsLock = new();
    private readonly HashSet<IscsiConnection> _connections = [];
    private IReadOnlyList<IPEndPoint> _boundEndpoints = [];
    private long _nextNexusId;

    public IscsiTargetServer(IscsiTargetOptions options, IScsiTarget target, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.RelativeTargetPortId == 0)
        {
            throw new ArgumentException("RelativeTargetPortId must not be 0 (SPC-5 §7.8.4.7)", nameof(options));
        }
        if (options.Targets.Count == 0)
        {
            throw new ArgumentException("at least one target is required", nameof(options));
        }
        _options = options;
        _target = target;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<IscsiTargetServer>();
    }

    /// <summary>The endpoints actually bound (ephemeral ports resolved); valid once <see cref="Started"/> completes.</summary>
    public IReadOnlyList<IPEndPoint> BoundEndpoints => _boundEndpoints;

    /// <summary>Completes when every portal listens (faults if binding fails).</summary>
    public Task Started => _started.Task;

    /// <summary>Sessions currently logged in (normal and discovery).</summary>
    public int SessionCount => Registry.Count;

    internal SessionRegistry Registry { get; } = new();

    internal long NextNexusId() => Interlocked.Increment(ref _nextNexusId);

    /// <summary>Binds every portal and accepts until cancelled; then closes every connection and waits for them.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var listeners = new List<Socket>();
        try
        {
            foreach (IPEndPoint portal in _options.Portals)
            {
                var listener = new Socket(portal.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                listener.Bind(portal);
                listener.Listen(128);
                listeners.Add(listener);
                Log.Listening(_logger, listener.LocalEndPoint!);
            }
        }
        catch (Exception ex)
        {
            foreach (Socket l in listeners)
            {
                l.Dispose();
            }
            _started.TrySetException(ex);
            throw;
        }
        _boundEndpoints = listeners.Select(l => (IPEndPoint)l.LocalEndPoint!).ToArray();
        _started.TrySetResult();

        ILogger connectionLogger = _loggerFactory.CreateLogger("CtlHa.Iscsi.IscsiConnection");
        var connectionTasks = new List<Task>();
        Task[] accepts = listeners.Select(l => AcceptLoopAsync(l, connectionLogger, cancellationToken)).ToArray();
        try
        {
            await Task.WhenAll(accepts).ConfigureAwait(false);
        }
        finally
        {
            foreach (Socket l in listeners)
            {
                l.Dispose();
            }
            IscsiConnection[] open;
            lock (_connectionsLock)
            {
                open = [.. _connections];
            }
            foreach (IscsiConnection connection in open)
            {
                connection.Break(new ConnectionEndedException("target shutting down"));
            }
            try
            {
                await Task.WhenAll(open.Select(c => c.Closed)).WaitAsync(_options.DrainTimeout + _options.DrainTimeout, CancellationToken.None)
                    .ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                Log.Warning(_logger, 0, $"{open.Count(c => !c.Closed.IsCompleted)} connections still closing at shutdown");
            }
        }
    }

    private async Task AcceptLoopAsync(Socket listener, ILogger connectionLogger, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException ex)
            {
                Log.Warning(_logger, 0, "accept failed: " + ex.Message);
                continue;
            }
            socket.NoDelay = true;
            var connection = new IscsiConnection(socket, this, _target, _options, connectionLogger);
            lock (_connectionsLock)
            {
                _connections.Add(connection);
            }
            _ = RunConnectionAsync(connection, cancellationToken);
        }
    }

    private async Task RunConnectionAsync(IscsiConnection connection, CancellationToken cancellationToken)
    {
        try
        {
            await connection.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.Bug(_logger, connection.Id, ex);
        }
        finally
        {
            lock (_connectionsLock)
            {
                _connections.Remove(connection);
            }
        }
    }
}

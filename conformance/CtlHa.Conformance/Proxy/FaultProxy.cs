using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace CtlHa.Conformance.Proxy;

/// <summary>Which way a fault applies, seen from the proxy's client (the connecting node).</summary>
[Flags]
public enum ProxyDirection
{
    None = 0,

    /// <summary>Bytes from the connecting side towards the target.</summary>
    ToTarget = 1,

    /// <summary>Bytes from the target back to the connecting side.</summary>
    FromTarget = 2,

    Both = ToTarget | FromTarget,
}

/// <summary>
/// A fault setting; replace <see cref="FaultProxy.Fault"/> to change it (it applies to live connections at once).
/// </summary>
/// <param name="Direction">Which directions the fault affects.</param>
/// <param name="Stall">Hold every byte (the connection stays open): a peer that stops sending, or reading.</param>
/// <param name="Delay">Hold each chunk this long before forwarding it.</param>
/// <param name="DropAfterBytes">Reset the connection once this many bytes went one way on it.</param>
/// <param name="CorruptAtByte">XOR 0xFF into the byte at this offset of each affected stream.</param>
/// <param name="RefuseNew">Close new connections at once (the target looks down).</param>
public sealed record ProxyFault(
    ProxyDirection Direction = ProxyDirection.Both,
    bool Stall = false,
    TimeSpan Delay = default,
    long? DropAfterBytes = null,
    long? CorruptAtByte = null,
    bool RefuseNew = false)
{
    /// <summary>Forward everything unchanged.</summary>
    public static ProxyFault None { get; } = new();
}

/// <summary>
/// A fault-injecting TCP proxy for the interlink (cut, stall, delay, drop-after-N-bytes, corrupt). Listens on
/// 127.0.0.1:0 and forwards each accepted connection to <c>target</c>. Memory is bounded: one 64 KiB buffer per
/// direction per connection.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private readonly IPEndPoint _target;
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<int, ProxiedConnection> _connections = new();
    private volatile ProxyFault _fault = ProxyFault.None;
    private Task? _accepting;
    private int _nextId;

    public FaultProxy(IPEndPoint target, IPEndPoint? listen = null)
    {
        _target = target;
        _listener = new TcpListener(listen ?? new IPEndPoint(IPAddress.Loopback, 0));
    }

    /// <summary>The address clients connect to.</summary>
    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>The current fault (applies to new and live connections).</summary>
    public ProxyFault Fault
    {
        get => _fault;
        set => _fault = value ?? ProxyFault.None;
    }

    /// <summary>Connections accepted so far.</summary>
    public int AcceptedCount => Volatile.Read(ref _nextId);

    /// <summary>Connections currently open.</summary>
    public int OpenCount => _connections.Count;

    public IPEndPoint Start()
    {
        _listener.Start();
        _accepting = AcceptLoopAsync(_stop.Token);
        return EndPoint;
    }

    /// <summary>Cuts every live connection (both sides see a reset).</summary>
    public void CutAll()
    {
        foreach (var connection in _connections.Values)
        {
            connection.Cut();
        }
    }

    private async Task AcceptLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(cancellationToken).ConfigureAwait(false);
                var id = Interlocked.Increment(ref _nextId);
                if (_fault.RefuseNew)
                {
                    client.Client.LingerState = new LingerOption(true, 0);
                    client.Dispose();
                    continue;
                }

                var connection = new ProxiedConnection(this, id, client);
                _connections[id] = connection;
                _ = connection.RunAsync(cancellationToken);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        CutAll();
        if (_accepting is not null)
        {
            await _accepting.ConfigureAwait(false);
        }

        _stop.Dispose();
    }

    private sealed class ProxiedConnection(FaultProxy proxy, int id, TcpClient client)
    {
        private readonly TcpClient _server = new() { NoDelay = true };
        private int _cut;

        public void Cut()
        {
            if (Interlocked.Exchange(ref _cut, 1) != 0)
            {
                return;
            }

            // TcpClient.Client is null while its connect is still choosing a socket and after it is disposed: nothing
            // to cut there (the connection's own end closes whatever it gets).
            foreach (var socket in new[] { client.Client, _server.Client })
            {
                if (socket is null)
                {
                    continue;
                }

                try
                {
                    socket.LingerState = new LingerOption(true, 0); // RST, not FIN: a real cut
                    socket.Close();
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                }
            }
        }

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            try
            {
                client.NoDelay = true;
                await _server.ConnectAsync(proxy._target, cancellationToken).ConfigureAwait(false);
                using var both = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var up = PumpAsync(client.GetStream(), _server.GetStream(), ProxyDirection.ToTarget, both.Token);
                var down = PumpAsync(_server.GetStream(), client.GetStream(), ProxyDirection.FromTarget, both.Token);
                await Task.WhenAny(up, down).ConfigureAwait(false);
                await both.CancelAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
            {
            }
            finally
            {
                Cut();
                client.Dispose();
                _server.Dispose();
                proxy._connections.TryRemove(id, out _);
            }
        }

        private async Task PumpAsync(NetworkStream from, NetworkStream to, ProxyDirection direction, CancellationToken cancellationToken)
        {
            var buffer = new byte[64 * 1024];
            long forwarded = 0;
            try
            {
                while (true)
                {
                    var n = await from.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                    if (n == 0)
                    {
                        to.Socket.Shutdown(SocketShutdown.Send); // pass the FIN on
                        return;
                    }

                    var fault = proxy._fault;
                    while (fault.Stall && (fault.Direction & direction) != 0)
                    {
                        await Task.Delay(10, cancellationToken).ConfigureAwait(false);
                        fault = proxy._fault;
                    }

                    if ((fault.Direction & direction) == 0)
                    {
                        fault = ProxyFault.None;
                    }

                    if (fault.Delay > TimeSpan.Zero)
                    {
                        await Task.Delay(fault.Delay, cancellationToken).ConfigureAwait(false);
                    }

                    if (fault.CorruptAtByte is { } at && at >= forwarded && at < forwarded + n)
                    {
                        buffer[at - forwarded] ^= 0xFF;
                    }

                    var count = n;
                    var drop = false;
                    if (fault.DropAfterBytes is { } limit && forwarded + n >= limit)
                    {
                        count = (int)Math.Max(0, limit - forwarded);
                        drop = true;
                    }

                    await to.WriteAsync(buffer.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
                    forwarded += count;
                    if (drop)
                    {
                        Cut();
                        return;
                    }
                }
            }
            catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }
    }
}

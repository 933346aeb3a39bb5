using System.Net;
using System.Net.Sockets;

namespace CtlHa.Interlink.Tests;

/// <summary>
/// A loopback TCP relay between the two links of a test, so traces can cut (reset every relayed connection),
/// stall (hold the bytes, connections open: a half-open peer) and delay (forward late) the interlink. Real sockets
/// only; each relayed connection is two copy loops that stop with the relay.
/// </summary>
public sealed class Relay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<(TcpClient Inbound, TcpClient Outbound, CancellationTokenSource Cut)> _connections = [];
    private readonly Task _accept;
    private volatile bool _stalled;

    public Relay(IPEndPoint target)
    {
        _target = target;
        _listener.Start();
        _accept = AcceptLoopAsync();
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Added before each forwarded chunk while non-zero.</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>Resets every relayed connection (new ones are still accepted).</summary>
    public void Cut()
    {
        lock (_gate)
        {
            foreach (var (inbound, outbound, cut) in _connections)
            {
                cut.Cancel();
                inbound.Client.LingerState = new LingerOption(true, 0);
                outbound.Client.LingerState = new LingerOption(true, 0);
                inbound.Dispose();
                outbound.Dispose();
            }
            _connections.Clear();
        }
    }

    /// <summary>Stops forwarding bytes; the connections stay open.</summary>
    public void Stall() => _stalled = true;

    public void Resume() => _stalled = false;

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (true)
            {
                var inbound = await _listener.AcceptTcpClientAsync(_stop.Token);
                var outbound = new TcpClient();
                try
                {
                    await outbound.ConnectAsync(_target, _stop.Token);
                }
                catch (SocketException)
                {
                    inbound.Dispose();
                    outbound.Dispose();
                    continue;
                }
                var cut = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                lock (_gate)
                {
                    _connections.Add((inbound, outbound, cut));
                }
                _ = PumpAsync(inbound, outbound, cut.Token);
                _ = PumpAsync(outbound, inbound, cut.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    private async Task PumpAsync(TcpClient from, TcpClient to, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            var source = from.GetStream();
            var sink = to.GetStream();
            while (true)
            {
                int n = await source.ReadAsync(buffer, cancellationToken);
                if (n == 0)
                {
                    break;
                }
                while (_stalled)
                {
                    await Task.Delay(10, cancellationToken);
                }
                if (Delay > TimeSpan.Zero)
                {
                    await Task.Delay(Delay, cancellationToken);
                }
                await sink.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
            }
            to.Client.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or IOException or SocketException or InvalidOperationException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Cut();
        try
        {
            await _accept;
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }
}

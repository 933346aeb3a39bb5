using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using CtlHa.Conformance.Proxy;

namespace CtlHa.Conformance.Tests.Interlink;

/// <summary>The fault proxy does exactly the damage it is asked for (it is test equipment; it must be trusted).</summary>
public sealed class FaultProxyTests
{
    private sealed class Echo : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public Echo()
        {
            _listener.Start();
            _loop = Task.Run(async () =>
            {
                try
                {
                    while (true)
                    {
                        var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                        _ = Task.Run(async () =>
                        {
                            using (client)
                            {
                                var buffer = new byte[4096];
                                var stream = client.GetStream();
                                try
                                {
                                    int n;
                                    while ((n = await stream.ReadAsync(buffer, _stop.Token)) > 0)
                                    {
                                        await stream.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
                                    }
                                }
                                catch (Exception ex) when (ex is IOException or OperationCanceledException)
                                {
                                }
                            }
                        });
                    }
                }
                catch (OperationCanceledException)
                {
                }
            });
        }

        public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _loop;
        }
    }

    private static async Task<byte[]> ReadAsync(NetworkStream stream, int count, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[count];
        var read = 0;
        while (read < count)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(read), cts.Token);
            if (n == 0)
            {
                break;
            }

            read += n;
        }

        return buffer[..read];
    }

    [Fact(Timeout = 10_000)]
    public async Task Without_a_fault_bytes_pass_unchanged_both_ways()
    {
        await using var echo = new Echo();
        await using var proxy = new FaultProxy(echo.EndPoint);
        using var client = new TcpClient();
        await client.ConnectAsync(proxy.Start());
        var data = Enumerable.Range(0, 100_000).Select(i => (byte)i).ToArray();
        var stream = client.GetStream();
        var write = stream.WriteAsync(data).AsTask();
        Assert.Equal(data, await ReadAsync(stream, data.Length, TimeSpan.FromSeconds(5)));
        await write;
    }

    [Fact(Timeout = 10_000)]
    public async Task Corrupt_flips_exactly_one_byte()
    {
        await using var echo = new Echo();
        await using var proxy = new FaultProxy(echo.EndPoint) { Fault = new ProxyFault(ProxyDirection.ToTarget, CorruptAtByte: 3) };
        using var client = new TcpClient();
        await client.ConnectAsync(proxy.Start());
        var stream = client.GetStream();
        await stream.WriteAsync(new byte[] { 1, 2, 3, 4, 5 });
        Assert.Equal(new byte[] { 1, 2, 3, 4 ^ 0xFF, 5 }, await ReadAsync(stream, 5, TimeSpan.FromSeconds(5)));
    }

    [Fact(Timeout = 10_000)]
    public async Task Drop_after_N_bytes_forwards_N_then_cuts()
    {
        await using var echo = new Echo();
        await using var proxy = new FaultProxy(echo.EndPoint) { Fault = new ProxyFault(ProxyDirection.ToTarget, DropAfterBytes: 4) };
        using var client = new TcpClient();
        await client.ConnectAsync(proxy.Start());
        var stream = client.GetStream();
        await stream.WriteAsync(new byte[] { 1, 2, 3, 4, 5, 6 });
        byte[] got;
        try
        {
            got = await ReadAsync(stream, 6, TimeSpan.FromSeconds(5));
        }
        catch (IOException)
        {
            got = [];
        }

        Assert.True(got.Length <= 4);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }[..got.Length], got);
        await WaitUntilAsync(() => proxy.OpenCount == 0);
    }

    [Fact(Timeout = 10_000)]
    public async Task Stall_holds_bytes_until_lifted_and_delay_holds_them_for_the_delay()
    {
        await using var echo = new Echo();
        await using var proxy = new FaultProxy(echo.EndPoint) { Fault = new ProxyFault(Stall: true) };
        using var client = new TcpClient();
        await client.ConnectAsync(proxy.Start());
        var stream = client.GetStream();
        await stream.WriteAsync(new byte[] { 9 });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ReadAsync(stream, 1, TimeSpan.FromMilliseconds(300)));
        proxy.Fault = new ProxyFault(Delay: TimeSpan.FromMilliseconds(200));
        var clock = Stopwatch.StartNew();
        Assert.Equal(new byte[] { 9 }, await ReadAsync(stream, 1, TimeSpan.FromSeconds(5)));
        await stream.WriteAsync(new byte[] { 7 });
        Assert.Equal(new byte[] { 7 }, await ReadAsync(stream, 1, TimeSpan.FromSeconds(5)));
        Assert.True(clock.ElapsedMilliseconds >= 350, $"{clock.ElapsedMilliseconds} ms");
    }

    [Fact(Timeout = 10_000)]
    public async Task Cut_resets_live_connections_and_refuse_closes_new_ones()
    {
        await using var echo = new Echo();
        await using var proxy = new FaultProxy(echo.EndPoint);
        var endPoint = proxy.Start();
        using var client = new TcpClient();
        await client.ConnectAsync(endPoint);
        await WaitUntilAsync(() => proxy.OpenCount == 1);
        proxy.CutAll();
        var stream = client.GetStream();
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            var n = await stream.ReadAsync(new byte[1]);
            if (n == 0)
            {
                throw new EndOfStreamException();
            }
        });

        proxy.Fault = new ProxyFault(RefuseNew: true);
        using var refused = new TcpClient();
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await refused.ConnectAsync(endPoint); // may already fail: the reset can beat the handshake
            var n = await refused.GetStream().ReadAsync(new byte[1]);
            if (n == 0)
            {
                throw new EndOfStreamException();
            }
        });
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), "timed out");
            await Task.Delay(10);
        }
    }
}

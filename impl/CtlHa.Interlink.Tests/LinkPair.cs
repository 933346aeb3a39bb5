using System.Net;
using CtlHa.Wire;

namespace CtlHa.Interlink.Tests;

/// <summary>Two real links on 127.0.0.1 (A listens on port 0, B connects), run until disposed.</summary>
public sealed class LinkPair : IAsyncDisposable
{
    public static readonly byte[] Key = Enumerable.Range(0, 32).Select(i => (byte)(i * 7)).ToArray();

    private readonly CancellationTokenSource _stopA = new();
    private readonly CancellationTokenSource _stopB = new();

    public LinkPair(Action<InterlinkOptions>? configureA = null, Action<InterlinkOptions>? configureB = null, InterlinkMessage[]? syncA = null, InterlinkMessage[]? syncB = null)
    {
        OptionsA = Fast(1, new InterlinkEndpoint(InterlinkSide.Listen, new IPEndPoint(IPAddress.Loopback, 0)));
        configureA?.Invoke(OptionsA);
        HandlerA = new RecordingHandler(syncA ?? []);
        A = new InterlinkLink(OptionsA, HandlerA);
        HandlerA.Link = A;
        A.Transitioned += t => TraceA.Enqueue(t);
        HandlerB = new RecordingHandler(syncB ?? []);
        ConfigureB = configureB;
    }

    public InterlinkOptions OptionsA { get; }

    public InterlinkOptions? OptionsB { get; private set; }

    public InterlinkLink A { get; }

    public InterlinkLink? B { get; private set; }

    public RecordingHandler HandlerA { get; }

    public RecordingHandler HandlerB { get; }

    public Action<InterlinkOptions>? ConfigureB { get; }

    public System.Collections.Concurrent.ConcurrentQueue<InterlinkTransition> TraceA { get; } = new();

    public System.Collections.Concurrent.ConcurrentQueue<InterlinkTransition> TraceB { get; } = new();

    public Task? RunA { get; private set; }

    public Task? RunB { get; private set; }

    public static InterlinkOptions Fast(byte nodeId, InterlinkEndpoint peer) => new()
    {
        NodeId = nodeId,
        Mode = HaMode.Proxy,
        ClusterName = "test",
        Peer = peer,
        Psk = Key,
        HeartbeatInterval = TimeSpan.FromMilliseconds(50),
        DeadAfter = TimeSpan.FromMilliseconds(400),
        HandshakeTimeout = TimeSpan.FromSeconds(2),
        BackoffInitial = TimeSpan.FromMilliseconds(20),
        BackoffMax = TimeSpan.FromMilliseconds(200),
    };

    public async Task<IPEndPoint> StartAsync()
    {
        RunA = A.RunAsync(_stopA.Token);
        var endPoint = await A.ListeningAsync.WaitAsync(TimeSpan.FromSeconds(5));
        OptionsB = Fast(2, new InterlinkEndpoint(InterlinkSide.Connect, endPoint));
        ConfigureB?.Invoke(OptionsB);
        B = new InterlinkLink(OptionsB, HandlerB);
        HandlerB.Link = B;
        B.Transitioned += t => TraceB.Enqueue(t);
        RunB = B.RunAsync(_stopB.Token);
        return endPoint;
    }

    public async Task StopBAsync()
    {
        await _stopB.CancelAsync();
        await RunB!.WaitAsync(TimeSpan.FromSeconds(5));
    }

    public async ValueTask DisposeAsync()
    {
        await _stopA.CancelAsync();
        await _stopB.CancelAsync();
        foreach (var task in new[] { RunA, RunB })
        {
            if (task is not null)
            {
                await task.WaitAsync(TimeSpan.FromSeconds(5));
            }
        }

        _stopA.Dispose();
        _stopB.Dispose();
    }
}

public static class Eventually
{
    public static async Task TrueAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out after {timeout.TotalSeconds} s waiting for {what}");
            }

            await Task.Delay(10);
        }
    }
}

using System.Net;

namespace CtlHa.Interlink.Tests;

/// <summary>The listen side's pause after a rejection is fixed (BackoffInitial, ≤ 0.5 s) and does not grow (spec LinkPhase.Rejected).</summary>
public sealed class ListenRejectionTests
{
    [Fact(Timeout = 60_000)]
    public async Task Repeated_rejections_never_grow_the_listen_sides_pause_and_a_fixed_peer_links_at_once()
    {
        var listen = LinkPair.Fast(1, new InterlinkEndpoint(InterlinkSide.Listen, new IPEndPoint(IPAddress.Loopback, 0)));
        listen.BackoffInitial = TimeSpan.FromMilliseconds(250);
        listen.BackoffMax = TimeSpan.FromSeconds(4); // a growing back-off would reach seconds after a few rejections
        var handler = new RecordingHandler();
        var link = new InterlinkLink(listen, handler);
        handler.Link = link;
        var trace = new System.Collections.Concurrent.ConcurrentQueue<(InterlinkTransition T, DateTime At)>();
        link.Transitioned += t => trace.Enqueue((t, DateTime.UtcNow));
        using var stop = new CancellationTokenSource();
        var run = link.RunAsync(stop.Token);
        var endPoint = await link.ListeningAsync.WaitAsync(TimeSpan.FromSeconds(5));

        // A connect side with another mode: rejected over and over (its own back-off capped low to retry often).
        var wrong = LinkPair.Fast(2, new InterlinkEndpoint(InterlinkSide.Connect, endPoint));
        wrong.Mode = CtlHa.Wire.HaMode.Shared;
        var wrongLink = new InterlinkLink(wrong, new RecordingHandler());
        using var stopWrong = new CancellationTokenSource();
        var runWrong = wrongLink.RunAsync(stopWrong.Token);
        await Eventually.TrueAsync(() => trace.Count(x => x.T.To == InterlinkPhase.Rejected) >= 6, TimeSpan.FromSeconds(20), "six rejections");
        await stopWrong.CancelAsync();
        await runWrong.WaitAsync(TimeSpan.FromSeconds(5));

        var entries = trace.ToArray();
        var dwell = new List<double>();
        for (var i = 1; i < entries.Length; i++)
        {
            if (entries[i].T.From == InterlinkPhase.Rejected && entries[i].T.Trigger == InterlinkTrigger.RetryTimerFired)
            {
                dwell.Add((entries[i].At - entries[i - 1].At).TotalMilliseconds);
            }
        }

        Assert.True(dwell.Count >= 5, $"only {dwell.Count} rejection pauses seen");
        // The first pause in a fresh test process has measured ~1 s (thread-pool warm-up; a running node shows 250 ms
        // for its first one too), so it only gets the loose bound. From the second on a growing back-off would give
        // >= 400, 800, 1600, 3200 ms (jitter 0.8-1.2), a fixed pause stays at BackoffInitial; 1.2 s leaves room for a loaded machine.
        Assert.True(dwell[0] <= 1_500 && dwell.Skip(1).All(ms => ms is >= 150 and <= 1_200), string.Join("; ", entries.Select(e => $"{e.At:ss.fff} {e.T.From}->{e.T.To} {e.T.Trigger}")) + " pauses (ms): " + string.Join(", ", dwell.Select(d => d.ToString("F0", System.Globalization.CultureInfo.InvariantCulture))));

        // The fixed peer is accepted straight away.
        var good = LinkPair.Fast(2, new InterlinkEndpoint(InterlinkSide.Connect, endPoint));
        var goodHandler = new RecordingHandler();
        var goodLink = new InterlinkLink(good, goodHandler);
        goodHandler.Link = goodLink;
        var started = DateTime.UtcNow;
        var runGood = goodLink.RunAsync(stop.Token);
        await Eventually.TrueAsync(() => link.IsOnline && goodLink.IsOnline, TimeSpan.FromSeconds(5), "the fixed peer online");
        var online = DateTime.UtcNow - started;
        Assert.True(online < TimeSpan.FromSeconds(2), $"online after {online.TotalMilliseconds} ms");
        await stop.CancelAsync();
        await Task.WhenAll(run, runGood).WaitAsync(TimeSpan.FromSeconds(5));
    }
}

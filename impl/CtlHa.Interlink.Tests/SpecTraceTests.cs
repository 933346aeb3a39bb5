using System.Net;
using System.Net.Sockets;
using CtlHa.Wire;
using LinkLifecycleSpec = CtlHa.Spec.LinkLifecycleSpec;
using LinkPhase = CtlHa.Spec.LinkPhase;
using LinkTrigger = CtlHa.Spec.LinkTrigger;

namespace CtlHa.Interlink.Tests;

/// <summary>
/// Random lifecycle traces on two real links over loopback, B reaching A through a <see cref="Relay"/> (kill either
/// side, wrong key, mismatched mode, reconfigure to a dead address and back, cut the connection, stall it past the
/// dead-peer interval, delay it below that interval): every <see cref="InterlinkLink.Transitioned"/> event is replayed into
/// the spec's <see cref="LinkLifecycleSpec"/>, must be permitted there and land in the same phase, and a trace
/// that ends with a good configuration ends Online on both sides.
/// </summary>
public sealed class SpecTraceTests
{
    private enum Step
    {
        KillA,
        KillB,
        WrongKeyB,
        WrongModeB,
        ReconfigureBAway,
        Cut,
        Stall,
        Delay,
    }

    [Theory(Timeout = 120_000)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public async Task Every_transition_of_a_random_lifecycle_trace_is_permitted_by_the_spec(int seed)
    {
        var random = new Random(seed);
        var port = FreePort();
        var listenAt = new IPEndPoint(IPAddress.Loopback, port);
        await using var relay = new Relay(listenAt);
        var viaRelay = relay.EndPoint;
        await using var a = new Incarnations("A", () => LinkPair.Fast(1, new InterlinkEndpoint(InterlinkSide.Listen, listenAt)));
        await using var b = new Incarnations("B", () => LinkPair.Fast(2, new InterlinkEndpoint(InterlinkSide.Connect, viaRelay)));
        a.Start();
        b.Start();
        await BothOnlineAsync(a, b);

        var steps = Enumerable.Range(0, 8).Select(_ => (Step)random.Next(Enum.GetValues<Step>().Length)).ToArray();
        foreach (var step in steps)
        {
            switch (step)
            {
                case Step.KillA:
                    await a.StopAsync();
                    await Eventually.TrueAsync(() => !b.Link!.IsOnline, TimeSpan.FromSeconds(2), "B to see A go");
                    a.Start();
                    break;
                case Step.KillB:
                    await b.StopAsync();
                    await Eventually.TrueAsync(() => !a.Link!.IsOnline, TimeSpan.FromSeconds(2), "A to see B go");
                    b.Start();
                    break;
                case Step.WrongKeyB:
                    await b.StopAsync();
                    await Eventually.TrueAsync(() => !a.Link!.IsOnline, TimeSpan.FromSeconds(2), "A to see B go");
                    var beforeKey = a.Link!.LastRejection;
                    b.Start(o => o.Psk = [.. Enumerable.Repeat((byte)0x5a, 32)]);
                    await Eventually.TrueAsync(() => a.Link!.LastRejection is { Trigger: InterlinkTrigger.AuthFailed } r && !ReferenceEquals(r, beforeKey), TimeSpan.FromSeconds(3), "A to reject B's key");
                    Assert.False(a.Link!.IsOnline);
                    await b.StopAsync();
                    b.Start();
                    break;
                case Step.WrongModeB:
                    await b.StopAsync();
                    await Eventually.TrueAsync(() => !a.Link!.IsOnline, TimeSpan.FromSeconds(2), "A to see B go");
                    var beforeMode = a.Link!.LastRejection;
                    b.Start(o => o.Mode = HaMode.Shared);
                    await Eventually.TrueAsync(() => b.Link!.LastRejection?.Trigger == InterlinkTrigger.ModeMismatch, TimeSpan.FromSeconds(3), "B to report the mode mismatch");
                    await Eventually.TrueAsync(() => a.Link!.LastRejection is { Trigger: InterlinkTrigger.ModeMismatch } r && !ReferenceEquals(r, beforeMode), TimeSpan.FromSeconds(3), "A to report the mode mismatch");
                    Assert.False(a.Link!.IsOnline || b.Link!.IsOnline);
                    await b.StopAsync();
                    b.Start();
                    break;
                case Step.ReconfigureBAway:
                    b.Link!.Reconfigure(new InterlinkEndpoint(InterlinkSide.Connect, new IPEndPoint(IPAddress.Loopback, FreePort())));
                    await Eventually.TrueAsync(() => !a.Link!.IsOnline && !b.Link.IsOnline, TimeSpan.FromSeconds(2), "the link to drop after reconfigure");
                    b.Link.Reconfigure(new InterlinkEndpoint(InterlinkSide.Connect, viaRelay));
                    break;
                case Step.Cut:
                    relay.Cut();
                    await Eventually.TrueAsync(() => !a.Link!.IsOnline || !b.Link!.IsOnline, TimeSpan.FromSeconds(2), "a side to see the cut");
                    break;
                case Step.Stall:
                    // Half-open: nothing flows, nothing closes; both sides must declare the peer dead (400 ms here).
                    relay.Stall();
                    await Eventually.TrueAsync(() => !a.Link!.IsOnline && !b.Link!.IsOnline, TimeSpan.FromSeconds(3), "both sides to declare the stalled peer dead");
                    relay.Cut();
                    relay.Resume();
                    break;
                case Step.Delay:
                    // 60 ms of extra latency each way is far below the dead-peer interval: no transition at all.
                    int before = a.Transitions + b.Transitions;
                    relay.Delay = TimeSpan.FromMilliseconds(60);
                    await Task.Delay(TimeSpan.FromMilliseconds(600));
                    relay.Delay = TimeSpan.Zero;
                    Assert.True(a.Link!.IsOnline && b.Link!.IsOnline, "a delayed link stays online");
                    Assert.Equal(before, a.Transitions + b.Transitions);
                    break;
            }

            await BothOnlineAsync(a, b);
        }

        a.AssertReplayed(LinkPhase.Online);
        b.AssertReplayed(LinkPhase.Online);
    }

    private static async Task BothOnlineAsync(Incarnations a, Incarnations b) =>
        await Eventually.TrueAsync(() => a.Link!.IsOnline && b.Link!.IsOnline, TimeSpan.FromSeconds(5), "both links online");

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Successive runs of one node's link; each incarnation replays into a fresh spec machine.</summary>
    private sealed class Incarnations(string name, Func<InterlinkOptions> options) : IAsyncDisposable
    {
        private readonly Lock _gate = new();
        private readonly List<string> _violations = [];
        private LinkLifecycleSpec _spec = new();
        private CancellationTokenSource? _stop;
        private Task? _run;
        private int _transitions;

        public InterlinkLink? Link { get; private set; }

        public int Transitions
        {
            get
            {
                lock (_gate)
                {
                    return _transitions;
                }
            }
        }

        public void Start(Action<InterlinkOptions>? tweak = null)
        {
            var o = options();
            tweak?.Invoke(o);
            var spec = new LinkLifecycleSpec();
            var link = new InterlinkLink(o, new RecordingHandler());
            link.Transitioned += t => Replay(spec, t);
            lock (_gate)
            {
                _spec = spec;
            }

            Link = link;
            _stop = new CancellationTokenSource();
            _run = link.RunAsync(_stop.Token);
        }

        public async Task StopAsync()
        {
            await _stop!.CancelAsync();
            await _run!.WaitAsync(TimeSpan.FromSeconds(5));
            _stop.Dispose();
            lock (_gate)
            {
                if (_spec.Phase != LinkPhase.Unconfigured)
                {
                    _violations.Add($"{name}: stopped link ended in spec phase {_spec.Phase}, not Unconfigured");
                }
            }
        }

        public void AssertReplayed(LinkPhase expectedEnd)
        {
            lock (_gate)
            {
                Assert.True(_violations.Count == 0, string.Join(Environment.NewLine, _violations));
                Assert.True(_transitions > 0, $"{name}: no transitions observed");
                Assert.Equal(expectedEnd, _spec.Phase);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_run is not null && !_run.IsCompleted)
            {
                await StopAsync();
            }
        }

        private void Replay(LinkLifecycleSpec spec, InterlinkTransition t)
        {
            var trigger = Enum.Parse<LinkTrigger>(t.Trigger.ToString());
            var from = Enum.Parse<LinkPhase>(t.From.ToString());
            var to = Enum.Parse<LinkPhase>(t.To.ToString());
            lock (_gate)
            {
                _transitions++;
                if (spec.Phase != from)
                {
                    _violations.Add($"{name}: link went {t.From} -> {t.To} on {t.Trigger} but the spec is in {spec.Phase}");
                    return;
                }

                if (!spec.CanFire(trigger))
                {
                    _violations.Add($"{name}: spec does not permit {t.Trigger} in {spec.Phase}");
                    return;
                }

                spec.Fire(trigger);
                if (spec.Phase != to)
                {
                    _violations.Add($"{name}: {t.Trigger} from {t.From}: link went to {t.To}, spec to {spec.Phase}");
                }
            }
        }
    }
}

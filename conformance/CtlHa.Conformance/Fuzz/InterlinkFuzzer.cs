using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using CtlHa.Conformance.Interlink;
using CtlHa.Wire;

namespace CtlHa.Conformance.Fuzz;

/// <summary>Bounds and target of one fuzz run.</summary>
public sealed class InterlinkFuzzOptions
{
    /// <summary>The node's interlink listen address (the node runs <c>--peer listen:…</c>).</summary>
    public required IPEndPoint EndPoint { get; init; }

    /// <summary>The pair's key; null for a node run with allow-unauthenticated (post-login rounds need one or the other).</summary>
    public byte[]? Psk { get; init; }

    /// <summary>Stop after this many hostile frames have been written.</summary>
    public long Frames { get; init; } = 100_000;

    /// <summary>Stop after this long whatever the count (the run is always bounded).</summary>
    public TimeSpan MaxDuration { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Hostile frames written per connection before it is closed (the node usually drops it sooner).</summary>
    public int FramesPerConnection { get; init; } = 64;

    /// <summary>Seed for reproducible runs.</summary>
    public int Seed { get; init; } = Environment.TickCount;

    /// <summary>Per-step timeout for handshakes and the final health check.</summary>
    public TimeSpan StepTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>What a fuzz run did and whether the node was healthy at the end.</summary>
public sealed record InterlinkFuzzResult(
    long Frames,
    long Connections,
    long PreAuthConnections,
    long PostLoginConnections,
    long FailedLogins,
    long NodeDrops,
    TimeSpan Elapsed,
    string? HealthFailure)
{
    public bool Healthy => HealthFailure is null;

    public double FramesPerSecond => Elapsed.TotalSeconds > 0 ? Frames / Elapsed.TotalSeconds : 0;

    public override string ToString() =>
        $"{Frames} hostile frames over {Connections} connections ({PreAuthConnections} pre-auth, {PostLoginConnections} post-login, "
        + $"{FailedLogins} logins that failed, {NodeDrops} dropped by the node) in {Elapsed.TotalSeconds:F1} s "
        + $"({FramesPerSecond:F0} frames/s); node {(Healthy ? "healthy" : "NOT healthy: " + HealthFailure)}";
}

/// <summary>
/// A bounded hostile peer (issue 4): against a listening node, alternates connections that send pre-auth garbage
/// (random bytes, random/oversized/zero length prefixes, truncated and trailing-byte frames) with connections that
/// authenticate and log in correctly and then send mutated copies of the node's own valid messages (bit flips, byte
/// overwrites, out-of-range integers, wrong lengths, unknown union keys). Frames are counted as written; the node
/// is expected to drop each bad connection and keep listening. At the end a good handshake must still succeed.
/// </summary>
public sealed class InterlinkFuzzer
{
    private readonly InterlinkFuzzOptions _options;
    private readonly Random _random;
    private readonly List<byte[]> _seeds = [];

    public InterlinkFuzzer(InterlinkFuzzOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _random = new Random(options.Seed);
    }

    /// <summary>Optional progress callback (frames so far), called once per connection.</summary>
    public Action<long>? Progress { get; set; }

    public async Task<InterlinkFuzzResult> RunAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        long frames = 0, connections = 0, preAuth = 0, postLogin = 0, failedLogins = 0, drops = 0;
        while (frames < _options.Frames && clock.Elapsed < _options.MaxDuration && !cancellationToken.IsCancellationRequested)
        {
            connections++;
            var loggedIn = _random.Next(2) == 0 && (_options.Psk is not null || _seeds.Count > 0);
            await using var peer = await ConnectWithRetryAsync(cancellationToken).ConfigureAwait(false);
            if (loggedIn)
            {
                var login = await LogInAsync(peer).ConfigureAwait(false);
                if (login is not null)
                {
                    failedLogins++;
                    loggedIn = false;
                }
            }

            if (loggedIn)
            {
                postLogin++;
            }
            else
            {
                preAuth++;
            }

            var count = Math.Min(_options.FramesPerConnection, (int)Math.Min(int.MaxValue, _options.Frames - frames));
            var batch = new List<byte>(count * 64);
            for (var i = 0; i < count; i++)
            {
                batch.AddRange(loggedIn ? MutatedValidFrame() : PreAuthGarbage());
            }

            try
            {
                // One write per batch: the node sees back-to-back frames, the way a hostile peer would pipeline them.
                await peer.SendRawAsync([.. batch], cancellationToken).ConfigureAwait(false);
                frames += count;
            }
            catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
            {
                // The node dropped us mid-batch: count nothing partial, it is a drop.
                drops++;
                continue;
            }

            var (closed, _) = await peer.WaitClosedAsync(TimeSpan.FromMilliseconds(loggedIn ? 300 : 100)).ConfigureAwait(false);
            if (closed)
            {
                drops++;
            }

            Progress?.Invoke(frames);
        }

        var health = await CheckHealthAsync(cancellationToken).ConfigureAwait(false);
        return new InterlinkFuzzResult(frames, connections, preAuth, postLogin, failedLogins, drops, clock.Elapsed, health);
    }

    /// <summary>A good handshake (auth + Login + a message from the node) must still succeed. Null when it does.</summary>
    public async Task<string?> CheckHealthAsync(CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        string? last = null;
        while (deadline.Elapsed < _options.StepTimeout * 2)
        {
            try
            {
                await using var peer = await ConnectWithRetryAsync(cancellationToken).ConfigureAwait(false);
                last = await LogInAsync(peer).ConfigureAwait(false);
                if (last is null)
                {
                    var message = await peer.ReceiveAsync(_options.StepTimeout).ConfigureAwait(false);
                    if (message is not null and not Goodbye)
                    {
                        return null;
                    }

                    last = $"node sent {message?.GetType().Name ?? "nothing"} after a good Login";
                }
            }
            catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or TimeoutException)
            {
                last = ex.Message;
            }

            // The node may still be pausing after the last hostile connection (≤ 0.5 s on the listen side).
            await Task.Delay(250, cancellationToken).ConfigureAwait(false);
        }

        return last ?? "no good handshake within the step timeout";
    }

    private async Task<InterlinkFakePeer> ConnectWithRetryAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await InterlinkFakePeer.ConnectAsync(_options.EndPoint, cancellationToken).ConfigureAwait(false);
            }
            catch (System.Net.Sockets.SocketException) when (clock.Elapsed < _options.StepTimeout)
            {
                await Task.Delay(50, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Authenticates and logs in as the node's mirror; keeps what the node sends as mutation seeds.</summary>
    private async Task<string?> LogInAsync(InterlinkFakePeer peer)
    {
        try
        {
            var auth = await peer.AuthenticateAsync(_options.Psk, _options.StepTimeout).ConfigureAwait(false);
            if (auth is not null)
            {
                return auth;
            }

            var nodeLogin = await peer.ExchangeLoginAsync(InterlinkFakePeer.MirrorOf, _options.StepTimeout).ConfigureAwait(false);
            if (nodeLogin is null)
            {
                return "node sent no Login";
            }

            if (_seeds.Count < 64)
            {
                _seeds.Add(InterlinkFakePeer.RawFrame(nodeLogin));
                if (await peer.ReceiveAsync(TimeSpan.FromMilliseconds(500)).ConfigureAwait(false) is { } first)
                {
                    _seeds.Add(InterlinkFakePeer.RawFrame(first));
                }
            }

            return null;
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or TimeoutException)
        {
            return ex.Message;
        }
    }

    private byte[] PreAuthGarbage()
    {
        switch (_random.Next(6))
        {
            case 0:
                // Pure random bytes (the length prefix is whatever they say).
                return RandomBytes(_random.Next(1, 128));
            case 1:
                // An oversized length prefix (beyond the handshake and the online caps).
                return Frame(RandomBytes(_random.Next(0, 32)), declaredLength: (uint)_random.Next(WireLimits.HandshakeMaxFrameLength + 1, int.MaxValue));
            case 2:
                // Zero length.
                return Frame([], declaredLength: 0);
            case 3:
                // A valid AuthChallenge, truncated.
                var challenge = InterlinkFakePeer.RawFrame(new AuthChallenge(AuthMethod.HmacSha256Psk, InterlinkAuth.NewNonce()));
                return challenge[..(_random.Next(1, challenge.Length))];
            case 4:
                // A valid AuthChallenge with trailing bytes inside the frame.
                var payload = InterlinkFakePeer.RawFrame(new AuthChallenge(AuthMethod.HmacSha256Psk, InterlinkAuth.NewNonce()))[4..];
                return Frame([.. payload, .. RandomBytes(_random.Next(1, 16))]);
            default:
                // A well-framed random MessagePack-ish payload with an unknown union key.
                return Frame([0x92, (byte)_random.Next(100, 128), .. RandomBytes(_random.Next(0, 48))]);
        }
    }

    private byte[] MutatedValidFrame()
    {
        var seed = _seeds.Count > 0 ? _seeds[_random.Next(_seeds.Count)] : InterlinkFakePeer.RawFrame(new Heartbeat(1, 0, 0));
        var payload = seed[4..];
        switch (_random.Next(6))
        {
            case 0:
                // Bit flips.
                for (var i = _random.Next(1, 4); i > 0; i--)
                {
                    payload[_random.Next(payload.Length)] ^= (byte)(1 << _random.Next(8));
                }

                return Frame(payload);
            case 1:
                // Byte overwrites with edge values (MessagePack uint64/int64 markers, nil, 0xFF): out-of-range fields.
                byte[] edges = [0xcf, 0xd3, 0xc0, 0xff, 0x00, 0x7f, 0xcc];
                payload[_random.Next(payload.Length)] = edges[_random.Next(edges.Length)];
                return Frame(payload);
            case 2:
                // Length says more than there is (the next frame's bytes get swallowed).
                return Frame(payload, declaredLength: (uint)(payload.Length + _random.Next(1, 64)));
            case 3:
                // Truncated payload with an honest length.
                return Frame(payload[..Math.Max(0, payload.Length - _random.Next(1, payload.Length + 1))]);
            case 4:
                // Trailing bytes after a valid message.
                return Frame([.. payload, .. RandomBytes(_random.Next(1, 8))]);
            default:
                // A valid message with its union key replaced by an unknown one.
                if (payload.Length > 1)
                {
                    payload[1] = (byte)_random.Next(100, 128);
                }

                return Frame(payload);
        }
    }

    private byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        _random.NextBytes(bytes);
        return bytes;
    }

    // Frame (PROTOCOL.md §3): 4-byte big-endian payload length, then the payload.
    private static byte[] Frame(byte[] payload, uint? declaredLength = null)
    {
        var frame = new byte[4 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, declaredLength ?? (uint)payload.Length);
        payload.CopyTo(frame, 4);
        return frame;
    }
}

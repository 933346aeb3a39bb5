using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using CtlHa.Conformance.Node;
using CtlHa.Conformance.Suites.Adapters;
using CtlHa.Spec;
using FsCheck;
using FsCheck.Fluent;

namespace CtlHa.Conformance.Suites;

/// <summary>Which pre-shared key a node is given: one of two keys, or none (<c>--allow-unauthenticated</c>).</summary>
public enum HandshakeKey
{
    None,
    K1,
    K2,
}

/// <summary>One node's interlink configuration as the <c>ctlha node</c> flags express it.</summary>
public sealed record HandshakeSide(int HaId, HaMode Mode, string Cluster, HandshakeKey Key)
{
    public string ModeName => Mode.ToString().ToLowerInvariant();

    /// <summary>The Login this node sends (version and limits are not settable from the CLI: both send the defaults).</summary>
    public LoginParameters Login => new(1, Mode, HaId, Cluster, 0, 0, 0);

    public override string ToString() =>
        $"--ha-id {HaId} --mode {ModeName} --cluster {Cluster} {(Key == HandshakeKey.None ? "--allow-unauthenticated" : $"--psk-file {Key.ToString().ToLowerInvariant()}")}";
}

/// <summary>What the spec says two configurations do when they meet: link, or which check rejects them.</summary>
/// <param name="Online">Both links come online.</param>
/// <param name="Authentication">Rejected by the PSK exchange (keys differ, or one side has none).</param>
/// <param name="Login">Rejected by Login: the first mismatch in LoginValidation order (null when not a Login rejection).</param>
public sealed record HandshakeExpectation(bool Online, bool Authentication, LinkTrigger? Login)
{
    public override string ToString() => Online ? "link online" : Authentication ? "rejected by authentication" : $"rejected by Login: {LoginValidation.FieldName(Login!.Value)} ({Login})";
}

/// <summary>One cell of the matrix: node A listens, node B connects.</summary>
public sealed record HandshakeCase(string Why, HandshakeSide A, HandshakeSide B)
{
    /// <summary>
    /// The expectation: keys first (DESIGN.md: mutual PSK authentication precedes Login; an unauthenticated link needs
    /// both sides to allow it), then <see cref="LoginValidation.Compare"/> of the spec.
    /// </summary>
    public HandshakeExpectation Expected
    {
        get
        {
            if (A.Key != B.Key)
            {
                return new(false, true, null);
            }

            var trigger = LoginValidation.Compare(A.Login, B.Login);
            return trigger == LinkTrigger.LoginMatched ? new(true, false, null) : new(false, false, trigger);
        }
    }

    public override string ToString() => Why;
}

/// <summary>
/// The interlink handshake matrix (issue 6, from the interlink issue): pairs of configurations × expected link
/// outcome. For each generated pair it starts two real <c>ctlha node</c> processes (A listens, B connects) and checks,
/// through both control APIs, that the link comes online iff the spec calls the pair compatible, and otherwise that
/// both nodes name the mismatched field and both values (or the authentication failure). Max LUNs/ports/initiators
/// are not settable from the CLI, so those Login fields are left to the interlink's own tests.
/// </summary>
public sealed class HandshakeMatrixSuite : IConformanceSuite
{
    /// <summary>The link must come online, or both rejections appear, within this (heartbeat 1 s, reconnect backoff).</summary>
    public static TimeSpan VerdictTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>At most this many cases per run, whatever the budget (the matrix is small; 3 modes × few fields).</summary>
    public int MaxCases { get; init; } = 40;

    public string Name => "handshake-matrix";

    public string Description => "interlink config pairs × expected link outcome (spec LoginValidation), two real ctlha nodes per case";

    public SuiteNeeds Needs => SuiteNeeds.OwnNodes;

    /// <summary>The cases of a run with <paramref name="seed"/>: a compatible baseline first, then mutations, no repeats.</summary>
    public static IReadOnlyList<HandshakeCase> CasesFor(int seed, int count)
    {
        var cases = new List<HandshakeCase>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var samples = CaseGen().Sample(10, new Rnd((ulong)(uint)seed), Math.Max(count * 4, 8));
        foreach (var c in samples.Prepend(Baseline(seed)))
        {
            if (cases.Count >= count)
            {
                break;
            }

            if (seen.Add($"{c.A}|{c.B}"))
            {
                cases.Add(c);
            }
        }

        return cases;
    }

    public async Task<SuiteResult> RunAsync(SuiteContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var clock = Stopwatch.StartNew();
        var failures = new List<SuiteFailure>();
        var keyDir = Path.Combine(Path.GetTempPath(), "ctlha-hs-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(keyDir);
        var keys = new Dictionary<HandshakeKey, string>
        {
            [HandshakeKey.K1] = WriteKey(keyDir, "k1"),
            [HandshakeKey.K2] = WriteKey(keyDir, "k2"),
        };
        var cases = CasesFor(context.Seed, MaxCases);
        int done = 0;
        long operations = 0;
        var estimate = TimeSpan.FromSeconds(4);
        try
        {
            foreach (var c in cases)
            {
                // Always run one case; after that only start one that should end before the deadline.
                if (done > 0 && DateTimeOffset.UtcNow + estimate > context.Deadline)
                {
                    break;
                }

                context.Progress(new SuiteProgress(done, operations, failures.Count, c.Why));
                var caseClock = Stopwatch.StartNew();
                var (trace, error, ops) = await RunCaseAsync(c, keys, context.Log, cancellationToken).ConfigureAwait(false);
                operations += ops;
                done++;
                estimate = TimeSpan.FromTicks(Math.Max(estimate.Ticks, caseClock.Elapsed.Ticks));
                if (error is not null)
                {
                    failures.Add(new SuiteFailure($"case {done}: {c.Why}", error, trace, $"case {done} of seed {context.Seed}"));
                }

                context.Log($"case {done} {c.Why}: {(error is null ? "ok" : "FAIL " + error)} ({caseClock.Elapsed.TotalSeconds:F1}s)");
                context.Progress(new SuiteProgress(done, operations, failures.Count, null));
            }
        }
        finally
        {
            try
            {
                Directory.Delete(keyDir, recursive: true);
            }
            catch (IOException)
            {
                // A leftover temp key directory is harmless.
            }
        }

        return new SuiteResult(Name, done, operations, failures, clock.Elapsed);
    }

    /// <summary>Runs one case on two fresh nodes: the trace lines, the failure (null = as the spec says) and the operations (status reads that gave the verdict).</summary>
    public static async Task<(IReadOnlyList<string> Trace, string? Error, long Operations)> RunCaseAsync(HandshakeCase c,
        IReadOnlyDictionary<HandshakeKey, string> keyFiles, Action<string> log, CancellationToken cancellationToken)
    {
        var expected = c.Expected;
        var trace = new List<string>
        {
            $"A: ctlha node {c.A} --peer listen:127.0.0.1:P",
            $"B: ctlha node {c.B} --peer connect:127.0.0.1:P",
            $"spec: {expected}",
        };
        var port = FreeLoopbackPort();
        NodeProcess? a = null, b = null;
        string? error = null;
        long operations = 0;
        try
        {
            var startA = NodeProcess.StartAsync(Options(c.A, $"listen:127.0.0.1:{port}", keyFiles), cancellationToken);
            var startB = NodeProcess.StartAsync(Options(c.B, $"connect:127.0.0.1:{port}", keyFiles), cancellationToken);
            try
            {
                await Task.WhenAll(startA, startB).ConfigureAwait(false);
            }
            catch (NodeStartException e)
            {
                a = startA.IsCompletedSuccessfully ? startA.Result : null;
                b = startB.IsCompletedSuccessfully ? startB.Result : null;
                trace.Add($"node did not start: {FirstLines(e.Message, 3)}");
                return (trace, "a node refused the configuration (every case here is a valid single-node configuration)", operations);
            }

            a = startA.Result;
            b = startB.Result;
            // A loaded machine can make a node's first control request slow (JIT): a request that fails inside the
            // verdict window is retried, and only a window without any answer is the node's fault.
            using var controlA = new ControlApiClient(new Uri($"http://127.0.0.1:{a.ControlPort}/"), TimeSpan.FromSeconds(10));
            using var controlB = new ControlApiClient(new Uri($"http://127.0.0.1:{b.ControlPort}/"), TimeSpan.FromSeconds(10));
            var wait = Stopwatch.StartNew();
            ControlStatus? sa = null, sb = null;
            ControlApiException? unanswered = null;
            while (wait.Elapsed < VerdictTimeout)
            {
                try
                {
                    sa = await controlA.GetStatusAsync(cancellationToken).ConfigureAwait(false);
                    sb = await controlB.GetStatusAsync(cancellationToken).ConfigureAwait(false);
                    unanswered = null;
                }
                catch (ControlApiException e)
                {
                    unanswered = e;
                    await Task.Delay(100, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                var online = IsOnline(sa) && IsOnline(sb);
                if (online || (Rejection(sa) is not null && Rejection(sb) is not null))
                {
                    break;
                }

                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }

            if (unanswered is not null && (sa is null || sb is null))
            {
                throw unanswered;
            }

            operations += 2;
            trace.Add($"A: link {sa?.Link?.State ?? "?"}, last rejection: {Rejection(sa) ?? "-"}");
            trace.Add($"B: link {sb?.Link?.State ?? "?"}, last rejection: {Rejection(sb) ?? "-"}");
            error = Judge(c, expected, sa, sb);
            if (error is null && !expected.Online)
            {
                // Rejected both ways; it must stay so (no flapping into online on a retry).
                await Task.Delay(300, cancellationToken).ConfigureAwait(false);
                if (IsOnline(await controlA.GetStatusAsync(cancellationToken).ConfigureAwait(false)) ||
                    IsOnline(await controlB.GetStatusAsync(cancellationToken).ConfigureAwait(false)))
                {
                    error = "the link came online after a rejection";
                }
            }
        }
        catch (ControlApiException e)
        {
            error = "control API: " + e.Message;
        }
        finally
        {
            // Both stop at once (SIGTERM, clean shutdown): half the wait of stopping them one after the other.
            var stops = new[] { (a, "A"), (b, "B") }.Where(n => n.Item1 is not null).Select(async n =>
            {
                try
                {
                    await n.Item1!.DisposeAsync().ConfigureAwait(false);
                    return null;
                }
                catch (NodeLogException e)
                {
                    return $"{n.Item2}: {FirstLines(e.Message, 4)}";
                }
            }).ToList();
            foreach (var complaint in await Task.WhenAll(stops).ConfigureAwait(false))
            {
                if (complaint is not null)
                {
                    error ??= $"node {complaint[0]} logged an unexpected error";
                    trace.Add(complaint);
                }
            }
        }

        log($"{c.Why}: {(error ?? "ok")}");
        return (trace, error, operations);
    }

    /// <summary>Null when both statuses show what <paramref name="expected"/> says; else what differs.</summary>
    public static string? Judge(HandshakeCase c, HandshakeExpectation expected, ControlStatus? a, ControlStatus? b)
    {
        if (a is null || b is null)
        {
            return "no status";
        }

        if (expected.Online)
        {
            return IsOnline(a) && IsOnline(b)
                ? null
                : $"the spec says compatible, but the link is not online within {VerdictTimeout.TotalSeconds:F0}s (A {a.Link?.State}, B {b.Link?.State})";
        }

        if (IsOnline(a) || IsOnline(b))
        {
            return $"the spec says {expected}, but the link came online";
        }

        foreach (var (status, local, peer, name) in new[] { (a, c.A, c.B, "A"), (b, c.B, c.A, "B") })
        {
            var reason = Rejection(status);
            if (reason is null)
            {
                return $"node {name} reports no rejection within {VerdictTimeout.TotalSeconds:F0}s (link {status.Link?.State})";
            }

            if (expected.Authentication)
            {
                if (!reason.Contains("key", StringComparison.OrdinalIgnoreCase) && !reason.Contains("authenticat", StringComparison.OrdinalIgnoreCase))
                {
                    return $"node {name} should report an authentication failure, reports '{reason}'";
                }

                continue;
            }

            var trigger = expected.Login!.Value;
            var field = LoginValidation.FieldName(trigger);
            if (!reason.Contains(field, StringComparison.OrdinalIgnoreCase))
            {
                return $"node {name} should name the field '{field}', reports '{reason}'";
            }

            var (localValue, peerValue) = Values(trigger, local, peer);
            if (!reason.Contains(localValue, StringComparison.Ordinal) || !reason.Contains(peerValue, StringComparison.Ordinal))
            {
                return $"node {name} should give both values ({localValue}, {peerValue}) of '{field}', reports '{reason}'";
            }
        }

        return null;
    }

    private static (string Local, string Peer) Values(LinkTrigger trigger, HandshakeSide local, HandshakeSide peer) => trigger switch
    {
        LinkTrigger.ModeMismatch => (local.ModeName, peer.ModeName),
        // Quoted or not (the spec's Describe quotes, the wire's LoginMismatch does not): the value itself must be there.
        LinkTrigger.ClusterMismatch => (local.Cluster, peer.Cluster),
        _ => (local.HaId.ToString(CultureInfo.InvariantCulture), peer.HaId.ToString(CultureInfo.InvariantCulture)),
    };

    private static bool IsOnline(ControlStatus? s) => string.Equals(s?.Link?.State, "online", StringComparison.OrdinalIgnoreCase);

    private static string? Rejection(ControlStatus? s) => s?.Link?.LastRejection is { Length: > 0 } r ? r : null;

    private static NodeProcessOptions Options(HandshakeSide side, string peer, IReadOnlyDictionary<HandshakeKey, string> keyFiles)
    {
        var args = new List<string>
        {
            "--ha-id", side.HaId.ToString(CultureInfo.InvariantCulture),
            "--mode", side.ModeName,
            "--cluster", side.Cluster,
            "--peer", peer,
        };
        if (side.Key == HandshakeKey.None)
        {
            args.Add("--allow-unauthenticated");
        }
        else
        {
            args.Add("--psk-file");
            args.Add(keyFiles[side.Key]);
        }

        return new NodeProcessOptions
        {
            LunSizes = [64 * 512],
            Control = true,
            ExtraArguments = args,
            StartTimeout = TimeSpan.FromSeconds(30),
            StopTimeout = TimeSpan.FromSeconds(10),
        };
    }

    private static HandshakeCase Baseline(int seed)
    {
        var mode = ((uint)seed % 3) switch { 0 => HaMode.Standby, 1 => HaMode.Shared, _ => HaMode.Proxy };
        return new("compatible baseline", new(1, mode, "ctlha", HandshakeKey.K1), new(2, mode, "ctlha", HandshakeKey.K1));
    }

    /// <summary>
    /// A compatible pair, then zero, one or two mutations chosen so each Login check and each key situation is
    /// exercised, including the order of checks (mode before cluster; node id before cluster) and ordinal cluster
    /// names (<c>blue</c> vs <c>Blue</c>).
    /// </summary>
    private static Gen<HandshakeCase> CaseGen()
    {
        var modes = Gen.Elements(HaMode.Standby, HaMode.Shared, HaMode.Proxy);
        var clusters = Gen.Elements("ctlha", "blue", "Blue");
        var mutation = Gen.Frequency(
            (2, Gen.Constant("none")),
            (3, Gen.Constant("mode")),
            (3, Gen.Constant("cluster")),
            (2, Gen.Constant("same-id")),
            (1, Gen.Constant("swapped-ids")),
            (2, Gen.Constant("wrong-key")),
            (2, Gen.Constant("missing-key")),
            (1, Gen.Constant("no-keys")),
            (2, Gen.Constant("mode+cluster")),
            (1, Gen.Constant("same-id+cluster")));
        return from m in modes
               from otherMode in modes.Where(x => x != m)
               from cl in clusters
               from otherCluster in clusters.Where(x => x != cl)
               from which in mutation
               from onA in Gen.Elements(true, false)
               from id in Gen.Elements(1, 2)
               select Mutate(which, new HandshakeSide(1, m, cl, HandshakeKey.K1), new HandshakeSide(2, m, cl, HandshakeKey.K1), otherMode, otherCluster, onA, id);
    }

    private static HandshakeCase Mutate(string which, HandshakeSide a, HandshakeSide b, HaMode otherMode, string otherCluster, bool onA, int id)
    {
        HandshakeSide Change(HandshakeSide s, bool mine, Func<HandshakeSide, HandshakeSide> f) => mine ? f(s) : s;
        return which switch
        {
            "mode" => new($"modes differ ({a.ModeName} vs {otherMode.ToString().ToLowerInvariant()})", Change(a, onA, s => s with { Mode = otherMode }), Change(b, !onA, s => s with { Mode = otherMode })),
            "cluster" => new($"clusters differ ('{a.Cluster}' vs '{otherCluster}')", Change(a, onA, s => s with { Cluster = otherCluster }), Change(b, !onA, s => s with { Cluster = otherCluster })),
            "same-id" => new($"both nodes --ha-id {id}", a with { HaId = id }, b with { HaId = id }),
            "swapped-ids" => new("listener is node 2, connector node 1", a with { HaId = 2 }, b with { HaId = 1 }),
            "wrong-key" => new("different pre-shared keys", a, b with { Key = HandshakeKey.K2 }),
            "missing-key" => new($"only {(onA ? "B" : "A")} has a key", Change(a, onA, s => s with { Key = HandshakeKey.None }), Change(b, !onA, s => s with { Key = HandshakeKey.None })),
            "no-keys" => new("both unauthenticated (allowed on both sides)", a with { Key = HandshakeKey.None }, b with { Key = HandshakeKey.None }),
            "mode+cluster" => new("mode and cluster differ (mode is checked first)", a, b with { Mode = otherMode, Cluster = otherCluster }),
            "same-id+cluster" => new("same node id and clusters differ (node id is checked first)", a with { HaId = id }, b with { HaId = id, Cluster = otherCluster }),
            _ => new($"compatible ({a.ModeName}, '{a.Cluster}')", a, b),
        };
    }

    private static string WriteKey(string dir, string name)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, Convert.ToHexString(RandomNumberGenerator.GetBytes(32)).ToLowerInvariant() + "\n");
        return path;
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FirstLines(string text, int n) => string.Join(" | ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Take(n));
}

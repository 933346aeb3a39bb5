using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using CtlHa.Conformance.Node;
using CtlHa.Conformance.Proxy;
using CtlHa.Conformance.Suites;
using CtlHa.Spec;

namespace CtlHa.Conformance.Ha;

/// <summary>How <see cref="EmbeddedPair.StartAsync"/> builds its two nodes.</summary>
public sealed record EmbeddedPairOptions
{
    /// <summary>The pair's HA mode (<see cref="HaMode.Unavailable"/> has no interlink and is refused here).</summary>
    public HaMode Mode { get; init; } = HaMode.Proxy;

    /// <summary>Blocks of 512 bytes per LUN.</summary>
    public long LunBlocks { get; init; } = 128;

    /// <summary>Number of LUNs (ids 0..n-1), each its own backing file.</summary>
    public int Luns { get; init; } = 1;

    /// <summary>Seed of the run that owns the pair; only used to name its directory, so logs can be matched to a run.</summary>
    public int Seed { get; init; }

    public string TargetName { get; init; } = "iqn.2026-11.org.ctlha:pair";

    /// <summary>
    /// Both nodes use the same backing file(s), as <c>ctlha pair</c> and scripts/failover-drill do in every mode: CTL HA
    /// assumes storage both nodes can reach (a secondary's gates keep it off the media except in shared mode), so a
    /// failover finds the primary's data. False gives each node its own files (then only shared mode is meaningful).
    /// </summary>
    public bool SharedStorage { get; init; } = true;

    /// <summary>Extra <c>ctlha node</c> arguments for both nodes (e.g. <c>--serseq off</c>).</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];

    /// <summary>
    /// Heartbeat silence after which a node declares its peer dead (config <c>PeerDeadAfterMs</c>); null keeps the
    /// node's default (1 s). A loaded test machine can starve a node for a second, which then looks like a stall.
    /// </summary>
    public TimeSpan? PeerDeadAfter { get; init; }

    /// <summary>The interval the nodes are configured with (<see cref="PeerDeadAfter"/> or the CLI's 1 s).</summary>
    public TimeSpan EffectivePeerDeadAfter => PeerDeadAfter ?? TimeSpan.FromSeconds(1);

    /// <summary>The nodes' promotion time (config <c>PromotionTimeMs</c>), part of the RTPG implicit transition time.</summary>
    public TimeSpan PromotionTime { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long <see cref="EmbeddedPair.StartAsync"/> waits for the link to come up.</summary>
    public TimeSpan LinkTimeout { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>A pair control call the node refused (HTTP 409, e.g. promoting while the linked peer is primary).</summary>
public sealed class PairControlException(string message) : Exception(message);

/// <summary>
/// Two real <c>ctlha node</c> processes on loopback — node A (HA id 1, primary) and node B (HA id 2, secondary) — with
/// the interlink going through a <see cref="FaultProxy"/> (A connects to the proxy, the proxy to B's listen port), so
/// the link can be cut, stalled and restored without touching the nodes. Nodes are killed with SIGKILL and restarted
/// with the same ports, key, mode and backing files; roles go through each node's HTTP control API, and link state is
/// read from <c>GET /status</c>. Everything is reached over TCP (DESIGN.md dependency rule): no impl type is used.
/// </summary>
/// <remarks>
/// A restarted node comes back <b>secondary</b> (as a cluster manager restarts a failed node) unless it was never
/// demoted from its start role and the peer is not primary: see <see cref="RestartAsync"/>.
/// </remarks>
public sealed class EmbeddedPair : IPairUnderTest
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(25);

    private readonly EmbeddedPairOptions _options;
    private readonly string _directory;
    private readonly string _pskFile;
    private readonly IReadOnlyList<string>[] _lunPaths;
    private readonly int[] _portalPorts;
    private readonly int[] _controlPorts;
    private readonly int _interlinkPort;
    private readonly FaultProxy _proxy;
    private readonly NodeProcess?[] _nodes = new NodeProcess?[2];
    private readonly HttpClient[] _control;
    private readonly List<string> _pastLogs = [];
    private readonly Lock _logLock = new();
    private bool _disposed;

    private EmbeddedPair(EmbeddedPairOptions options, string directory, string pskFile, IReadOnlyList<string>[] lunPaths, int[] portalPorts, int[] controlPorts,
        int interlinkPort, FaultProxy proxy)
    {
        _options = options;
        _directory = directory;
        _pskFile = pskFile;
        _lunPaths = lunPaths;
        _portalPorts = portalPorts;
        _controlPorts = controlPorts;
        _interlinkPort = interlinkPort;
        _proxy = proxy;
        _control = [.. controlPorts.Select(p => new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{p}/"), Timeout = TimeSpan.FromSeconds(10) })];
    }

    public EmbeddedPairOptions Options => _options;

    public HaMode Mode => _options.Mode;

    public SuiteNeeds Capabilities => SuiteNeeds.Pair | SuiteNeeds.RoleControl | SuiteNeeds.FaultControl;

    /// <summary>The fault proxy on the interlink (for faults beyond cut/stall, e.g. delay or corruption).</summary>
    public FaultProxy Proxy => _proxy;

    /// <summary>The role each node is (or will be, after a restart) started with, as last set through this pair.</summary>
    public bool IsPrimary(PairNode node) => _primary[Index(node)];

    private readonly bool[] _primary = [true, false];

    /// <summary>True while the node's process runs.</summary>
    public bool IsAlive(PairNode node) => _nodes[Index(node)] is { HasExited: false };

    /// <summary>The running node process (null while killed).</summary>
    public NodeProcess? NodeOf(PairNode node) => _nodes[Index(node)];

    public IReadOnlyList<string> BackingFiles(PairNode node) => _lunPaths[Index(node)];

    /// <summary>Starts the proxy, then B (interlink listener) and A together, and waits until the link is up and both know A is primary.</summary>
    public static async Task<EmbeddedPair> StartAsync(EmbeddedPairOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Mode == HaMode.Unavailable)
        {
            throw new ArgumentException("an embedded pair needs an interlink: mode standby, shared or proxy", nameof(options));
        }

        var directory = Path.Combine(Path.GetTempPath(), $"ctlha-pair-{options.Seed.ToString(CultureInfo.InvariantCulture)}-{Guid.NewGuid().ToString("N")[..8]}");
        Directory.CreateDirectory(directory);
        var psk = Path.Combine(directory, "interlink.psk");
        await File.WriteAllTextAsync(psk, Convert.ToHexString(RandomNumberGenerator.GetBytes(32)) + "\n", cancellationToken);
        // Both timings are configuration the model needs (RTPG IMPLICIT TRANSITION TIME), so they are always set here.
        await File.WriteAllTextAsync(Path.Combine(directory, "node.json"),
            $"{{ \"PeerDeadAfterMs\": {(int)options.EffectivePeerDeadAfter.TotalMilliseconds}, \"PromotionTimeMs\": {(int)options.PromotionTime.TotalMilliseconds} }}\n",
            cancellationToken);

        IReadOnlyList<string> Files(string suffix) => [.. Enumerable.Range(0, options.Luns).Select(i => Path.Combine(directory, $"lun{i}{suffix}.img"))];
        var shared = Files(string.Empty);
        IReadOnlyList<string>[] lunPaths = options.SharedStorage ? [shared, shared] : [Files("-a"), Files("-b")];
        int[] portals = [FreePort(), FreePort()];
        int[] controls = [FreePort(), FreePort()];
        var interlink = FreePort();
        var proxy = new FaultProxy(new IPEndPoint(IPAddress.Loopback, interlink));
        proxy.Start();
        var pair = new EmbeddedPair(options, directory, psk, lunPaths, portals, controls, interlink, proxy);
        try
        {
            // Both at once (A backs off and retries until B listens): a node start is most of a pair's start-up.
            var b = pair.LaunchAsync(PairNode.B, cancellationToken);
            var a = pair.LaunchAsync(PairNode.A, cancellationToken);
            try
            {
                await Task.WhenAll(a, b);
            }
            finally
            {
                pair._nodes[1] = b.IsCompletedSuccessfully ? b.Result : null;
                pair._nodes[0] = a.IsCompletedSuccessfully ? a.Result : null;
            }

            if (!await pair.WaitLinkedAsync(options.LinkTimeout, cancellationToken))
            {
                throw new InvalidOperationException($"the embedded pair did not link within {options.LinkTimeout}:\n{pair.DescribeLogs()}");
            }

            return pair;
        }
        catch
        {
            await pair.DisposeAsync();
            throw;
        }
    }

    public Uri UrlOf(PairNode node) => new($"iscsi://127.0.0.1:{_portalPorts[Index(node)]}/{_options.TargetName}");

    /// <summary>The portal as host and port (what the C# initiator's ConnectAsync takes).</summary>
    public (string Host, int Port) PortalOf(PairNode node) => ("127.0.0.1", _portalPorts[Index(node)]);

    public string TargetName => _options.TargetName;

    /// <summary>What RTPG's extended header must report, from the spec's formula and the configured timings.</summary>
    public byte ImplicitTransitionTimeSeconds => AluaTable.ImplicitTransitionTimeSeconds(_options.EffectivePeerDeadAfter, _options.PromotionTime);

    /// <summary>Promote/demote through the control API. Throws <see cref="PairControlException"/> when the node refuses.</summary>
    public async Task SetRoleAsync(PairNode node, bool primary, int? lun, CancellationToken cancellationToken)
    {
        var (ok, message) = await TrySetRoleAsync(node, primary, lun, cancellationToken);
        if (!ok)
        {
            throw new PairControlException($"{node}: role {(primary ? "primary" : "secondary")} refused: {message}");
        }
    }

    /// <summary>Promote/demote through the control API: (true, message) when done, (false, reason) when the node refused.</summary>
    public async Task<(bool Ok, string Message)> TrySetRoleAsync(PairNode node, bool primary, int? lun, CancellationToken cancellationToken)
    {
        EnsureAlive(node);
        using var response = await _control[Index(node)].PostAsJsonAsync("role", new { role = primary ? "primary" : "secondary", lun }, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (response.IsSuccessStatusCode)
        {
            if (lun is null)
            {
                _primary[Index(node)] = primary;
            }

            return (true, body);
        }

        if (response.StatusCode == HttpStatusCode.Conflict)
        {
            return (false, body);
        }

        throw new InvalidOperationException($"{node}: POST /role answered {(int)response.StatusCode} {body}");
    }

    public Task KillAsync(PairNode node, CancellationToken cancellationToken)
    {
        var process = _nodes[Index(node)] ?? throw new InvalidOperationException($"node {node} is not running");
        process.Kill();
        _nodes[Index(node)] = null;
        Retire(node, process);
        return process.DisposeAsync().AsTask();
    }

    /// <summary>
    /// Starts the node again on the same portal, control and interlink ports with the same key, mode and backing files.
    /// It comes back with the role this pair last gave it, except that a node whose peer is (configured) primary comes
    /// back secondary: two primaries are what the pair refuses while linked.
    /// </summary>
    public async Task RestartAsync(PairNode node, CancellationToken cancellationToken)
    {
        if (IsAlive(node))
        {
            throw new InvalidOperationException($"node {node} is running; kill it first");
        }

        if (_nodes[Index(node)] is { } exited)
        {
            _nodes[Index(node)] = null;
            Retire(node, exited);
            await exited.DisposeAsync();
        }

        if (_primary[Index(Other(node))])
        {
            _primary[Index(node)] = false;
        }

        _nodes[Index(node)] = await LaunchAsync(node, cancellationToken);
    }

    /// <summary>Graceful stop (SIGTERM); <see cref="RestartAsync"/> starts it again.</summary>
    public async Task StopAsync(PairNode node)
    {
        var process = _nodes[Index(node)] ?? throw new InvalidOperationException($"node {node} is not running");
        await process.StopAsync();
        _nodes[Index(node)] = null;
        Retire(node, process);
        await process.DisposeAsync();
    }

    public Task CutLinkAsync(CancellationToken cancellationToken)
    {
        _proxy.Fault = new ProxyFault(RefuseNew: true);
        _proxy.CutAll();
        return Task.CompletedTask;
    }

    public Task StallLinkAsync(CancellationToken cancellationToken)
    {
        _proxy.Fault = new ProxyFault(Stall: true);
        return Task.CompletedTask;
    }

    public Task RestoreLinkAsync(CancellationToken cancellationToken)
    {
        // A stalled connection may hold bytes; cut it so the nodes start a fresh session instead of replaying stale frames.
        var wasStalled = _proxy.Fault.Stall;
        _proxy.Fault = ProxyFault.None;
        if (wasStalled)
        {
            _proxy.CutAll();
        }

        return Task.CompletedTask;
    }

    /// <summary>True when the proxy currently refuses or stalls the interlink.</summary>
    public bool LinkFaulted => _proxy.Fault.RefuseNew || _proxy.Fault.Stall;

    /// <summary>
    /// Both nodes run, report the interlink <c>online</c>, and agree on roles for every LUN (each one's peer role is the
    /// other's role), so the LUN_SYNC exchange after link-up is done.
    /// </summary>
    public async Task<bool> WaitLinkedAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        await WaitUntilAsync(async ct =>
        {
            if (!IsAlive(PairNode.A) || !IsAlive(PairNode.B))
            {
                return false;
            }

            var a = await StatusAsync(PairNode.A, ct);
            var b = await StatusAsync(PairNode.B, ct);
            return a.Online && b.Online && a.Agrees(b) && b.Agrees(a);
        }, timeout, cancellationToken);

    /// <summary>Every running node reports the link not online and no primary peer (link loss has been processed).</summary>
    public async Task<bool> WaitUnlinkedAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        await WaitUntilAsync(async ct =>
        {
            foreach (var node in new[] { PairNode.A, PairNode.B })
            {
                if (IsAlive(node))
                {
                    var s = await StatusAsync(node, ct);
                    if (s.Online || s.Luns.Any(l => l.PeerRole == "primary"))
                    {
                        return false;
                    }
                }
            }

            return true;
        }, timeout, cancellationToken);

    /// <summary>Waits until <paramref name="node"/> reports its peer's role for every LUN as the peer reports its own (after a role change with the link up).</summary>
    public async Task<bool> WaitRolesSyncedAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        await WaitUntilAsync(async ct =>
        {
            var a = await StatusAsync(PairNode.A, ct);
            var b = await StatusAsync(PairNode.B, ct);
            return a.Agrees(b) && b.Agrees(a);
        }, timeout, cancellationToken);

    /// <summary><c>GET /status</c> of a running node, reduced to what the pair's control needs.</summary>
    public async Task<PairNodeStatus> StatusAsync(PairNode node, CancellationToken cancellationToken)
    {
        EnsureAlive(node);
        var json = await _control[Index(node)].GetStringAsync("status", cancellationToken);
        return PairNodeStatus.Parse(json);
    }

    /// <summary>Every log line of both nodes (current and past processes), for a failure message.</summary>
    public string DescribeLogs(int lastLines = 40)
    {
        var lines = new List<string>();
        lock (_logLock)
        {
            lines.AddRange(_pastLogs);
        }

        foreach (var node in new[] { PairNode.A, PairNode.B })
        {
            if (_nodes[Index(node)] is { } p)
            {
                lines.AddRange(p.Log.Select(l => $"{node}: {l}"));
            }
        }

        return string.Join("\n", lines.TakeLast(lastLines));
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var i in new[] { 0, 1 })
        {
            if (_nodes[i] is { } p)
            {
                _nodes[i] = null;
                try
                {
                    await p.StopAsync();
                }
                finally
                {
                    await p.DisposeAsync();
                }
            }

            _control[i].Dispose();
        }

        await _proxy.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A leftover temp directory is harmless.
        }
    }

    public override string ToString() =>
        $"embedded {Mode.ToString().ToLowerInvariant()} pair: A {UrlOf(PairNode.A)} ({(IsAlive(PairNode.A) ? "up" : "down")}), B {UrlOf(PairNode.B)} ({(IsAlive(PairNode.B) ? "up" : "down")})";

    private async Task<NodeProcess> LaunchAsync(PairNode node, CancellationToken cancellationToken)
    {
        var i = Index(node);
        var peer = node == PairNode.B
            ? $"listen:127.0.0.1:{_interlinkPort}"
            : $"connect:{_proxy.EndPoint.Address}:{_proxy.EndPoint.Port}";
        List<string> args =
        [
            "--ha-id", ((int)node).ToString(CultureInfo.InvariantCulture),
            "--mode", _options.Mode.ToString().ToLowerInvariant(),
            "--peer", peer,
            "--psk-file", _pskFile,
            "--role", _primary[i] ? "primary" : "secondary",
            .. _options.ExtraArguments,
        ];
        args.AddRange(["--config", Path.Combine(_directory, "node.json")]);

        return await NodeProcess.StartAsync(new NodeProcessOptions
        {
            LunSizes = [.. Enumerable.Repeat(_options.LunBlocks * 512, _options.Luns)],
            LunPaths = _lunPaths[i],
            TargetName = _options.TargetName,
            PortalPort = _portalPorts[i],
            ControlPort = _controlPorts[i],
            Control = true,
            ExtraArguments = args,
            // Link cuts and kills make the survivor log errors on purpose; the suites judge behaviour over iSCSI.
            FailOnUnexpectedErrors = false,
        }, cancellationToken);
    }

    private void Retire(PairNode node, NodeProcess process)
    {
        lock (_logLock)
        {
            _pastLogs.AddRange(process.Log.Select(l => $"{node} (pid {process.ProcessId}): {l}"));
            if (_pastLogs.Count > 5000)
            {
                _pastLogs.RemoveRange(0, _pastLogs.Count - 5000);
            }
        }
    }

    private void EnsureAlive(PairNode node)
    {
        if (!IsAlive(node))
        {
            throw new InvalidOperationException($"node {node} is not running");
        }
    }

    private static async Task<bool> WaitUntilAsync(Func<CancellationToken, Task<bool>> condition, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                if (await condition(cancellationToken))
                {
                    return true;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or InvalidOperationException or JsonException && !cancellationToken.IsCancellationRequested)
            {
                // A node starting up (control port not yet listening) or just killed: poll again.
            }

            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }

            await Task.Delay(PollInterval, cancellationToken);
        }
    }

    private static PairNode Other(PairNode node) => node == PairNode.A ? PairNode.B : PairNode.A;

    private static int Index(PairNode node) => (int)node - 1;

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>One node's <c>GET /status</c>, reduced: link state and per-LUN role and peer role.</summary>
public sealed record PairNodeStatus(string LinkState, IReadOnlyList<PairLunStatus> Luns)
{
    public bool Online => LinkState == "online";

    /// <summary>This node's idea of its peer's role matches what <paramref name="peer"/> says of itself, for every LUN.</summary>
    public bool Agrees(PairNodeStatus peer) =>
        Luns.All(l => peer.Luns.FirstOrDefault(p => p.Lun == l.Lun) is { } p && l.PeerRole == p.Role);

    public static PairNodeStatus Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var link = root.TryGetProperty("link", out var l) && l.TryGetProperty("state", out var s) ? s.GetString() ?? "?" : "?";
        var luns = new List<PairLunStatus>();
        if (root.TryGetProperty("luns", out var array))
        {
            foreach (var lun in array.EnumerateArray())
            {
                luns.Add(new PairLunStatus(
                    lun.GetProperty("lun").GetInt32(),
                    lun.GetProperty("role").GetString() ?? "?",
                    lun.GetProperty("peerRole").GetString() ?? "?"));
            }
        }

        return new PairNodeStatus(link, luns);
    }
}

/// <param name="PeerRole">primary | secondary | unknown (no link) | none (not HA).</param>
public sealed record PairLunStatus(int Lun, string Role, string PeerRole);

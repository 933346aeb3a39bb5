using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using CtlHa.Conformance.Interlink;
using CtlHa.Conformance.Node;
using CtlHa.Wire;

namespace CtlHa.Conformance.Suites;

/// <summary>
/// The rest of the handshake matrix: the Login fields no <c>ctlha node</c> flag can set (protocol version, an invalid
/// node id, max LUNs, max ports, max initiators per port) and hostile peers (garbage, an oversized frame, a slow peer,
/// heartbeat loss). One real node listens; <see cref="PeerValidator"/> (the engine of <c>ctlha-conform peer</c>) plays
/// the other node, one case per check. Deterministic: the seed does not change it.
/// </summary>
public sealed class InterlinkPeerSuite : IConformanceSuite
{
    public string Name => "interlink-peer";

    public string Description => "one real node against the peer validator: Login fields the CLI cannot set, wrong/no key, hostile frames, heartbeat loss";

    public SuiteNeeds Needs => SuiteNeeds.OwnNodes;

    public async Task<SuiteResult> RunAsync(SuiteContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var clock = Stopwatch.StartNew();
        var dir = Directory.CreateTempSubdirectory("ctlha-peer-suite-");
        var failures = new List<SuiteFailure>();
        var done = 0;
        try
        {
            var key = RandomNumberGenerator.GetBytes(32);
            var keyFile = Path.Combine(dir.FullName, "psk");
            await File.WriteAllTextAsync(keyFile, Convert.ToHexString(key).ToLowerInvariant() + "\n", cancellationToken).ConfigureAwait(false);
            var port = FreeLoopbackPort();
            string[] flags = ["--ha-id", "1", "--mode", "proxy", "--peer", $"listen:127.0.0.1:{port}", "--psk-file", keyFile];
            context.Progress(new SuiteProgress(0, 0, 0, "starting the node"));
            await using var node = await NodeProcess.StartAsync(new NodeProcessOptions { LunSizes = [64 * 512], ExtraArguments = flags }, cancellationToken).ConfigureAwait(false);
            var validator = new PeerValidator(new PeerValidatorOptions
            {
                ConnectToNode = true,
                EndPoint = new IPEndPoint(IPAddress.Loopback, port),
                Psk = key,
                ExpectedMode = HaMode.Proxy,
                ExpectedCluster = "ctlha",
            });
            var results = await validator.RunAsync(r =>
            {
                done++;
                if (!r.Passed)
                {
                    failures.Add(new SuiteFailure(r.Name, r.Detail,
                        [$"node: ctlha node {string.Join(' ', flags).Replace(keyFile, "psk", StringComparison.Ordinal)}", $"peer validator: {r.Name} → {r.Detail}"],
                        $"ctlha-conform peer --connect 127.0.0.1:PORT --psk-file psk --mode proxy (check '{r.Name}')"));
                }

                context.Progress(new SuiteProgress(done, done, failures.Count, r.Name));
                context.Log($"{r.Name}: {(r.Passed ? "ok" : "FAIL " + r.Detail)} ({r.Duration.TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture)} ms)");
            }, cancellationToken).ConfigureAwait(false);
            done = results.Count;
        }
        finally
        {
            try
            {
                dir.Delete(recursive: true);
            }
            catch (IOException)
            {
                // A leftover temp key is harmless.
            }
        }

        return new SuiteResult(Name, done, done, failures, clock.Elapsed);
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

using System.Net;
using System.Net.Sockets;
using CtlHa.Conformance.Fuzz;
using CtlHa.Conformance.Node;
using CtlHa.Conformance.Tests.Node;
using CtlHa.Initiator;
using CtlHa.Initiator.Scsi;
using Xunit.Abstractions;

namespace CtlHa.Conformance.Tests.Interlink;

/// <summary>
/// Hostile interlink frames against a real <c>ctlha node</c> (issue 4): the node must stay healthy. CI-sized by
/// default; set CTLHA_FUZZ_FRAMES (e.g. 100000) for the full run.
/// </summary>
[Collection(NodeCollection.Name)]
public sealed class InterlinkFuzzTests(ITestOutputHelper output)
{
    [Fact(Timeout = 1_200_000)]
    public async Task A_node_fed_hostile_interlink_frames_still_logs_in_a_good_peer_and_serves_iSCSI()
    {
        var frames = long.TryParse(Environment.GetEnvironmentVariable("CTLHA_FUZZ_FRAMES"), out var n) && n > 0 ? n : 2_000;
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(19));
        var key = new byte[32];
        Random.Shared.NextBytes(key);
        var pskFile = Path.Combine(Path.GetTempPath(), $"ctlha-fuzz-{Environment.ProcessId}-{Guid.NewGuid():N}.psk");
        await File.WriteAllTextAsync(pskFile, Convert.ToHexString(key).ToLowerInvariant() + "\n", cts.Token);
        var peerPort = FreePort();
        try
        {
            await using var node = await NodeProcess.StartAsync(new NodeProcessOptions
            {
                LunSizes = [64 * 512],
                FailOnUnexpectedErrors = false,
                ExtraArguments = ["--ha-id", "1", "--mode", "proxy", "--peer", $"listen:127.0.0.1:{peerPort}", "--psk-file", pskFile],
            }, cts.Token);

            var fuzzer = new InterlinkFuzzer(new InterlinkFuzzOptions
            {
                EndPoint = new IPEndPoint(IPAddress.Loopback, peerPort),
                Psk = key,
                Frames = frames,
                MaxDuration = TimeSpan.FromMinutes(15),
                Seed = 4242,
            });
            var result = await fuzzer.RunAsync(cts.Token);
            output.WriteLine(result.ToString());

            Assert.False(node.HasExited, "the node exited during the fuzz run");
            Assert.Null(result.HealthFailure);
            Assert.Equal(frames, result.Frames);
            Assert.True(result.PreAuthConnections > 0 && result.PostLoginConnections > 0, result.ToString());

            await using var session = await IscsiInitiatorSession.ConnectAsync(node.Host, node.Port, node.TargetName,
                new InitiatorOptions { InitiatorName = "iqn.2026-11.org.ctlha:fuzz-test" }, cts.Token);
            var capacity = await session.ExecuteAsync(0, Cdb.ReadCapacity16(32), default, 32, TaskAttribute.Simple, cts.Token);
            Assert.Equal(0, capacity.IscsiResponse);
            await session.LogoutAsync(cts.Token);
        }
        finally
        {
            File.Delete(pskFile);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

using CtlHa.Conformance.Node;
using CtlHa.Initiator;
using CtlHa.Initiator.Scsi;

namespace CtlHa.Conformance.Tests.Node;

/// <summary>Loopback tests of the <see cref="NodeProcess"/> fixture against the real <c>ctlha</c> executable.</summary>
[Collection(NodeCollection.Name)]
public sealed class NodeProcessTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact(Timeout = 180_000)]
    public async Task A_started_node_serves_iSCSI_and_exits_cleanly_on_SIGTERM()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var node = await NodeProcess.StartAsync(new NodeProcessOptions { LunSizes = [64 * 512] }, cts.Token);
        await using (node)
        {
            await using var session = await IscsiInitiatorSession.ConnectAsync(node.Host, node.Port, node.TargetName,
                new InitiatorOptions { InitiatorName = "iqn.2026-11.org.ctlha:fixture-test" }, cts.Token);
            var capacity = await session.ExecuteAsync(0, Cdb.ReadCapacity16(32), default, 32, TaskAttribute.Simple, cts.Token);
            Assert.Equal(0, capacity.IscsiResponse);
            await session.LogoutAsync(cts.Token);

            var exitCode = await node.StopAsync();

            Assert.Equal(0, exitCode);
            Assert.True(node.HasExited);
            Assert.Contains(node.Log, l => l.Trim() == "ready");
        }
    }

    [Fact(Timeout = 180_000)]
    public async Task A_killed_node_drops_its_sessions()
    {
        using var cts = new CancellationTokenSource(Timeout);
        await using var node = await NodeProcess.StartAsync(new NodeProcessOptions { LunSizes = [64 * 512] }, cts.Token);
        await using var session = await IscsiInitiatorSession.ConnectAsync(node.Host, node.Port, node.TargetName,
            new InitiatorOptions { InitiatorName = "iqn.2026-11.org.ctlha:fixture-test", CommandTimeout = TimeSpan.FromSeconds(20) }, cts.Token);

        node.Kill();

        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            for (var i = 0; i < 50; i++)
            {
                await session.ExecuteAsync(0, Cdb.TestUnitReady(), default, 0, TaskAttribute.Simple, cts.Token);
                await Task.Delay(100, cts.Token);
            }
        });
        Assert.True(node.HasExited);
    }

    [Fact(Timeout = 180_000)]
    public async Task A_node_that_cannot_start_reports_its_log()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var options = new NodeProcessOptions { TargetName = "not-an-iqn", FailOnUnexpectedErrors = false };

        var error = await Assert.ThrowsAsync<NodeStartException>(() => NodeProcess.StartAsync(options, cts.Token));

        Assert.Contains("not-an-iqn", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_executable_is_found_under_the_repository_root()
    {
        var path = NodeProcess.LocateExecutable();

        Assert.True(File.Exists(path), path);
        Assert.StartsWith(NodeProcess.RepositoryRoot(), Path.GetFullPath(path), StringComparison.Ordinal);
    }
}

/// <summary>Tests that start real nodes run one at a time: the machine is small and they time each other out otherwise.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NodeCollection
{
    public const string Name = "real ctlha nodes";
}

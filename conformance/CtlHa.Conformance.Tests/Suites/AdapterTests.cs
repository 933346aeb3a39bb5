using CtlHa.Conformance.Node;
using CtlHa.Conformance.Suites;
using CtlHa.Conformance.Suites.Adapters;
using CtlHa.Conformance.Tests.Node;

namespace CtlHa.Conformance.Tests.Suites;

/// <summary>The node-control adapters of <c>ctlha-conform pair</c>: real shell commands, a real node's control API.</summary>
public sealed class ShellCommandPairTests
{
    private static readonly Uri A = new("iscsi://127.0.0.1:3260/iqn.2026-11.org.ctlha:pair");
    private static readonly Uri B = new("iscsi://127.0.0.1:3261/iqn.2026-11.org.ctlha:pair");

    [Fact(Timeout = 30_000)]
    public async Task Role_changes_run_the_users_command_with_the_LUN_substituted()
    {
        var log = Path.GetTempFileName();
        try
        {
            var pair = new ShellCommandPair(A, B, new ShellCommands(
                $"echo promote-a {{lun}} >> {log}", $"echo promote-b {{lun}} >> {log}", $"echo demote-a {{lun}} >> {log}", $"echo demote-b {{lun}} >> {log}"));

            await pair.SetRoleAsync(PairNode.B, primary: true, lun: 3, CancellationToken.None);
            await pair.SetRoleAsync(PairNode.A, primary: false, lun: null, CancellationToken.None);

            Assert.Equal(["promote-b 3", "demote-a all"], await File.ReadAllLinesAsync(log));
            Assert.Equal(SuiteNeeds.Pair | SuiteNeeds.RoleControl, pair.Capabilities);
            await Assert.ThrowsAsync<NotSupportedException>(() => pair.KillAsync(PairNode.A, CancellationToken.None));
        }
        finally
        {
            File.Delete(log);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task A_command_that_fails_reports_its_exit_code_and_output()
    {
        var error = await Assert.ThrowsAsync<ShellCommandException>(() =>
            ShellCommandPair.RunAsync("echo no such node >&2; exit 3", TimeSpan.FromSeconds(10), CancellationToken.None));

        Assert.Contains("exited with 3", error.Message, StringComparison.Ordinal);
        Assert.Contains("no such node", error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_command_that_hangs_is_killed_at_its_timeout()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<ShellCommandException>(() =>
            ShellCommandPair.RunAsync("sleep 20", TimeSpan.FromMilliseconds(300), CancellationToken.None));

        Assert.Contains("did not finish", error.Message, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), clock.Elapsed.ToString());
    }

    [Fact(Timeout = 30_000)]
    public async Task The_linked_command_decides_when_the_pair_is_linked()
    {
        var linked = new ShellCommandPair(A, B, new ShellCommands("true", "true", "true", "true", Linked: "true"));
        var never = new ShellCommandPair(A, B, new ShellCommands("true", "true", "true", "true", Linked: "exit 1"));

        Assert.True(await linked.WaitLinkedAsync(TimeSpan.FromSeconds(5), CancellationToken.None));
        Assert.False(await never.WaitLinkedAsync(TimeSpan.FromMilliseconds(600), CancellationToken.None));
    }

    [Theory]
    [InlineData("127.0.0.1:3263", "http://127.0.0.1:3263/")]
    [InlineData("http://10.0.0.2:8080", "http://10.0.0.2:8080/")]
    [InlineData("http://node-b:3264/status", "http://node-b:3264/")]
    public void Control_addresses_parse_with_or_without_a_scheme(string text, string expected)
    {
        Assert.True(ControlApiClient.TryParseAddress(text, out var address));
        Assert.Equal(expected, address.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("ftp://x:1")]
    [InlineData("not an address")]
    public void Bad_control_addresses_are_refused(string text) => Assert.False(ControlApiClient.TryParseAddress(text, out _));
}

[Collection(NodeCollection.Name)]
public sealed class ControlApiPairTests
{
    [Fact(Timeout = 120_000)]
    public async Task The_control_API_status_of_a_real_node_reads_into_the_conformance_shape()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await using var node = await NodeProcess.StartAsync(new NodeProcessOptions { LunSizes = [64 * 512], Control = true }, cts.Token);
        var control = new Uri($"http://127.0.0.1:{node.ControlPort}/");
        var url = new Uri($"iscsi://127.0.0.1:{node.Port}/{node.TargetName}");
        await using var pair = new ControlApiPair(url, url, control, control);

        var status = await pair.ControlOf(PairNode.A).GetStatusAsync(cts.Token);

        Assert.Equal(0, status.HaId);
        Assert.Equal("offline", status.Link?.State);
        var lun = Assert.Single(status.Luns ?? []);
        Assert.Equal("primary", lun.Role);
        Assert.False(await pair.WaitLinkedAsync(TimeSpan.FromMilliseconds(300), cts.Token), "a standalone node has no link");
        Assert.Equal(SuiteNeeds.Pair | SuiteNeeds.RoleControl, pair.Capabilities);
    }
}

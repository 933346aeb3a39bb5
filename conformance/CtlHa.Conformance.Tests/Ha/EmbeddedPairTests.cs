using CtlHa.Conformance.Ha;
using CtlHa.Conformance.Suites;
using CtlHa.Conformance.Tests.Node;
using CtlHa.Spec;

namespace CtlHa.Conformance.Tests.Ha;

/// <summary>The embedded pair is test equipment: it must really link, really cut, and really come back.</summary>
[Collection(NodeCollection.Name)]
public sealed class EmbeddedPairTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact(Timeout = 180_000)]
    public async Task A_pair_links_and_a_cut_link_goes_down_and_comes_back()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(170));
        await using var pair = await EmbeddedPair.StartAsync(new EmbeddedPairOptions { Mode = HaMode.Shared, LunBlocks = 64 }, cts.Token);

        Assert.True(await pair.WaitLinkedAsync(Wait, cts.Token));
        var a = await pair.StatusAsync(PairNode.A, cts.Token);
        var b = await pair.StatusAsync(PairNode.B, cts.Token);
        Assert.Equal(("primary", "secondary"), (a.Luns[0].Role, a.Luns[0].PeerRole));
        Assert.Equal(("secondary", "primary"), (b.Luns[0].Role, b.Luns[0].PeerRole));
        Assert.Equal(pair.BackingFiles(PairNode.A), pair.BackingFiles(PairNode.B));

        await pair.CutLinkAsync(cts.Token);
        Assert.True(await pair.WaitUnlinkedAsync(Wait, cts.Token), pair.DescribeLogs());
        Assert.False((await pair.StatusAsync(PairNode.B, cts.Token)).Online);

        await pair.RestoreLinkAsync(cts.Token);
        Assert.True(await pair.WaitLinkedAsync(Wait, cts.Token), pair.DescribeLogs());
    }

    [Fact(Timeout = 180_000)]
    public async Task A_killed_node_restarts_on_the_same_portal_and_relinks_and_roles_move()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(170));
        await using var pair = await EmbeddedPair.StartAsync(new EmbeddedPairOptions { Mode = HaMode.Proxy, LunBlocks = 64 }, cts.Token);
        var urlA = pair.UrlOf(PairNode.A);

        await pair.KillAsync(PairNode.A, cts.Token);
        Assert.False(pair.IsAlive(PairNode.A));
        Assert.True(await pair.WaitUnlinkedAsync(Wait, cts.Token), pair.DescribeLogs());
        await pair.SetRoleAsync(PairNode.B, primary: true, lun: null, cts.Token);

        await pair.RestartAsync(PairNode.A, cts.Token);
        Assert.Equal(urlA, pair.UrlOf(PairNode.A));
        Assert.True(await pair.WaitLinkedAsync(Wait, cts.Token), pair.DescribeLogs());
        var a = await pair.StatusAsync(PairNode.A, cts.Token);
        Assert.Equal(("secondary", "primary"), (a.Luns[0].Role, a.Luns[0].PeerRole));

        // Two primaries are refused while linked.
        var (ok, _) = await pair.TrySetRoleAsync(PairNode.A, primary: true, lun: null, cts.Token);
        Assert.False(ok);
    }
}

using CtlHa.Core;
using CtlHa.Scsi.Backends;
using Microsoft.Extensions.Logging.Abstractions;

namespace CtlHa.Ha.Tests;

/// <summary>Two HA nodes over a real loopback interlink, driven through their IScsiTarget.</summary>
[Collection("loopback")]
public sealed class HaPairTests
{
    private static async Task<byte[]> RtpgAsync(TestNode node)
    {
        var (o, data) = await node.RunAsync(Cdb.Rtpg());
        Expect.Good(o);
        return data;
    }

    /// <summary>RTPG length format: the states of TPG 2 (node 1) and TPG 3 (node 2).</summary>
    private static (AluaState Node1, AluaState Node2) States(byte[] rtpg)
    {
        int first = 4;
        int second = first + 8 + 4 * rtpg[first + 7];
        Assert.Equal(2, (rtpg[first + 2] << 8) | rtpg[first + 3]);
        Assert.Equal(3, (rtpg[second + 2] << 8) | rtpg[second + 3]);
        return ((AluaState)(rtpg[first] & 0x0F), (AluaState)(rtpg[second] & 0x0F));
    }

    [Theory(Timeout = 60_000)]
    [InlineData(HaMode.Proxy, AluaState.ActiveNonOptimized)]
    [InlineData(HaMode.Shared, AluaState.ActiveNonOptimized)]
    [InlineData(HaMode.Standby, AluaState.Standby)]
    public async Task Rtpg_is_identical_through_both_nodes_in_each_mode(HaMode mode, AluaState secondaryState)
    {
        await using var pair = await HaPair.StartAsync(mode);
        var viaA = await RtpgAsync(pair.A);
        var viaB = await RtpgAsync(pair.B);
        Assert.Equal(viaA, viaB);
        Assert.Equal((AluaState.ActiveOptimized, secondaryState), States(viaA));
        // relative target port ids: node 1 port 1, node 2 port 257
        Assert.Equal(1, viaA[4 + 8 + 2] << 8 | viaA[4 + 8 + 3]);
        Assert.Equal(257, viaA[16 + 8 + 2] << 8 | viaA[16 + 8 + 3]);

        // Extended header: IMPLICIT TRANSITION TIME = dead-peer interval (2 s in these tests) + promotion time (10 s).
        var (o, ext) = await pair.A.RunAsync(Cdb.Rtpg(extended: true));
        Expect.Good(o);
        Assert.Equal(0x10, ext[4]);
        Assert.Equal(12, ext[5]);
        Assert.Equal(ext, (await pair.B.RunAsync(Cdb.Rtpg(extended: true))).Data);
    }

    [Fact(Timeout = 60_000)]
    public async Task Proxy_write_and_read_through_B_land_on_As_backend()
    {
        await using var pair = await HaPair.StartAsync(HaMode.Proxy);
        byte[] pattern = new byte[300 * 512]; // 150 KiB: more than one 128 KiB segment
        Random.Shared.NextBytes(pattern);
        Expect.Good((await pair.B.RunAsync(Cdb.Write10(8, 300), pattern)).Outcome);

        byte[] onA = new byte[pattern.Length];
        await pair.A.Backend.ReadAsync(8 * 512, onA, CancellationToken.None);
        Assert.Equal(pattern, onA);
        byte[] onB = new byte[pattern.Length];
        await pair.B.Backend.ReadAsync(8 * 512, onB, CancellationToken.None);
        Assert.All(onB, b => Assert.Equal(0, b));

        var (o, data) = await pair.B.RunAsync(Cdb.Read10(8, 300));
        Expect.Good(o);
        Assert.Equal(pattern, data);
        Assert.True(pair.B.Node.GetStatus().ForwardedCommands >= 2);
    }

    [Fact(Timeout = 60_000)]
    public async Task Proxy_errors_come_back_through_B_with_the_same_sense_as_through_A()
    {
        await using var pair = await HaPair.StartAsync(HaMode.Proxy);
        byte[][] cdbs = [[0x12, 0, 0x80, 0, 255, 0], Cdb.Read10(0x7FFF_FFF0, 1), [0xA3, 0x4A, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0]];
        foreach (var cdb in cdbs)
        {
            var viaA = (await pair.A.RunAsync(cdb)).Outcome;
            var viaB = (await pair.B.RunAsync(cdb)).Outcome;
            Assert.Equal(ScsiStatus.CheckCondition, viaA.Status);
            Assert.Equal(viaA, viaB);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Shared_mode_orders_through_A_and_executes_on_the_shared_store()
    {
        await using var pair = await HaPair.StartAsync(HaMode.Shared, sharedBackend: true);
        byte[] pattern = new byte[4096];
        Random.Shared.NextBytes(pattern);
        Expect.Good((await pair.B.RunAsync(Cdb.Write10(0, 8), pattern)).Outcome);
        var (o, data) = await pair.A.RunAsync(Cdb.Read10(0, 8));
        Expect.Good(o);
        Assert.Equal(pattern, data);
        (o, data) = await pair.B.RunAsync(Cdb.Read10(0, 8));
        Expect.Good(o);
        Assert.Equal(pattern, data);
        Assert.True(pair.A.Node.GetStatus().PeerCommandsExecuted >= 2);
    }

    [Fact(Timeout = 60_000)]
    public async Task Standby_path_rejects_media_commands_and_serves_discovery_and_reservations()
    {
        await using var pair = await HaPair.StartAsync(HaMode.Standby);
        Expect.Check((await pair.B.RunAsync(Cdb.TestUnitReady)).Outcome, SenseKey.NotReady, 0x04, 0x0B);
        Expect.Check((await pair.B.RunAsync(Cdb.Read10(0, 1))).Outcome, SenseKey.NotReady, 0x04, 0x0B);
        Expect.Good((await pair.B.RunAsync(Cdb.Inquiry())).Outcome);
        Expect.Good((await pair.B.RunAsync(Cdb.PrOut(0), Cdb.PrOutParameters(0, 0xB0B))).Outcome);
        var (o, keys) = await pair.A.RunAsync(Cdb.PrIn(0));
        Expect.Good(o);
        Assert.Equal(8, keys[7]); // one key
        Assert.Equal(0xB0BUL, System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(keys.AsSpan(8)));
    }

    [Theory(Timeout = 60_000)]
    [InlineData(HaMode.Proxy)]
    [InlineData(HaMode.Shared)]
    public async Task Mode_select_through_A_raises_2A_01_for_Bs_nexus_but_not_the_requester(HaMode mode)
    {
        await using var pair = await HaPair.StartAsync(mode, sharedBackend: mode == HaMode.Shared);
        var (o, sense) = await pair.A.RunAsync(Cdb.ModeSense10(0x08));
        Expect.Good(o);
        byte[] caching = sense[8..];
        Assert.Equal(0x04, caching[2] & 0x04);
        caching[2] &= unchecked((byte)~0x04); // WCE off
        byte[] list = [0, 0, 0, 0, 0, 0, 0, 0, .. caching];
        Expect.Good((await pair.A.RunAsync(Cdb.ModeSelect10(list.Length), list)).Outcome);

        // No waiting: A answers only after B acknowledged a sync fence, so B's very next command sees it.
        Assert.False(pair.B.Node.Engine.LogicalUnits[0].Mode.WriteCacheEnabled);
        Expect.Check((await pair.B.RunAsync(Cdb.TestUnitReady)).Outcome, SenseKey.UnitAttention, 0x2A, 0x01);
        Expect.Good((await pair.A.RunAsync(Cdb.TestUnitReady)).Outcome);
        (o, sense) = await pair.B.RunAsync(Cdb.ModeSense10(0x08));
        Expect.Good(o);
        Assert.Equal(0, sense[8 + 2] & 0x04);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(HaMode.Proxy)]
    [InlineData(HaMode.Shared)]
    public async Task Every_mode_select_through_A_is_seen_by_the_next_command_through_B(HaMode mode)
    {
        await using var pair = await HaPair.StartAsync(mode, sharedBackend: mode == HaMode.Shared);
        var (o, sense) = await pair.A.RunAsync(Cdb.ModeSense10(0x08));
        Expect.Good(o);
        byte[] caching = sense[8..];
        for (int i = 0; i < 20; i++)
        {
            caching[2] ^= 0x04; // toggle WCE
            byte[] list = [0, 0, 0, 0, 0, 0, 0, 0, .. caching];
            Expect.Good((await pair.A.RunAsync(Cdb.ModeSelect10(list.Length), list)).Outcome);
            Expect.Check((await pair.B.RunAsync(Cdb.TestUnitReady)).Outcome, SenseKey.UnitAttention, 0x2A, 0x01);
            (o, sense) = await pair.B.RunAsync(Cdb.ModeSense10(0x08));
            Expect.Good(o);
            Assert.Equal(caching[2] & 0x04, sense[8 + 2] & 0x04);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Mode_select_through_B_in_proxy_mode_spares_the_requester_on_both_nodes()
    {
        await using var pair = await HaPair.StartAsync(HaMode.Proxy);
        var other = pair.B.NewNexus("iqn.test:other-on-b");
        await pair.B.DrainUnitAttentionsAsync(other);
        var (o, sense) = await pair.B.RunAsync(Cdb.ModeSense10(0x08));
        Expect.Good(o);
        byte[] caching = sense[8..];
        caching[2] &= unchecked((byte)~0x04);
        byte[] list = [0, 0, 0, 0, 0, 0, 0, 0, .. caching];
        Expect.Good((await pair.B.RunAsync(Cdb.ModeSelect10(list.Length), list)).Outcome);
        Assert.False(pair.B.Node.Engine.LogicalUnits[0].Mode.WriteCacheEnabled);
        Expect.Good((await pair.B.RunAsync(Cdb.TestUnitReady)).Outcome);
        Expect.Check((await pair.B.RunAsync(Cdb.TestUnitReady, nexus: other)).Outcome, SenseKey.UnitAttention, 0x2A, 0x01);
        Expect.Check((await pair.A.RunAsync(Cdb.TestUnitReady)).Outcome, SenseKey.UnitAttention, 0x2A, 0x01);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(HaMode.Proxy)]
    [InlineData(HaMode.Shared)]
    public async Task Persistent_reservation_made_through_B_is_visible_through_A(HaMode mode)
    {
        await using var pair = await HaPair.StartAsync(mode, sharedBackend: mode == HaMode.Shared);
        Expect.Good((await pair.B.RunAsync(Cdb.PrOut(0), Cdb.PrOutParameters(0, 0xABCD))).Outcome);
        Expect.Good((await pair.B.RunAsync(Cdb.PrOut(1, 0x01), Cdb.PrOutParameters(0xABCD, 0))).Outcome); // WRITE EXCLUSIVE
        Assert.True(pair.A.Node.Engine.LogicalUnits[0].ReservationState.Persistent.Export().Reserved);
        Assert.True(pair.B.Node.Engine.LogicalUnits[0].ReservationState.Persistent.Export().Reserved);
        var (o, data) = await pair.A.RunAsync(Cdb.PrIn(1)); // READ RESERVATION
        Expect.Good(o);
        Assert.Equal(16, data[7]);
        Assert.Equal(0xABCDUL, System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(8)));
        Assert.Equal(0x01, data[21] & 0x0F);
        // A's own initiator is not a registrant: its WRITE conflicts with B's reservation.
        var write = await pair.A.RunAsync(Cdb.Write10(0, 1), new byte[512]);
        Assert.Equal(ScsiStatus.ReservationConflict, write.Outcome.Status);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(HaMode.Proxy)]
    [InlineData(HaMode.Shared)]
    [InlineData(HaMode.Standby)]
    public async Task Link_loss_makes_B_transitioning_and_promotion_raises_2A_06(HaMode mode)
    {
        await using var pair = await HaPair.StartAsync(mode, sharedBackend: true);
        byte[] pattern = new byte[512];
        Random.Shared.NextBytes(pattern);
        Expect.Good((await pair.A.RunAsync(Cdb.Write10(3, 1), pattern)).Outcome);

        await pair.StopAAsync();
        await HaPair.WaitUntilAsync(() => !pair.B.Node.IsLinked);
        Expect.Check((await pair.B.RunAsync(Cdb.TestUnitReady)).Outcome, SenseKey.UnitAttention, 0x2A, 0x06);
        Expect.Check((await pair.B.RunAsync(Cdb.Read10(3, 1))).Outcome, SenseKey.NotReady, 0x04, 0x0A);
        var rtpg = await RtpgAsync(pair.B);
        Assert.Equal((AluaState.ActiveOptimized, AluaState.Transitioning), States(rtpg)); // A might still be primary

        var result = await pair.B.Node.SetRoleAsync(HaRole.Primary);
        Assert.True(result.Succeeded);
        Expect.Check((await pair.B.RunAsync(Cdb.TestUnitReady)).Outcome, SenseKey.UnitAttention, 0x2A, 0x06);
        var (o, data) = await pair.B.RunAsync(Cdb.Read10(3, 1));
        Expect.Good(o);
        Assert.Equal(pattern, data);
        rtpg = await RtpgAsync(pair.B);
        Assert.Equal((AluaState.Transitioning, AluaState.ActiveOptimized), States(rtpg)); // link still down: A's group Transitioning
    }

    [Fact(Timeout = 60_000)]
    public async Task Two_primaries_are_refused_while_the_link_is_up()
    {
        await using var pair = await HaPair.StartAsync(HaMode.Proxy);
        var result = await pair.B.Node.SetRoleAsync(HaRole.Primary);
        Assert.False(result.Succeeded);
        Assert.Equal(HaRole.Secondary, pair.B.Node.ViewOf(0).LocalRole);

        // Demote A, then B may take over; B's initiators see 2A/06 and the groups swap on both nodes.
        Assert.True((await pair.A.Node.SetRoleAsync(HaRole.Secondary)).Succeeded);
        await HaPair.WaitUntilAsync(() => !pair.B.Node.ViewOf(0).PeerPrimary);
        Assert.True((await pair.B.Node.SetRoleAsync(HaRole.Primary)).Succeeded);
        await HaPair.WaitUntilAsync(() => pair.A.Node.ViewOf(0).PeerPrimary);
        await pair.A.DrainUnitAttentionsAsync();
        await pair.B.DrainUnitAttentionsAsync();
        var viaA = await RtpgAsync(pair.A);
        Assert.Equal(viaA, await RtpgAsync(pair.B));
        Assert.Equal((AluaState.ActiveNonOptimized, AluaState.ActiveOptimized), States(viaA));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_LUN_with_a_different_identity_is_excluded_and_reported_as_a_conflict()
    {
        var a = new TestNode(new HaNodeOptions
        {
            NodeId = 1, Mode = HaMode.Proxy, DefaultRole = HaRole.Primary,
            Interlink = HaPair.Fast(new CtlHa.Interlink.InterlinkEndpoint(CtlHa.Interlink.InterlinkSide.Listen, new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0))),
        }, new MemoryBackend(4 << 20));
        using var stop = new CancellationTokenSource();
        var runA = a.Node.RunAsync(stop.Token);
        var endPoint = await a.Node.Link!.ListeningAsync.WaitAsync(TimeSpan.FromSeconds(5));
        var b = new TestNode(new HaNodeOptions
        {
            NodeId = 2, Mode = HaMode.Proxy, DefaultRole = HaRole.Secondary,
            Interlink = HaPair.Fast(new CtlHa.Interlink.InterlinkEndpoint(CtlHa.Interlink.InterlinkSide.Connect, endPoint)),
        }, new MemoryBackend(4 << 20), serial: "OTHER"); // another device identifier (a size alone is not identity)
        var runB = b.Node.RunAsync(stop.Token);
        try
        {
            await HaPair.WaitUntilAsync(() => b.Node.GetStatus().Luns[0].Conflict is not null && a.Node.GetStatus().Luns[0].Conflict is not null);
            Assert.False(b.Node.ViewOf(0).PeerPrimary);
            await b.DrainUnitAttentionsAsync();
            Expect.Check((await b.RunAsync(Cdb.Read10(0, 1))).Outcome, SenseKey.NotReady, 0x04, 0x0A);
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(runA, runB).WaitAsync(TimeSpan.FromSeconds(5));
        }
    }
}

/// <summary>Mode unavailable: no interlink at all.</summary>
public sealed class UnavailableModeTests
{
    private static TestNode Node(HaRole role) =>
        new(new HaNodeOptions { NodeId = 2, Mode = HaMode.Unavailable, DefaultRole = role }, new MemoryBackend(1 << 20));

    [Fact(Timeout = 30_000)]
    public async Task A_secondary_without_interlink_is_unavailable_and_request_sense_reports_25_00()
    {
        var node = Node(HaRole.Secondary);
        Expect.Check((await node.RunAsync(Cdb.TestUnitReady)).Outcome, SenseKey.UnitAttention, 0x29, 0x01); // UAs before gates
        Expect.Check((await node.RunAsync(Cdb.Read10(0, 1))).Outcome, SenseKey.NotReady, 0x04, 0x0C);
        var (o, data) = await node.RunAsync(Cdb.RequestSense());
        Expect.Good(o);
        Assert.Equal(0x05, data[2] & 0x0F);
        Assert.Equal(0x25, data[12]);
        (o, data) = await node.RunAsync(Cdb.Inquiry());
        Expect.Good(o);
        Assert.Equal(0x20, data[0] & 0xE0); // peripheral qualifier 001b
        Assert.Equal(0x10, data[5] & 0x30); // TPGS = 01b
        (o, data) = await node.RunAsync(Cdb.Rtpg());
        Expect.Good(o);
        Assert.Equal((byte)AluaState.ActiveOptimized, (byte)(data[4] & 0x0F)); // TPG 2: node 1 might be primary
        Assert.Equal((byte)AluaState.Unavailable, (byte)(data[4 + 8 + 4] & 0x0F)); // TPG 3: this node
    }

    [Fact(Timeout = 30_000)]
    public async Task A_primary_without_interlink_serves_media_and_reports_the_peer_unavailable()
    {
        var node = Node(HaRole.Primary);
        await node.DrainUnitAttentionsAsync();
        Expect.Good((await node.RunAsync(Cdb.Write10(0, 1), new byte[512])).Outcome);
        var (o, data) = await node.RunAsync(Cdb.Rtpg());
        Expect.Good(o);
        Assert.Equal((byte)AluaState.Unavailable, (byte)(data[4] & 0x0F));
        Assert.Equal((byte)AluaState.ActiveOptimized, (byte)(data[4 + 8 + 4] & 0x0F));
        Assert.Equal(0, node.Node.GetStatus().ForwardedCommands);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_node_without_interlink_runs_in_mode_unavailable_whatever_mode_was_asked()
    {
        var node = new TestNode(new HaNodeOptions { NodeId = 1, Mode = HaMode.Proxy, DefaultRole = HaRole.Secondary }, new MemoryBackend(1 << 20));
        Assert.Equal(HaMode.Unavailable, node.Node.Mode);
        Assert.Null(node.Node.Link);
        await node.DrainUnitAttentionsAsync();
        Expect.Check((await node.RunAsync(Cdb.Read10(0, 1))).Outcome, SenseKey.NotReady, 0x04, 0x0C);
        Assert.Equal(HaLinkState.Offline, node.Node.GetStatus().Link);
    }

    [Fact(Timeout = 30_000)]
    public async Task Promotion_raises_2A_06_for_every_local_nexus()
    {
        var node = Node(HaRole.Secondary);
        var other = node.NewNexus("iqn.test:second");
        await node.DrainUnitAttentionsAsync();
        await node.DrainUnitAttentionsAsync(other);
        Assert.True((await node.Node.SetRoleAsync(HaRole.Primary, 0)).Succeeded);
        Expect.Check((await node.RunAsync(Cdb.TestUnitReady)).Outcome, SenseKey.UnitAttention, 0x2A, 0x06);
        Expect.Check((await node.RunAsync(Cdb.TestUnitReady, nexus: other)).Outcome, SenseKey.UnitAttention, 0x2A, 0x06);
        Expect.Good((await node.RunAsync(Cdb.Read10(0, 1))).Outcome);
    }
}

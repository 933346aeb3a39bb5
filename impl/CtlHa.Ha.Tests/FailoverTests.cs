using System.Net;
using CtlHa.Core;
using CtlHa.Interlink;
using CtlHa.Scsi.Backends;

namespace CtlHa.Ha.Tests;

[Collection("loopback")]
public sealed class FailoverTests
{
    [Theory(Timeout = 60_000)]
    [InlineData(HaMode.Proxy)]
    [InlineData(HaMode.Standby)]
    public async Task A_secondary_keeps_its_store_closed_until_promotion_and_closes_it_again_on_demotion(HaMode mode)
    {
        using var temp = new TempDirectory("ctlha-store-");
        string dir = temp.Path;
        var storeA = new DetachableBackend(FileBackend.Open(Path.Combine(dir, "a.img"), 4 << 20), () => FileBackend.Open(Path.Combine(dir, "a.img")));
        var storeB = new DetachableBackend(FileBackend.Open(Path.Combine(dir, "b.img"), 4 << 20), () => FileBackend.Open(Path.Combine(dir, "b.img")));
        await using var pair = await HaPair.StartAsync(mode, backendOfA: storeA, backendOfB: storeB);
        Assert.True(storeA.IsOpen);
        Assert.False(storeB.IsOpen); // secondary in standby/proxy: never touches the medium

        await pair.StopAAsync();
        await HaPair.WaitUntilAsync(() => !pair.B.Node.IsLinked);
        Assert.False(storeB.IsOpen);
        Assert.True((await pair.B.Node.SetRoleAsync(HaRole.Primary)).Succeeded);
        Assert.True(storeB.IsOpen);
        await pair.B.DrainUnitAttentionsAsync();
        Expect.Good((await pair.B.RunAsync(Cdb.Write10(0, 1), new byte[512])).Outcome);

        Assert.True((await pair.B.Node.SetRoleAsync(HaRole.Secondary)).Succeeded);
        Assert.False(storeB.IsOpen);
        await storeA.DisposeAsync();
        await storeB.DisposeAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task Many_concurrent_proxy_commands_through_B_complete_correctly()
    {
        await using var pair = await HaPair.StartAsync(HaMode.Proxy);
        const int Count = 64;
        var patterns = Enumerable.Range(0, Count).Select(i => Enumerable.Repeat((byte)(i + 1), 4096).ToArray()).ToArray();
        var writes = Enumerable.Range(0, Count).Select(i => pair.B.RunAsync(Cdb.Write10((uint)(i * 8), 8), patterns[i]));
        foreach (var (o, _) in await Task.WhenAll(writes))
        {
            Expect.Good(o);
        }
        var reads = await Task.WhenAll(Enumerable.Range(0, Count).Select(i => pair.B.RunAsync(Cdb.Read10((uint)(i * 8), 8))));
        for (int i = 0; i < Count; i++)
        {
            Expect.Good(reads[i].Outcome);
            Assert.Equal(patterns[i], reads[i].Data);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Serseq_early_unblocking_holds_across_the_link_a_slow_initiator_on_B_does_not_hold_the_next_read()
    {
        await using var pair = await HaPair.StartAsync(HaMode.Proxy);
        var slow = new TestChannel { SendGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var first = pair.B.RunAsync(Cdb.Read10(0, 8), channelToUse: slow);
        await slow.SendStarted.Task.WaitAsync(TimeSpan.FromSeconds(5)); // A read the media and handed the data over the link
        var (second, _) = await pair.B.RunAsync(Cdb.Read10(8, 8)).WaitAsync(TimeSpan.FromSeconds(5));
        Expect.Good(second);
        Assert.False(first.IsCompleted);
        slow.SendGate.TrySetResult();
        Expect.Good((await first).Outcome);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_node_returning_as_secondary_adopts_the_new_primarys_reservation_including_the_reserved_flag()
    {
        var shared = new MemoryBackend(4 << 20);
        await using var pair = await HaPair.StartAsync(HaMode.Proxy, sharedBackend: true);
        Expect.Good((await pair.A.RunAsync(Cdb.PrOut(0), Cdb.PrOutParameters(0, 0x77))).Outcome);
        Expect.Good((await pair.A.RunAsync(Cdb.PrOut(1, 0x03), Cdb.PrOutParameters(0x77, 0))).Outcome); // EXCLUSIVE ACCESS
        await HaPair.WaitUntilAsync(() => pair.B.Node.Engine.LogicalUnits[0].ReservationState.Persistent.Export().Reserved);

        // A dies; B takes over.
        await pair.StopAAsync();
        await HaPair.WaitUntilAsync(() => !pair.B.Node.IsLinked);
        Assert.True((await pair.B.Node.SetRoleAsync(HaRole.Primary)).Succeeded);

        // A comes back (fresh process) as secondary and listens again; B is pointed at it.
        var a2 = new TestNode(new HaNodeOptions
        {
            NodeId = 1, Mode = HaMode.Proxy, DefaultRole = HaRole.Secondary,
            Interlink = HaPair.Fast(new InterlinkEndpoint(InterlinkSide.Listen, new IPEndPoint(IPAddress.Loopback, 0))),
        }, pair.A.Backend);
        using var stop = new CancellationTokenSource();
        var run = a2.Node.RunAsync(stop.Token);
        try
        {
            var endPoint = await a2.Node.Link!.ListeningAsync.WaitAsync(TimeSpan.FromSeconds(5));
            pair.B.Node.Link!.Reconfigure(new InterlinkEndpoint(InterlinkSide.Connect, endPoint));
            // The reservation arrives in the link-up state sync: wait for its end (SyncComplete), not just for the
            // peer's role, which an earlier sync message already carries.
            await HaPair.WaitUntilAsync(() => a2.Node.IsPeerSynced && a2.Node.ViewOf(0).PeerPrimary && pair.B.Node.IsLinked);
            var pr = a2.Node.Engine.LogicalUnits[0].ReservationState.Persistent.Export();
            Assert.True(pr.Reserved); // CTL loses this flag (ctl-ha.md §12.2 item 3)
            Assert.Equal(Scsi.Reservations.PrType.ExclusiveAccess, pr.Type);
            Assert.Single(pr.Registrations);

            await a2.DrainUnitAttentionsAsync();
            await pair.B.DrainUnitAttentionsAsync();
            var (o1, viaA) = await a2.RunAsync(Cdb.Rtpg());
            var (o2, viaB) = await pair.B.RunAsync(Cdb.Rtpg());
            Expect.Good(o1);
            Expect.Good(o2);
            Assert.Equal(viaA, viaB);
            Assert.Equal((byte)AluaState.ActiveNonOptimized, (byte)(viaA[4] & 0x0F));
            Assert.Equal((byte)AluaState.ActiveOptimized, (byte)(viaA[4 + 12] & 0x0F));

            // The reservation holder (A's initiator, now reaching the LUN through A2 → B) still may read; nobody else.
            var (read, _) = await a2.RunAsync(Cdb.Read10(0, 1));
            Assert.Equal(ScsiStatus.ReservationConflict, read.Status); // a2's nexus is a new I_T nexus, not the holder
        }
        finally
        {
            await stop.CancelAsync();
            await run.WaitAsync(TimeSpan.FromSeconds(5));
        }
        GC.KeepAlive(shared);
    }
}

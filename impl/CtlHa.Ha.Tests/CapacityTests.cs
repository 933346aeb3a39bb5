using System.Buffers.Binary;
using CtlHa.Core;
using CtlHa.Scsi.Backends;

namespace CtlHa.Ha.Tests;

/// <summary>
/// Online resize across the pair (real files, real loopback interlink): the primary grows the LUN, the peer adopts the
/// size from LunSync, initiators on both nodes get 2A/09 once and READ CAPACITY agrees wherever it can run.
/// </summary>
[Collection("loopback")]
public sealed class CapacityTests
{
    private const long OldSize = 4 << 20;
    private const long NewSize = 8 << 20;

    private static byte[] ReadCapacity16() => [0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0];

    private static async Task<ulong> LastLbaAsync(TestNode node)
    {
        var (o, d) = await node.RunAsync(ReadCapacity16());
        Expect.Good(o);
        return BinaryPrimitives.ReadUInt64BigEndian(d);
    }

    [Theory(Timeout = 90_000)]
    [InlineData(HaMode.Shared)]
    [InlineData(HaMode.Proxy)]
    [InlineData(HaMode.Standby)]
    public async Task Resize_through_the_primary_reaches_initiators_on_both_nodes(HaMode mode)
    {
        using var temp = new TempDirectory("ctlha-resize-");
        string dir = temp.Path;
        var (storeA, storeB) = HaPair.FileStores(mode, dir, OldSize, fileForEachInStandby: true);
        await using (var pair = await HaPair.StartAsync(mode, backendOfA: storeA, backendOfB: storeB))
        {
            var a2 = pair.A.NewNexus("iqn.test:a2");
            var b2 = pair.B.NewNexus("iqn.test:b2");
            await pair.A.DrainUnitAttentionsAsync(a2);
            await pair.B.DrainUnitAttentionsAsync(b2);

            // The secondary refuses while linked, and says where to go.
            var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => pair.B.Node.ResizeLunAsync(0, NewSize));
            Assert.Contains("primary", refused.Message, StringComparison.Ordinal);
            Assert.Equal(OldSize / 512, pair.B.Node.Engine.LogicalUnits[0].BlockCount);

            Assert.True(await pair.A.Node.ResizeLunAsync(0, NewSize));
            Assert.Equal(NewSize, new FileInfo(Path.Combine(dir, "a.img")).Length);
            // Returned after the peer's fence: B has adopted the size, no conflict.
            Assert.Equal(NewSize / 512, pair.B.Node.Engine.LogicalUnits[0].BlockCount);
            Assert.Null(pair.B.Node.GetStatus().Luns[0].Conflict);
            Assert.Null(pair.A.Node.GetStatus().Luns[0].Conflict);
            Assert.True(pair.B.Node.ViewOf(0).PeerPrimary);

            foreach (var (node, nexus) in new[] { (pair.A, pair.A.Nexus), (pair.A, a2), (pair.B, pair.B.Nexus), (pair.B, b2) })
            {
                Expect.Check((await node.RunAsync(Cdb.TestUnitReady, nexus: nexus)).Outcome, SenseKey.UnitAttention, 0x2A, 0x09);
                var again = (await node.RunAsync(Cdb.TestUnitReady, nexus: nexus)).Outcome;
                Assert.False(again.Sense is { Key: SenseKey.UnitAttention }, $"2A/09 only once, got {again}");
            }
            Assert.Equal((ulong)(NewSize / 512 - 1), await LastLbaAsync(pair.A));
            if (mode != HaMode.Standby)
            {
                // Standby: READ CAPACITY is not allowed on the standby path (02/04/0B); the others answer through B.
                Assert.Equal((ulong)(NewSize / 512 - 1), await LastLbaAsync(pair.B));
                byte[] pattern = Enumerable.Repeat((byte)0x5A, 512).ToArray();
                uint last = (uint)(NewSize / 512 - 1);
                Expect.Good((await pair.B.RunAsync(Cdb.Write10(last, 1), pattern)).Outcome);
                var (read, data) = await pair.A.RunAsync(Cdb.Read10(last, 1));
                Expect.Good(read);
                Assert.Equal(pattern, data);
            }

            // Failover: B takes over and opens its store (grown or shared) with the new size, no mismatch.
            await pair.StopAAsync();
            await HaPair.WaitUntilAsync(() => !pair.B.Node.IsLinked);
            var promoted = await pair.B.Node.SetRoleAsync(HaRole.Primary);
            Assert.True(promoted.Succeeded, string.Join("; ", promoted.Refused));
            await pair.B.DrainUnitAttentionsAsync();
            Assert.Equal((ulong)(NewSize / 512 - 1), await LastLbaAsync(pair.B));
            Expect.Good((await pair.B.RunAsync(Cdb.Read10((uint)(NewSize / 512 - 1), 1))).Outcome);
            // Unlinked, the primary may resize again on its own.
            Assert.True(await pair.B.Node.ResizeLunAsync(0, 2 * NewSize));
            Expect.Check((await pair.B.RunAsync(Cdb.TestUnitReady)).Outcome, SenseKey.UnitAttention, 0x2A, 0x09);
            Assert.Equal((ulong)(2 * NewSize / 512 - 1), await LastLbaAsync(pair.B));
        }
        await storeA.DisposeAsync();
        if (!ReferenceEquals(storeA, storeB))
        {
            await storeB.DisposeAsync();
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_secondary_with_another_size_adopts_the_primarys_at_link_up_without_a_conflict()
    {
        using var temp = new TempDirectory("ctlha-resize-");
        string dir = temp.Path;
        var storeA = new DetachableBackend(FileBackend.Open(Path.Combine(dir, "a.img"), NewSize), () => FileBackend.Open(Path.Combine(dir, "a.img")));
        var storeB = new DetachableBackend(FileBackend.Open(Path.Combine(dir, "b.img"), OldSize), () => FileBackend.Open(Path.Combine(dir, "b.img")));
        await using (var pair = await HaPair.StartAsync(HaMode.Proxy, backendOfA: storeA, backendOfB: storeB))
        {
            Assert.Null(pair.B.Node.GetStatus().Luns[0].Conflict);
            Assert.Null(pair.A.Node.GetStatus().Luns[0].Conflict);
            Assert.Equal(NewSize / 512, pair.B.Node.Engine.LogicalUnits[0].BlockCount);
            Assert.Equal((ulong)(NewSize / 512 - 1), await LastLbaAsync(pair.B));
        }
        await storeA.DisposeAsync();
        await storeB.DisposeAsync();
    }
}

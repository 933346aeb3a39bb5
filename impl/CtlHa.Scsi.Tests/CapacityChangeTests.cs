using System.Buffers.Binary;
using CtlHa.Core;
using CtlHa.Scsi.Backends;

namespace CtlHa.Scsi.Tests;

/// <summary>Online LUN resize on a real sparse file: new capacity everywhere, 2A/09 once per I_T nexus.</summary>
public sealed class CapacityChangeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ctlha-resize-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static byte[] ReadCapacity10() => [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    [Fact]
    public async Task Growing_a_file_lun_changes_read_capacity_and_every_nexus_gets_capacity_data_changed_once()
    {
        string path = Path.Combine(_dir, "lun.img");
        var h = await Harness.ReadyAsync(sizeBytes: 1 << 20, backend: s => FileBackend.Open(path, s));
        var other = h.NewNexus("iqn.test:other");
        await h.ClearUnitAttentionsAsync(other);
        byte[] pattern = Cdbs.Pattern(512, 7);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Write10(2047, 1), pattern)).Outcome);
        // Beyond the old end: out of range.
        OutcomeAssert.Check((await h.RunAsync(Cdbs.Read10(2048, 1))).Outcome, SenseKey.IllegalRequest, 0x21, 0x00);

        Assert.True(await h.Lun0.ResizeAsync(4096));

        Assert.Equal(2L << 20, new FileInfo(path).Length);
        foreach (var nexus in new[] { h.Nexus, other })
        {
            OutcomeAssert.Check((await h.RunAsync(Cdbs.TestUnitReady(), nexus: nexus)).Outcome, SenseKey.UnitAttention, 0x2A, 0x09);
            OutcomeAssert.Good((await h.RunAsync(Cdbs.TestUnitReady(), nexus: nexus)).Outcome); // once
        }
        var (o10, rc10) = await h.RunAsync(ReadCapacity10());
        OutcomeAssert.Good(o10);
        Assert.Equal(4095u, BinaryPrimitives.ReadUInt32BigEndian(rc10));
        var (o16, rc16) = await h.RunAsync(Cdbs.ReadCapacity16());
        OutcomeAssert.Good(o16);
        Assert.Equal(4095ul, BinaryPrimitives.ReadUInt64BigEndian(rc16));
        // The new blocks are addressable and read as zeros; the old data is still there.
        var (read, data) = await h.RunAsync(Cdbs.Read10(2047, 2));
        OutcomeAssert.Good(read);
        Assert.Equal(pattern, data[..512]);
        Assert.All(data[512..], b => Assert.Equal(0, b));
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Write10(4095, 1), pattern)).Outcome);
        OutcomeAssert.Check((await h.RunAsync(Cdbs.Read10(4096, 1))).Outcome, SenseKey.IllegalRequest, 0x21, 0x00);
        // The same size again changes nothing and raises nothing.
        Assert.False(await h.Lun0.ResizeAsync(4096));
        OutcomeAssert.Good((await h.RunAsync(Cdbs.TestUnitReady())).Outcome);
    }

    [Fact]
    public async Task Shrinking_is_refused_and_changes_nothing()
    {
        string path = Path.Combine(_dir, "lun.img");
        var h = await Harness.ReadyAsync(sizeBytes: 1 << 20, backend: s => FileBackend.Open(path, s));
        var e = await Assert.ThrowsAsync<InvalidOperationException>(async () => await h.Lun0.ResizeAsync(1024));
        Assert.Contains("shrinking", e.Message, StringComparison.Ordinal);
        Assert.Equal(2048, h.Lun0.BlockCount);
        Assert.Equal(1L << 20, new FileInfo(path).Length);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.TestUnitReady())).Outcome);
    }

    [Fact]
    public async Task A_closed_detachable_store_takes_the_new_size_and_reopens_the_grown_file()
    {
        string path = Path.Combine(_dir, "lun.img");
        await using var store = new DetachableBackend(FileBackend.Open(path, 1 << 20), () => FileBackend.Open(path));
        await store.CloseAsync();
        await ((IBlockBackend)store).ResizeAsync(2 << 20, CancellationToken.None);
        Assert.Equal(2L << 20, store.SizeBytes);
        store.Open(); // the file is still 1 MiB: the adopted size grows it instead of failing
        Assert.Equal(2L << 20, new FileInfo(path).Length);
        byte[] buffer = new byte[512];
        await store.ReadAsync((2 << 20) - 512, buffer, CancellationToken.None);
    }

    [Fact]
    public async Task A_store_that_cannot_resize_refuses_and_the_lun_keeps_its_size()
    {
        var h = await Harness.ReadyAsync(sizeBytes: 1 << 20, backend: s => new GatedBackend(s));
        await Assert.ThrowsAsync<NotSupportedException>(async () => await h.Lun0.ResizeAsync(4096));
        Assert.Equal(2048, h.Lun0.BlockCount);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.TestUnitReady())).Outcome);
    }
}

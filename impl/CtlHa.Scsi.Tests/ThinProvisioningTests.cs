using System.Buffers.Binary;
using CtlHa.Core;
using CtlHa.Scsi.Backends;

namespace CtlHa.Scsi.Tests;

public sealed class ThinProvisioningTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ctlha-scsi-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static List<(ulong Lba, uint Blocks, int Status)> Descriptors(byte[] d)
    {
        var list = new List<(ulong, uint, int)>();
        int length = (int)BinaryPrimitives.ReadUInt32BigEndian(d) + 4;
        for (int off = 8; off + 16 <= Math.Min(length, d.Length); off += 16)
        {
            list.Add((BinaryPrimitives.ReadUInt64BigEndian(d.AsSpan(off)), BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(off + 8)), d[off + 12] & 0x0F));
        }
        return list;
    }

    private async Task<Harness> FileHarnessAsync(long size = 4 << 20, int blockSize = 512) =>
        await Harness.ReadyAsync(sizeBytes: size, options: new LogicalUnitOptions { BlockSize = blockSize },
            backend: s => FileBackend.Open(Path.Combine(_dir, $"lun{Guid.NewGuid():N}.img"), s));

    [Fact]
    public async Task A_new_file_backend_is_sparse_and_reads_zeros()
    {
        string path = Path.Combine(_dir, "a.img");
        await using (var backend = FileBackend.Open(path, 64 << 20))
        {
            Assert.Equal(64 << 20, backend.SizeBytes);
            byte[] buffer = new byte[4096];
            buffer[0] = 1;
            await backend.ReadAsync(1 << 20, buffer, CancellationToken.None);
            Assert.All(buffer, b => Assert.Equal(0, b));
            var extents = await backend.GetAllocationAsync(0, 64 << 20, CancellationToken.None);
            Assert.Equal([new AllocationExtent(0, 64 << 20, false)], extents);
        }
        Assert.Equal(64 << 20, new FileInfo(path).Length);
        await using var reopened = FileBackend.Open(path);
        Assert.Equal(64 << 20, reopened.SizeBytes);
    }

    [Fact]
    public async Task File_backend_punches_holes_that_read_back_as_zeros()
    {
        await using var backend = FileBackend.Open(Path.Combine(_dir, "b.img"), 1 << 20);
        byte[] data = Cdbs.Pattern(64 * 1024, 1);
        await backend.WriteAsync(0, data, false, CancellationToken.None);
        var mapped = await backend.GetAllocationAsync(0, 1 << 20, CancellationToken.None);
        Assert.True(mapped[0].Mapped);
        Assert.True(mapped[0].Length >= 64 * 1024);
        await backend.UnmapAsync(16 * 1024, 32 * 1024, CancellationToken.None);
        byte[] read = new byte[64 * 1024];
        await backend.ReadAsync(0, read, CancellationToken.None);
        Assert.Equal(data[..(16 * 1024)], read[..(16 * 1024)]);
        Assert.All(read[(16 * 1024)..(48 * 1024)], b => Assert.Equal(0, b));
        Assert.Equal(data[(48 * 1024)..], read[(48 * 1024)..]);
        var extents = await backend.GetAllocationAsync(0, 64 * 1024, CancellationToken.None);
        if (OperatingSystem.IsLinux())
        {
            Assert.Contains(new AllocationExtent(16 * 1024, 32 * 1024, false), extents);
        }
        Assert.Equal(64 * 1024, extents.Sum(e => e.Length));
    }

    [Fact]
    public async Task Memory_backend_frees_whole_chunks_and_zeros_partial_ones()
    {
        var backend = new MemoryBackend(4 * MemoryBackend.ChunkSize);
        await backend.WriteAsync(0, Cdbs.Pattern(2 * MemoryBackend.ChunkSize, 2), false, CancellationToken.None);
        await backend.UnmapAsync(100, MemoryBackend.ChunkSize * 2 - 100, CancellationToken.None);
        var extents = await backend.GetAllocationAsync(0, 4 * MemoryBackend.ChunkSize, CancellationToken.None);
        Assert.Equal(
            [new AllocationExtent(0, MemoryBackend.ChunkSize, true), new AllocationExtent(MemoryBackend.ChunkSize, 3 * MemoryBackend.ChunkSize, false)],
            extents);
        byte[] read = new byte[200];
        await backend.ReadAsync(0, read, CancellationToken.None);
        Assert.All(read[100..], b => Assert.Equal(0, b));
    }

    [Theory]
    [InlineData(512)]
    [InlineData(4096)]
    public async Task Unmap_punches_holes_visible_through_get_lba_status(int blockSize)
    {
        var h = await FileHarnessAsync(blockSize: blockSize);
        uint per4k = (uint)(4096 / blockSize);
        ushort blocks = (ushort)(16 * per4k); // 64 KiB
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Write10(0, blocks), Cdbs.Pattern(blocks * blockSize, 3))).Outcome);
        var before = Descriptors((await h.RunAsync(Cdbs.GetLbaStatus(0))).Data);
        Assert.Equal((0UL, (uint)blocks, 0), before[0]);
        byte[] p = Cdbs.UnmapParameters((4 * per4k, 8 * per4k));
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Unmap(p.Length), p)).Outcome);
        var after = Descriptors((await h.RunAsync(Cdbs.GetLbaStatus(0))).Data);
        if (OperatingSystem.IsLinux())
        {
            Assert.Equal((0UL, 4 * per4k, 0), after[0]);
            Assert.Equal((4UL * per4k, 8 * per4k, 1), after[1]);
            Assert.Equal((12UL * per4k, 4 * per4k, 0), after[2]);
            Assert.Equal(1, after[3].Status);
            var fromMiddle = Descriptors((await h.RunAsync(Cdbs.GetLbaStatus(6 * per4k))).Data);
            Assert.Equal((6UL * per4k, 6 * per4k, 1), fromMiddle[0]);
        }
        Assert.All((await h.RunAsync(Cdbs.Read10(4 * per4k, (ushort)(8 * per4k)))).Data, b => Assert.Equal(0, b));
    }

    [Fact]
    public async Task Get_lba_status_validates_the_lba_and_clips_to_the_allocation_length()
    {
        var h = await Harness.ReadyAsync(sizeBytes: 1 << 20);
        OutcomeAssert.Check((await h.RunAsync(Cdbs.GetLbaStatus(2048))).Outcome, SenseKey.IllegalRequest, 0x21, 0);
        var (o, d) = await h.RunAsync(Cdbs.GetLbaStatus(0, alloc: 24));
        OutcomeAssert.Good(o);
        Assert.Equal(24, d.Length);
        Assert.Equal((0UL, 2048u, 1), Descriptors(d)[0]);
    }

    [Fact]
    public async Task Write_same_with_unmap_deallocates_and_without_it_replicates_the_block()
    {
        var h = await Harness.ReadyAsync(sizeBytes: 4 << 20);
        byte[] block = Cdbs.Pattern(512, 4);
        byte[] ws16 = Cdbs.Rw16(0x93, 256, 300);
        OutcomeAssert.Good((await h.RunAsync(ws16, block)).Outcome);
        var data = (await h.RunAsync(Cdbs.Read10(256, 300))).Data;
        for (int i = 0; i < 300; i++)
        {
            Assert.Equal(block, data[(i * 512)..((i + 1) * 512)]);
        }
        byte[] ws10Unmap = Cdbs.Rw10(0x41, 256, 256, flags: 0x08);
        OutcomeAssert.Good((await h.RunAsync(ws10Unmap, new byte[512])).Outcome);
        var status = Descriptors((await h.RunAsync(Cdbs.GetLbaStatus(256))).Data);
        Assert.Equal((256UL, 128u * 2, 1), status[0]); // 128 KiB = 2 memory chunks deallocated
        byte[] ndob = Cdbs.Rw16(0x93, 512, 8, flags: 0x09); // UNMAP | NDOB
        OutcomeAssert.Good((await h.RunAsync(ndob)).Outcome);
        Assert.All((await h.RunAsync(Cdbs.Read10(512, 8))).Data, b => Assert.Equal(0, b));
    }

    [Fact]
    public async Task Write_same_with_unmap_deallocates_even_when_the_block_is_not_zero_SBC4_anchor_unmap_table()
    {
        // SBC-4: UNMAP=1, ANCHOR=0 → a thin LU deallocates each LBA; the Data-Out block does not matter (libiscsi
        // WriteSame10.UnmapUntilEnd sends 0xFF and expects zeros back with LBPRZ=1).
        var h = await Harness.ReadyAsync(sizeBytes: 4 << 20);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Rw10(0x2A, 1000, 8), Cdbs.Pattern(8 * 512, 3))).Outcome);
        byte[] ff = new byte[512];
        Array.Fill(ff, (byte)0xFF);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Rw10(0x41, 1000, 8, flags: 0x08), ff)).Outcome);
        Assert.All((await h.RunAsync(Cdbs.Read10(1000, 8))).Data, b => Assert.Equal(0, b));
    }

    [Fact]
    public async Task Write_same_lbdata_stamps_each_block_with_its_lba()
    {
        var h = await Harness.ReadyAsync();
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Rw10(0x41, 40, 3, flags: 0x02), new byte[512])).Outcome);
        var d = (await h.RunAsync(Cdbs.Read10(40, 3))).Data;
        Assert.Equal(41u, BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(512)));
    }

    [Fact]
    public async Task Write_same_field_errors()
    {
        var h = await Harness.ReadyAsync(engineOptions: new ScsiEngineOptions { MaxWriteSameBlocks = 1000 });
        // WSNZ=0: 0 blocks at LBA 0 means all 32768 blocks, more than MAXIMUM WRITE SAME LENGTH.
        OutcomeAssert.Field((await h.RunAsync(Cdbs.Rw10(0x41, 0, 0), new byte[512])).Outcome, 7);
        OutcomeAssert.Field((await h.RunAsync(Cdbs.Rw16(0x93, 0, 1001), new byte[512])).Outcome, 10);   // > max
        OutcomeAssert.Field((await h.RunAsync(Cdbs.Rw16(0x93, 0, 1, flags: 0x18), new byte[512])).Outcome, 1, 4); // ANCHOR
        OutcomeAssert.Check((await h.RunAsync(Cdbs.Rw16(0x93, 32767, 2), new byte[512])).Outcome, SenseKey.IllegalRequest, 0x21, 0);
    }

    [Fact]
    public async Task Write_same_of_zero_blocks_writes_from_the_lba_to_the_last_block()
    {
        var h = await Harness.ReadyAsync(sizeBytes: 1 << 20); // 2048 blocks
        byte[] block = Cdbs.Pattern(512, 5);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Rw10(0x41, 2040, 0), block)).Outcome);
        var data = (await h.RunAsync(Cdbs.Read10(2039, 9))).Data;
        Assert.All(data[..512], b => Assert.Equal(0, b));
        for (int i = 1; i < 9; i++)
        {
            Assert.Equal(block, data[(i * 512)..((i + 1) * 512)]);
        }
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Rw16(0x93, 2048, 0), block)).Outcome); // nothing left to write
        OutcomeAssert.Check((await h.RunAsync(Cdbs.Rw16(0x93, 2049, 0), block)).Outcome, SenseKey.IllegalRequest, 0x21, 0);
        var (_, b0) = await h.RunAsync(Cdbs.Inquiry(true, 0xB0));
        Assert.Equal(0, b0[4] & 0x01); // WSNZ
    }

    [Fact]
    public async Task Write_same_whose_data_out_is_not_one_block_is_invalid()
    {
        var h = await Harness.ReadyAsync();
        byte[] ws10 = Cdbs.Rw10(0x41, 0, 1, flags: 0x08);
        OutcomeAssert.Field(await h.RunDeclaredWriteAsync(ws10, new byte[256], 256), 7);
        OutcomeAssert.Field(await h.RunDeclaredWriteAsync(ws10, new byte[1024], 1024), 7);
        OutcomeAssert.Good(await h.RunDeclaredWriteAsync(ws10, new byte[512], 512));
    }

    [Theory]
    [InlineData(null, 0)]
    [InlineData(512, 0)]
    [InlineData(4096, 3)]
    [InlineData(1 << 16, 7)]
    public async Task Read_capacity_16_reports_the_configured_physical_block_size(int? physicalBlockSize, int exponent)
    {
        var h = await Harness.ReadyAsync(options: new LogicalUnitOptions { PhysicalBlockSize = physicalBlockSize });
        byte[] cdb = new byte[16];
        cdb[0] = 0x9E;
        cdb[1] = 0x10;
        cdb[13] = 32;
        var (_, d) = await h.RunAsync(cdb);
        Assert.Equal(exponent, d[13] & 0x0F); // LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT
    }

    [Theory]
    [InlineData(256)]
    [InlineData(1536)]
    [InlineData(512 << 16)]
    public void A_physical_block_that_is_not_a_power_of_two_blocks_is_refused(int physicalBlockSize) =>
        Assert.Throws<ArgumentException>(() => new LogicalUnit(0, new MemoryBackend(1 << 20), new LogicalUnitOptions { PhysicalBlockSize = physicalBlockSize }));

    [Fact]
    public async Task Unmap_parameter_errors()
    {
        var h = await Harness.ReadyAsync(sizeBytes: 1 << 20);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Unmap(0))).Outcome);
        OutcomeAssert.Check((await h.RunAsync(Cdbs.Unmap(4), new byte[4])).Outcome, SenseKey.IllegalRequest, 0x1A, 0);
        byte[] outOfRange = Cdbs.UnmapParameters((2040, 9));
        OutcomeAssert.Check((await h.RunAsync(Cdbs.Unmap(outOfRange.Length), outOfRange)).Outcome, SenseKey.IllegalRequest, 0x21, 0);
        byte[] badLength = Cdbs.UnmapParameters((0, 1));
        BinaryPrimitives.WriteUInt16BigEndian(badLength.AsSpan(2), 32);
        OutcomeAssert.Field((await h.RunAsync(Cdbs.Unmap(badLength.Length), badLength)).Outcome, 2, inCdb: false, asc: 0x26);
        OutcomeAssert.Field((await h.RunAsync([0x42, 1, 0, 0, 0, 0, 0, 0, 24, 0], Cdbs.UnmapParameters((0, 1)))).Outcome, 1, 0);
    }
}

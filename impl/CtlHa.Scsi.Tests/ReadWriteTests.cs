using System.Buffers.Binary;
using CtlHa.Core;

namespace CtlHa.Scsi.Tests;

public sealed class ReadWriteTests
{
    [Theory]
    [InlineData(512)]
    [InlineData(4096)]
    public async Task Write10_then_Read10_returns_the_same_bytes(int blockSize)
    {
        var h = await Harness.ReadyAsync(options: new LogicalUnitOptions { BlockSize = blockSize });
        byte[] data = Cdbs.Pattern(blockSize * 3, 1);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Write10(5, 3), data)).Outcome);
        var (o, read) = await h.RunAsync(Cdbs.Read10(5, 3));
        OutcomeAssert.Good(o);
        Assert.Equal(data, read);
    }

    [Fact]
    public async Task All_read_and_write_sizes_address_the_same_blocks()
    {
        var h = await Harness.ReadyAsync();
        byte[] data = Cdbs.Pattern(512 * 2, 2);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Rw6(0x0A, 100, 2), data)).Outcome);
        Assert.Equal(data, (await h.RunAsync(Cdbs.Rw12(0xA8, 100, 2))).Data);
        Assert.Equal(data, (await h.RunAsync(Cdbs.Rw16(0x88, 100, 2))).Data);
        Assert.Equal(data, (await h.RunAsync(Cdbs.Rw6(0x08, 100, 2))).Data);
        byte[] data2 = Cdbs.Pattern(512, 3);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Rw16(0x8A, 300, 1, flags: 0x08), data2)).Outcome); // FUA
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Rw12(0xAA, 301, 1, flags: 0x10), data2)).Outcome); // DPO
        Assert.Equal((byte[])[.. data2, .. data2], (await h.RunAsync(Cdbs.Read10(300, 2))).Data);
    }

    [Fact]
    public async Task Read6_with_length_zero_transfers_256_blocks()
    {
        var h = await Harness.ReadyAsync();
        var (o, data) = await h.RunAsync(Cdbs.Rw6(0x08, 0, 0));
        OutcomeAssert.Good(o);
        Assert.Equal(256 * 512, data.Length);
    }

    [Fact]
    public async Task Read10_with_length_zero_is_good_and_moves_nothing()
    {
        var h = await Harness.ReadyAsync();
        var (o, data) = await h.RunAsync(Cdbs.Read10(0, 0));
        OutcomeAssert.Good(o);
        Assert.Empty(data);
    }

    [Fact]
    public async Task Access_beyond_capacity_is_lba_out_of_range()
    {
        var h = await Harness.ReadyAsync(sizeBytes: 1 << 20); // 2048 blocks
        OutcomeAssert.Check((await h.RunAsync(Cdbs.Read10(2047, 2))).Outcome, SenseKey.IllegalRequest, 0x21, 0);
        OutcomeAssert.Check((await h.RunAsync(Cdbs.Read10(2049, 0))).Outcome, SenseKey.IllegalRequest, 0x21, 0);
        OutcomeAssert.Check((await h.RunAsync(Cdbs.Rw16(0x88, ulong.MaxValue, 2))).Outcome, SenseKey.IllegalRequest, 0x21, 0);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Read10(2047, 1))).Outcome);
    }

    [Fact]
    public async Task Rdprotect_bits_are_an_invalid_field_with_bit_pointer()
    {
        var h = await Harness.ReadyAsync();
        OutcomeAssert.Field((await h.RunAsync(Cdbs.Read10(0, 1, flags: 0x20))).Outcome, 1, 5);
        OutcomeAssert.Field((await h.RunAsync(Cdbs.Write10(0, 1, flags: 0x80), new byte[512])).Outcome, 1, 7);
    }

    [Fact]
    public async Task Transfer_longer_than_the_block_limit_is_an_invalid_transfer_length()
    {
        var h = await Harness.ReadyAsync(sizeBytes: 64 << 20, engineOptions: new ScsiEngineOptions { MaxTransferBytes = 64 * 1024 });
        OutcomeAssert.Field((await h.RunAsync(Cdbs.Read10(0, 129))).Outcome, 7);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Read10(0, 128))).Outcome);
    }

    [Fact]
    public async Task Large_reads_are_sent_in_chunks_with_the_final_flag_on_the_last()
    {
        var h = await Harness.ReadyAsync(engineOptions: new ScsiEngineOptions { IoChunkBytes = 4096 });
        byte[] data = Cdbs.Pattern(512 * 40, 4);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Write10(10, 40), data)).Outcome);
        var channel = new TestChannel();
        var o = await h.Engine.ExecuteAsync(h.Task(Cdbs.Read10(10, 40), channel), CancellationToken.None);
        OutcomeAssert.Good(o);
        Assert.Equal(data, channel.DataIn);
        Assert.True(channel.FinalWithGoodStatus);
    }

    [Fact]
    public async Task Unknown_opcode_is_invalid_command_operation_code()
    {
        var h = await Harness.ReadyAsync();
        OutcomeAssert.Check((await h.RunAsync([0xA4, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])).Outcome, SenseKey.IllegalRequest, 0x20, 0); // SET TPG
        OutcomeAssert.Check((await h.RunAsync([0xFF, 0, 0, 0, 0, 0])).Outcome, SenseKey.IllegalRequest, 0x20, 0);
        // An unsupported service action of a supported opcode is an invalid field, not an invalid opcode.
        OutcomeAssert.Field((await h.RunAsync(Cdbs.MaintenanceIn(0x1F))).Outcome, 1, 4);
    }

    [Fact]
    public async Task Verify_with_bytchk_compares_and_reports_the_miscompare_offset()
    {
        var h = await Harness.ReadyAsync();
        byte[] data = Cdbs.Pattern(1024, 5);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Write10(7, 2), data)).Outcome);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Rw10(0x2F, 7, 2, flags: 0x02), data)).Outcome);
        byte[] bad = (byte[])data.Clone();
        bad[700] ^= 1;
        var s = OutcomeAssert.Check((await h.RunAsync(Cdbs.Rw16(0x8F, 7, 2, flags: 0x02), bad)).Outcome, SenseKey.Miscompare, 0x1D, 0);
        Assert.Equal(700UL, s.Information);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Rw10(0x2F, 7, 2))).Outcome); // BYTCHK 0: medium only
        OutcomeAssert.Field((await h.RunAsync(Cdbs.Rw10(0x2F, 7, 2, flags: 0x04))).Outcome, 1, 2); // BYTCHK 10b
    }

    [Fact]
    public async Task Verify_bytchk_11_compares_one_block_against_every_block()
    {
        var h = await Harness.ReadyAsync();
        byte[] block = Cdbs.Pattern(512, 6);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Write10(0, 3), [.. block, .. block, .. block])).Outcome);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Rw12(0xAF, 0, 3, flags: 0x06), block)).Outcome);
        OutcomeAssert.Check((await h.RunAsync(Cdbs.Rw12(0xAF, 0, 4, flags: 0x06), block)).Outcome, SenseKey.Miscompare, 0x1D, 0);
    }

    [Fact]
    public async Task Write_and_verify_writes_the_data()
    {
        var h = await Harness.ReadyAsync();
        byte[] data = Cdbs.Pattern(512, 7);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Rw10(0x2E, 9, 1, flags: 0x02), data)).Outcome);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Rw12(0xAE, 10, 1), data)).Outcome);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Rw16(0x8E, 11, 1), data)).Outcome);
        Assert.Equal((byte[])[.. data, .. data, .. data], (await h.RunAsync(Cdbs.Read10(9, 3))).Data);
    }

    [Fact]
    public async Task Compare_and_write_writes_on_match_and_reports_miscompare_otherwise()
    {
        var h = await Harness.ReadyAsync();
        byte[] old = Cdbs.Pattern(512, 8);
        byte[] fresh = Cdbs.Pattern(512, 9);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Write10(20, 1), old)).Outcome);
        byte[] cdb = new byte[16];
        cdb[0] = 0x89;
        BinaryPrimitives.WriteUInt64BigEndian(cdb.AsSpan(2), 20);
        cdb[13] = 1;
        OutcomeAssert.Good((await h.RunAsync(cdb, [.. old, .. fresh])).Outcome);
        Assert.Equal(fresh, (await h.RunAsync(Cdbs.Read10(20, 1))).Data);
        byte[] wrongCompare = (byte[])old.Clone();
        var s = OutcomeAssert.Check((await h.RunAsync(cdb, [.. wrongCompare, .. old])).Outcome, SenseKey.Miscompare, 0x1D, 0);
        Assert.Equal((ulong)old.AsSpan().CommonPrefixLength(fresh), s.Information);
        Assert.Equal(fresh, (await h.RunAsync(Cdbs.Read10(20, 1))).Data);
        cdb[13] = 0;
        OutcomeAssert.Good((await h.RunAsync(cdb)).Outcome);
    }

    [Fact]
    public async Task Compare_and_write_longer_than_the_limit_is_invalid()
    {
        var h = await Harness.ReadyAsync(engineOptions: new ScsiEngineOptions { MaxCompareAndWriteBlocks = 1 });
        byte[] cdb = new byte[16];
        cdb[0] = 0x89;
        cdb[13] = 2;
        OutcomeAssert.Field((await h.RunAsync(cdb, new byte[2048])).Outcome, 13);
    }

    [Fact]
    public async Task Compare_and_write_whose_data_out_length_is_not_twice_the_blocks_is_invalid()
    {
        // libiscsi CompareAndWrite.Simple: 256 blocks truncate to NUMBER OF LOGICAL BLOCKS 0 with 256 KiB of Data-Out.
        var h = await Harness.ReadyAsync();
        byte[] cdb = new byte[16];
        cdb[0] = 0x89;
        cdb[13] = 0;
        OutcomeAssert.Field(await h.RunDeclaredWriteAsync(cdb, new byte[2 * 256 * 512], 2 * 256 * 512), 13);
        cdb[13] = 1;
        OutcomeAssert.Field(await h.RunDeclaredWriteAsync(cdb, new byte[512], 512), 13);
        OutcomeAssert.Good(await h.RunDeclaredWriteAsync(cdb, new byte[1024], 1024));
    }

    [Fact]
    public async Task Orwrite_ors_the_data_out_into_the_blocks_and_rejects_orprotect()
    {
        var h = await Harness.ReadyAsync();
        byte[] a = new byte[1024];
        byte[] b = new byte[1024];
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = (byte)(i % 3 == 0 ? 0x0F : 0x00);
            b[i] = (byte)(i % 2 == 0 ? 0xF0 : 0x01);
        }
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Write10(30, 2), a)).Outcome);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Rw16(0x8B, 30, 2), b)).Outcome);
        byte[] expected = new byte[1024];
        for (int i = 0; i < expected.Length; i++)
        {
            expected[i] = (byte)(a[i] | b[i]);
        }
        Assert.Equal(expected, (await h.RunAsync(Cdbs.Read10(30, 2))).Data);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Rw16(0x8B, 30, 0))).Outcome);
        OutcomeAssert.Field((await h.RunAsync(Cdbs.Rw16(0x8B, 30, 1, flags: 0x20), b)).Outcome, 1, 5); // ORPROTECT
        OutcomeAssert.Check((await h.RunAsync(Cdbs.Rw16(0x8B, 32767, 2), b)).Outcome, SenseKey.IllegalRequest, 0x21, 0);
    }

    [Fact]
    public async Task Write_protection_is_checked_before_a_reservation_conflict()
    {
        // CTL ctl_scsiio_lun_check order, as the CtlHa model: 07/27/01 wins over RESERVATION CONFLICT.
        var h = await Harness.ReadyAsync(options: new LogicalUnitOptions { ReadOnly = true });
        var other = h.NewNexus("iqn.test:other");
        await h.ClearUnitAttentionsAsync(other);
        OutcomeAssert.Good((await h.RunAsync([0x16, 0, 0, 0, 0, 0], nexus: other)).Outcome); // RESERVE(6)
        OutcomeAssert.Check((await h.RunAsync(Cdbs.Write10(0, 1), new byte[512])).Outcome, SenseKey.DataProtect, 0x27, 0x01);
        Assert.Equal(ScsiStatus.ReservationConflict, (await h.RunAsync(Cdbs.Read10(0, 1))).Outcome.Status);
    }

    [Theory]
    [InlineData(512u)]
    [InlineData(700u)]
    public async Task A_write_longer_than_the_edtl_stores_only_the_first_edtl_bytes(uint edtl)
    {
        // iSCSI residual overflow (libiscsi iSCSIResiduals.Write10Residuals): the tail of the range keeps its data.
        var h = await Harness.ReadyAsync();
        byte[] a = Enumerable.Repeat((byte)'a', 1024).ToArray();
        byte[] b = Enumerable.Repeat((byte)'b', 1024).ToArray();
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Write10(4, 2), a)).Outcome);
        OutcomeAssert.Good(await h.RunDeclaredWriteAsync(Cdbs.Write10(4, 2), b[..(int)edtl], edtl));
        byte[] expected = [.. b[..(int)edtl], .. a[(int)edtl..]];
        Assert.Equal(expected, (await h.RunAsync(Cdbs.Read10(4, 2))).Data);
    }

    [Fact]
    public async Task Concurrent_compare_and_writes_from_two_nexuses_are_atomic()
    {
        // libiscsi MultipathIO.CompareAndWrite alternates paths; here both paths race: each CAW expects value v and
        // writes v+1, so with atomic compare-then-write every value is won exactly once.
        var h = await Harness.ReadyAsync();
        var other = h.NewNexus("iqn.test:path2");
        await h.ClearUnitAttentionsAsync(other);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Write10(7, 1), new byte[512])).Outcome);
        byte[] cdb = new byte[16];
        cdb[0] = 0x89;
        BinaryPrimitives.WriteUInt64BigEndian(cdb.AsSpan(2), 7);
        cdb[13] = 1;
        int wins = 0;
        async Task RaceAsync(ITNexus nexus)
        {
            for (int round = 0; round < 40; round++)
            {
                byte[] current = (await h.RunAsync(Cdbs.Read10(7, 1), nexus: nexus)).Data;
                byte[] next = (byte[])current.Clone();
                next[0]++;
                var (o, _) = await h.RunAsync(cdb, [.. current, .. next], nexus);
                if (o.Status == ScsiStatus.Good)
                {
                    Interlocked.Increment(ref wins);
                }
                else
                {
                    OutcomeAssert.Check(o, SenseKey.Miscompare, 0x1D, 0);
                }
            }
        }
        await Task.WhenAll(Task.Run(() => RaceAsync(h.Nexus)), Task.Run(() => RaceAsync(other)));
        Assert.Equal(wins, (await h.RunAsync(Cdbs.Read10(7, 1))).Data[0]);
    }

    [Fact]
    public async Task Software_write_protect_refuses_writes_with_data_protect()
    {
        var h = await Harness.ReadyAsync();
        // Control page with SWP set (byte 4 bit 3).
        byte[] control = (await h.RunAsync(Cdbs.ModeSense6(0x0A, dbd: true))).Data[4..];
        control[4] |= 0x08;
        byte[] list = [0, 0, 0, 0, .. control];
        OutcomeAssert.Good((await h.RunAsync(Cdbs.ModeSelect6(list.Length), list)).Outcome);
        OutcomeAssert.Check((await h.RunAsync(Cdbs.Write10(0, 1), new byte[512])).Outcome, SenseKey.DataProtect, 0x27, 0x02);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Read10(0, 1))).Outcome);
        var header = (await h.RunAsync(Cdbs.ModeSense6(0x0A))).Data;
        Assert.Equal(0x80, header[2] & 0x80); // WP
    }

    [Fact]
    public async Task Read_only_lun_refuses_writes_as_hardware_write_protected()
    {
        var h = await Harness.ReadyAsync(options: new LogicalUnitOptions { ReadOnly = true });
        OutcomeAssert.Check((await h.RunAsync(Cdbs.Write10(0, 1), new byte[512])).Outcome, SenseKey.DataProtect, 0x27, 0x01);
        Assert.Equal(0x80, (await h.RunAsync(Cdbs.ModeSense6(0x3F))).Data[2] & 0x80);
    }

    [Fact]
    public async Task Synchronize_cache_and_prefetch_check_the_range()
    {
        var h = await Harness.ReadyAsync(sizeBytes: 1 << 20);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Rw10(0x35, 0, 0))).Outcome);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Rw16(0x91, 0, 2048))).Outcome);
        OutcomeAssert.Check((await h.RunAsync(Cdbs.Rw16(0x91, 2000, 100))).Outcome, SenseKey.IllegalRequest, 0x21, 0);
        Assert.Equal(ScsiStatus.ConditionMet, (await h.RunAsync(Cdbs.Rw10(0x34, 0, 8))).Outcome.Status);
        Assert.Equal(ScsiStatus.ConditionMet, (await h.RunAsync(Cdbs.Rw16(0x90, 0, 8))).Outcome.Status);
        OutcomeAssert.Check((await h.RunAsync(Cdbs.Rw16(0x90, 2048, 1))).Outcome, SenseKey.IllegalRequest, 0x21, 0);
    }

    [Fact]
    public async Task Start_stop_unit_and_prevent_allow_are_accepted_as_no_ops()
    {
        var h = await Harness.ReadyAsync();
        OutcomeAssert.Good((await h.RunAsync([0x1B, 0, 0, 0, 0x00, 0])).Outcome);
        OutcomeAssert.Good((await h.RunAsync([0x1B, 1, 0, 0, 0x01, 0])).Outcome);
        OutcomeAssert.Good((await h.RunAsync([0x1E, 0, 0, 0, 1, 0])).Outcome);
        OutcomeAssert.Field((await h.RunAsync([0x1B, 0, 0, 0, 0x02, 0])).Outcome, 4, 1); // LOEJ on a fixed disk
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Read10(0, 1))).Outcome);
    }

    [Fact]
    public async Task Read_capacity_reports_last_lba_block_size_and_provisioning()
    {
        var h = await Harness.ReadyAsync(sizeBytes: 8 << 20, options: new LogicalUnitOptions { BlockSize = 4096 });
        var (o, d) = await h.RunAsync([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        OutcomeAssert.Good(o);
        Assert.Equal(2047u, BinaryPrimitives.ReadUInt32BigEndian(d));
        Assert.Equal(4096u, BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(4)));
        var (o16, d16) = await h.RunAsync(Cdbs.ReadCapacity16());
        OutcomeAssert.Good(o16);
        Assert.Equal(32, d16.Length);
        Assert.Equal(2047UL, BinaryPrimitives.ReadUInt64BigEndian(d16));
        Assert.Equal(0xC0, d16[14] & 0xC0); // LBPME | LBPRZ
        Assert.Equal(12, (await h.RunAsync(Cdbs.ReadCapacity16(12))).Data.Length);
    }

    [Fact]
    public async Task Read_defect_data_returns_an_empty_list_echoing_the_format()
    {
        var h = await Harness.ReadyAsync();
        var (o, d) = await h.RunAsync([0x37, 0, 0x0D, 0, 0, 0, 0, 0, 255, 0]);
        OutcomeAssert.Good(o);
        Assert.Equal(new byte[] { 0, 0x0D, 0, 0 }, d);
        var (o12, d12) = await h.RunAsync([0xB7, 0x15, 0, 0, 0, 0, 0, 0, 0, 255, 0, 0]);
        OutcomeAssert.Good(o12);
        Assert.Equal(new byte[] { 0, 0x15, 0, 0, 0, 0, 0, 0 }, d12);
        OutcomeAssert.Field((await h.RunAsync([0x37, 0, 0x20, 0, 0, 0, 0, 0, 255, 0])).Outcome, 2, 5);
    }
}

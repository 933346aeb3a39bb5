using System.Buffers.Binary;
using static CtlHa.Model.Tests.Fixture;

namespace CtlHa.Model.Tests;

public sealed class BlockTests
{
    [Fact]
    public void Unwritten_blocks_read_as_zeros_SBC4_4_7_3_LBPRZ()
    {
        var m = Settled();
        var r = m.Execute(A, Cdb.Read10(5, 2));
        AssertGood(r);
        Assert.Equal(new byte[2 * BlockSize], r.DataIn);
    }

    [Fact]
    public void Write_then_read_returns_the_data_through_every_CDB_size_SBC4_5_x()
    {
        var m = Settled();
        var data = Pattern(3, 9);
        AssertGood(m.Execute(A, Cdb.Write10(10, 3), data));
        Assert.Equal(data, m.Execute(B, Cdb.Read6(10, 3)).DataIn);
        Assert.Equal(data, m.Execute(B, Cdb.Read12(10, 3)).DataIn);
        Assert.Equal(data, m.Execute(C, Cdb.Read16(10, 3)).DataIn);
    }

    [Fact]
    public void Read6_transfer_length_zero_means_256_blocks_SBC4_5_13()
    {
        var m = Settled(new LunConfig(BlockCount: 300));
        var r = m.Execute(A, Cdb.Read6(0, 0));
        AssertGood(r);
        Assert.Equal(256 * BlockSize, r.DataIn.Length);
    }

    [Fact]
    public void Access_beyond_capacity_is_LBA_out_of_range_with_INFORMATION_SBC4_4_5()
    {
        var m = Settled();
        var r = m.Execute(A, Cdb.Read10(63, 2));
        AssertCheck(r, 0x05, 0x21, 0x00);
        Assert.Equal(64UL, r.DecodedSense!.Information);
        AssertCheck(m.Execute(A, Cdb.Write16(ulong.MaxValue, 2), new byte[1024]), 0x05, 0x21, 0x00);
        // Zero blocks exactly at the end is in range.
        AssertGood(m.Execute(A, Cdb.Read10(64, 0)));
    }

    [Fact]
    public void Reserved_CDB_bits_are_invalid_field_in_CDB_with_field_pointer_SPC5_4_4_2_4_2()
    {
        var m = Settled();
        var cdb = Cdb.Read10(0, 1);
        cdb[1] = 0x20; // RDPROTECT
        var r = m.Execute(A, cdb);
        AssertCheck(r, 0x05, 0x24, 0x00);
        Assert.Equal(FieldPointer.Cdb(1, 5), r.DecodedSense!.Pointer);
    }

    [Fact]
    public void Unsupported_opcode_is_invalid_command_operation_code_SPC5_ctl_ha_15_req24()
    {
        var m = Settled();
        AssertCheck(m.Execute(A, [0xA4, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 0x05, 0x20, 0x00);
        AssertCheck(m.Execute(A, [0xC0, 0, 0, 0, 0, 0]), 0x05, 0x20, 0x00);
    }

    [Fact]
    public void Verify_with_BYTCHK_01_detects_a_miscompare_with_the_byte_offset_SBC4_5_33()
    {
        var m = Settled();
        var data = Pattern(2, 1);
        m.Execute(A, Cdb.Write10(4, 2), data);
        AssertGood(m.Execute(A, Cdb.Verify10(4, 2, 1), data));
        var bad = (byte[])data.Clone();
        bad[BlockSize + 3] ^= 0xFF;
        var r = m.Execute(A, Cdb.Verify10(4, 2, 1), bad);
        AssertCheck(r, 0x0E, 0x1D, 0x00);
        Assert.Equal((ulong)BlockSize + 3, r.DecodedSense!.Information);
        AssertGood(m.Execute(A, Cdb.Verify10(4, 2, 0)));
        AssertCheck(m.Execute(A, Cdb.Verify10(4, 2, 2)), 0x05, 0x24, 0x00);
    }

    [Fact]
    public void Verify_with_BYTCHK_11_compares_one_block_against_every_block_SBC4_5_33()
    {
        var m = Settled();
        var one = Pattern(1, 5);
        m.Execute(A, Cdb.Write10(0, 1), one);
        m.Execute(A, Cdb.Write10(1, 1), one);
        AssertGood(m.Execute(A, Cdb.Verify10(0, 2, 3), one));
        AssertCheck(m.Execute(A, Cdb.Verify10(0, 3, 3), one), 0x0E, 0x1D, 0x00);
    }

    [Fact]
    public void Write_and_verify_writes_the_data_SBC4_5_51()
    {
        var m = Settled();
        var data = Pattern(1, 3);
        AssertGood(m.Execute(A, Cdb.WriteAndVerify10(7, 1), data));
        Assert.Equal(data, m.PeekBlocks(7, 1));
    }

    [Fact]
    public void Compare_and_write_writes_on_match_and_reports_the_miscompare_offset_otherwise_SBC4_5_3()
    {
        var m = Settled();
        var old = Pattern(1, 1);
        var fresh = Pattern(1, 2);
        m.Execute(A, Cdb.Write10(3, 1), old);
        AssertGood(m.Execute(A, Cdb.CompareAndWrite(3, 1), [.. old, .. fresh]));
        Assert.Equal(fresh, m.PeekBlocks(3, 1));
        var r = m.Execute(A, Cdb.CompareAndWrite(3, 1), [.. old, .. Pattern(1, 9)]);
        AssertCheck(r, 0x0E, 0x1D, 0x00);
        Assert.Equal(0UL, r.DecodedSense!.Information);
        Assert.Equal(fresh, m.PeekBlocks(3, 1));
    }

    [Fact]
    public void Write_same_replicates_one_block_and_zero_blocks_means_to_the_end_SBC4_5_47()
    {
        var m = Settled();
        var one = Pattern(1, 4);
        AssertGood(m.Execute(A, Cdb.WriteSame10(2, 3), one));
        Assert.Equal([.. one, .. one, .. one], m.PeekBlocks(2, 3));
        AssertGood(m.Execute(A, Cdb.WriteSame16(60, 0), one));
        Assert.Equal(one, m.PeekBlocks(63, 1));
    }

    [Fact]
    public void Write_same_with_UNMAP_deallocates_whatever_the_data_and_with_NDOB_needs_no_data_SBC4_5_48()
    {
        var m = Settled();
        m.Execute(A, Cdb.Write10(0, 4), Pattern(4, 1));
        AssertGood(m.Execute(A, Cdb.WriteSame16(0, 2, unmap: true, ndob: true)));
        Assert.False(m.IsMapped(0));
        Assert.Equal(new byte[2 * BlockSize], m.Execute(A, Cdb.Read10(0, 2)).DataIn);
        AssertGood(m.Execute(A, Cdb.WriteSame10(2, 1, unmap: true), new byte[BlockSize]));
        Assert.False(m.IsMapped(2));
        // SBC-4 ANCHOR/UNMAP table: UNMAP=1, ANCHOR=0 deallocates whatever the Data-Out block holds (CTL, LIO too);
        // LBPRZ=1 then reads zeros.
        m.Execute(A, Cdb.Write10(3, 1), Pattern(1, 9));
        AssertGood(m.Execute(A, Cdb.WriteSame10(3, 1, unmap: true), Pattern(1, 7)));
        Assert.False(m.IsMapped(3));
        Assert.Equal(new byte[BlockSize], m.PeekBlocks(3, 1));
    }

    [Fact]
    public void Unmap_deallocates_and_reads_back_zeros_SBC4_5_32()
    {
        var m = Settled();
        m.Execute(A, Cdb.Write10(0, 8), Pattern(8, 1));
        var p = Cdb.UnmapParameters((1, 2), (6, 1));
        AssertGood(m.Execute(A, Cdb.Unmap((ushort)p.Length), p));
        Assert.True(m.IsMapped(0));
        Assert.False(m.IsMapped(1));
        Assert.False(m.IsMapped(2));
        Assert.False(m.IsMapped(6));
        Assert.Equal(new byte[BlockSize], m.Execute(A, Cdb.Read10(6, 1)).DataIn);
    }

    [Fact]
    public void Unmap_out_of_range_descriptor_unmaps_nothing_SBC4_5_32()
    {
        var m = Settled();
        m.Execute(A, Cdb.Write10(0, 1), Pattern(1, 1));
        var p = Cdb.UnmapParameters((0, 1), (63, 2));
        AssertCheck(m.Execute(A, Cdb.Unmap((ushort)p.Length), p), 0x05, 0x21, 0x00);
        Assert.True(m.IsMapped(0));
        AssertCheck(m.Execute(A, Cdb.Unmap(4), new byte[4]), 0x05, 0x1A, 0x00);
    }

    [Fact]
    public void Get_lba_status_reports_mapped_and_deallocated_extents_SBC4_5_7()
    {
        var m = Settled();
        m.Execute(A, Cdb.Write10(4, 3), Pattern(3, 1));
        var r = m.Execute(A, Cdb.GetLbaStatus(4));
        AssertGood(r);
        Assert.Equal(20u, BinaryPrimitives.ReadUInt32BigEndian(r.DataIn));
        Assert.Equal(4UL, BinaryPrimitives.ReadUInt64BigEndian(r.DataIn.AsSpan(8)));
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32BigEndian(r.DataIn.AsSpan(16)));
        Assert.Equal(0, r.DataIn[20]);
        r = m.Execute(A, Cdb.GetLbaStatus(7));
        Assert.Equal(57u, BinaryPrimitives.ReadUInt32BigEndian(r.DataIn.AsSpan(16)));
        Assert.Equal(1, r.DataIn[20]);
        AssertCheck(m.Execute(A, Cdb.GetLbaStatus(64)), 0x05, 0x21, 0x00);
    }

    [Fact]
    public void Read_capacity_reports_last_LBA_block_size_and_thin_provisioning_SBC4_5_15_5_16()
    {
        var m = Settled();
        var r10 = m.Execute(A, Cdb.ReadCapacity10());
        Assert.Equal(63u, BinaryPrimitives.ReadUInt32BigEndian(r10.DataIn));
        Assert.Equal(512u, BinaryPrimitives.ReadUInt32BigEndian(r10.DataIn.AsSpan(4)));
        var r16 = m.Execute(A, Cdb.ReadCapacity16());
        Assert.Equal(32, r16.DataIn.Length);
        Assert.Equal(63UL, BinaryPrimitives.ReadUInt64BigEndian(r16.DataIn));
        Assert.Equal(0xC0, r16.DataIn[14]);
        Assert.Equal(12, m.Execute(A, Cdb.ReadCapacity16(alloc: 12)).DataIn.Length);
    }

    [Fact]
    public void Synchronize_cache_checks_the_range_and_pre_fetch_returns_condition_met_SBC4_5_9_5_26()
    {
        var m = Settled();
        AssertGood(m.Execute(A, Cdb.SynchronizeCache10(0, 0)));
        AssertCheck(m.Execute(A, Cdb.SynchronizeCache10(60, 10)), 0x05, 0x21, 0x00);
        Assert.Equal(ScsiStatus.ConditionMet, m.Execute(A, Cdb.PreFetch10(0, 8)).Status);
        AssertCheck(m.Execute(A, Cdb.PreFetch10(65, 0)), 0x05, 0x21, 0x00);
    }

    [Fact]
    public void Data_in_is_cut_to_the_expected_transfer_length_RFC7143_11_4_5()
    {
        var m = Settled();
        Assert.Equal(100, m.Execute(A, Cdb.Read10(0, 1), default, 100).DataIn.Length);
    }

    [Fact]
    public void Read_only_LUN_rejects_writes_with_write_protected_ctl_ha_5_2()
    {
        var m = Settled(new LunConfig(BlockCount: 64, ReadOnly: true));
        AssertCheck(m.Execute(A, Cdb.Write10(0, 1), new byte[512]), 0x07, 0x27, 0x01);
        AssertGood(m.Execute(A, Cdb.Read10(0, 1)));
    }

    [Fact]
    public void Clone_is_independent_of_the_original()
    {
        var m = Settled();
        var copy = m.Clone();
        copy.Execute(A, Cdb.Write10(0, 1), Pattern(1, 1));
        Assert.False(m.IsMapped(0));
        Assert.True(copy.IsMapped(0));
    }

    [Fact]
    public void Read_capacity_16_reports_the_configured_physical_block_exponent()
    {
        Assert.Equal(0, Settled().Execute(A, Cdb.ReadCapacity16()).DataIn[13] & 0x0F);
        Assert.Equal(3, Settled(new LunConfig { PhysicalBlockExponent = 3 }).Execute(A, Cdb.ReadCapacity16()).DataIn[13] & 0x0F);
    }

    [Fact]
    public void Orwrite_rule_rejects_orprotect_and_writes_the_medium()
    {
        var rule = CdbRules.Find(0x8B, null);
        Assert.NotNull(rule);
        Assert.True(rule.WritesMedium);
        byte[] cdb = Cdb.Write16(0, 1);
        cdb[0] = 0x8B;
        cdb[1] = 0x20;
        Assert.NotNull(CdbRules.Validate(rule, cdb));
        cdb[1] = 0x18;
        Assert.Null(CdbRules.Validate(rule, cdb));
    }
}

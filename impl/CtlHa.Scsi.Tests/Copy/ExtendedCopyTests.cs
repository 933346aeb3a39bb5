using System.Buffers.Binary;
using CtlHa.Core;
using CtlHa.Scsi.Copy;

namespace CtlHa.Scsi.Tests.Copy;

/// <summary>EXTENDED COPY / RECEIVE COPY RESULTS through the engine, following what libiscsi's ExtendedCopy and
/// ReceiveCopyResults suites send (SPC-4 §6.4, §6.18).</summary>
public sealed class ExtendedCopyTests
{
    private const int BlockSize = 512;

    private static async Task<Harness> ReadyAsync(int luns = 1) => await Harness.ReadyAsync(luns, sizeBytes: 8 << 20);

    private static async Task<(ScsiOutcome Outcome, byte[] Data)> XcopyAsync(Harness h, byte[] parameters, int? length = null) =>
        await h.RunAsync(XcopyBuilder.Cdb(length ?? parameters.Length), parameters);

    private static void AssertSense(ScsiOutcome o, SenseKey key, byte asc, byte ascq)
    {
        Assert.Equal(ScsiStatus.CheckCondition, o.Status);
        Assert.Equal((key, asc, ascq), (o.Sense!.Value.Key, o.Sense.Value.Asc, o.Sense.Value.Ascq));
    }

    private static async Task WriteAsync(Harness h, uint lba, byte fill, ushort blocks, int lun = 0)
    {
        var data = new byte[blocks * BlockSize];
        Array.Fill(data, fill);
        var (o, _) = await h.RunAsync(Cdbs.Write10(lba, blocks), data, lun: lun);
        Assert.Equal(ScsiStatus.Good, o.Status);
    }

    private static async Task<byte[]> ReadAsync(Harness h, uint lba, ushort blocks, int lun = 0)
    {
        var (o, d) = await h.RunAsync(Cdbs.Read10(lba, blocks), lun: lun);
        Assert.Equal(ScsiStatus.Good, o.Status);
        return d;
    }

    [Fact]
    public async Task Copy_within_one_lun_moves_the_blocks()
    {
        var h = await ReadyAsync();
        await WriteAsync(h, 0, (byte)'A', 64);
        long last = h.Lun0.BlockCount - 64;
        var p = new XcopyBuilder { ListIdUsage = 0b10 }.Cscd(h.Lun0.DeviceId).BlockToBlock(0, 0, 64, 0, (ulong)last).Build();
        var (o, _) = await XcopyAsync(h, p);
        Assert.Equal(ScsiStatus.Good, o.Status);
        Assert.All(await ReadAsync(h, (uint)last, 64), b => Assert.Equal((byte)'A', b));
    }

    [Fact]
    public async Task Copy_across_luns_of_the_node_uses_each_luns_designator()
    {
        var h = await ReadyAsync(luns: 2);
        await WriteAsync(h, 10, 0x5A, 8, lun: 0);
        var lun1 = h.Engine.LogicalUnits[1];
        var p = new XcopyBuilder().Cscd(h.Lun0.DeviceId).Cscd(lun1.DeviceId).BlockToBlock(0, 1, 8, 10, 100).Build();
        var (o, _) = await XcopyAsync(h, p);
        Assert.Equal(ScsiStatus.Good, o.Status);
        Assert.All(await ReadAsync(h, 100, 8, lun: 1), b => Assert.Equal(0x5A, b));
    }

    [Fact]
    public async Task Zero_parameter_list_length_is_good()
    {
        var h = await ReadyAsync();
        var (o, _) = await h.RunAsync(XcopyBuilder.Cdb(0));
        Assert.Equal(ScsiStatus.Good, o.Status);
    }

    [Fact]
    public async Task Truncated_descriptors_are_a_parameter_list_length_error()
    {
        var h = await ReadyAsync();
        var p = new XcopyBuilder().Cscd(h.Lun0.DeviceId).BlockToBlock(0, 0, 1, 0, 100).Build();
        AssertSense((await XcopyAsync(h, p[..(16 + 32 - 1)])).Outcome, SenseKey.IllegalRequest, 0x1A, 0x00);
        AssertSense((await XcopyAsync(h, p[..^1])).Outcome, SenseKey.IllegalRequest, 0x1A, 0x00);
    }

    [Fact]
    public async Task Too_many_descriptors_and_too_long_lists_are_reported_as_libiscsi_expects()
    {
        var h = await ReadyAsync();
        var tooManyCscd = new XcopyBuilder();
        for (int i = 0; i <= CopyLimits.MaxCscdDescriptors; i++)
        {
            tooManyCscd.Cscd(h.Lun0.DeviceId);
        }
        AssertSense((await XcopyAsync(h, tooManyCscd.BlockToBlock(0, 0, 1, 0, 1).Build())).Outcome, SenseKey.IllegalRequest, 0x26, 0x06);

        var tooManySeg = new XcopyBuilder().Cscd(h.Lun0.DeviceId);
        for (int i = 0; i <= CopyLimits.MaxSegmentDescriptors; i++)
        {
            tooManySeg.BlockToBlock(0, 0, 1, 0, 1);
        }
        AssertSense((await XcopyAsync(h, tooManySeg.Build())).Outcome, SenseKey.IllegalRequest, 0x26, 0x08);

        var tooLong = new XcopyBuilder();
        for (int i = 0; i <= CopyLimits.MaxCscdDescriptors; i++)
        {
            tooLong.Cscd(h.Lun0.DeviceId);
        }
        int segs = (int)((CopyLimits.MaxDescriptorListLength + 28 - (CopyLimits.MaxCscdDescriptors + 1) * 32) / 28);
        for (int i = 0; i < segs; i++)
        {
            tooLong.BlockToBlock(0, 0, 1, 0, 1);
        }
        AssertSense((await XcopyAsync(h, tooLong.Build())).Outcome, SenseKey.IllegalRequest, 0x1A, 0x00);
    }

    [Fact]
    public async Task Unsupported_cscd_and_segment_types_are_rejected()
    {
        var h = await ReadyAsync();
        var fc = new XcopyBuilder().Cscd(h.Lun0.DeviceId, typeCode: 0xE0).BlockToBlock(0, 0, 1, 0, 1).Build();
        AssertSense((await XcopyAsync(h, fc)).Outcome, SenseKey.IllegalRequest, 0x26, 0x07);
        var stream = new XcopyBuilder().Cscd(h.Lun0.DeviceId).BlockToBlock(0, 0, 0, 0, 0, typeCode: 0x03).Build();
        AssertSense((await XcopyAsync(h, stream)).Outcome, SenseKey.IllegalRequest, 0x26, 0x09);
    }

    [Fact]
    public async Task Lu_id_type_is_ignored_as_in_SPC4()
    {
        var h = await ReadyAsync();
        var p = new XcopyBuilder().Cscd(h.Lun0.DeviceId, luIdType: 3).BlockToBlock(0, 0, 1, 0, 1).Build();
        Assert.Equal(ScsiStatus.Good, (await XcopyAsync(h, p)).Outcome.Status);
    }

    [Fact]
    public async Task Unknown_index_unknown_lu_and_out_of_range_copies_are_copy_aborted_without_writing()
    {
        var h = await ReadyAsync();
        await WriteAsync(h, 0, 0x11, 4);
        long n = h.Lun0.BlockCount;
        var badIndex = new XcopyBuilder().Cscd(h.Lun0.DeviceId).BlockToBlock(0, 1, 4, 0, 100).Build();
        AssertSense((await XcopyAsync(h, badIndex)).Outcome, SenseKey.CopyAborted, 0x0D, 0x02);
        var unknownLu = new XcopyBuilder().Cscd([0x30, 1, 2, 3, 4, 5, 6, 7]).BlockToBlock(0, 0, 4, 0, 100).Build();
        AssertSense((await XcopyAsync(h, unknownLu)).Outcome, SenseKey.CopyAborted, 0x0D, 0x02);
        var beyond = new XcopyBuilder().Cscd(h.Lun0.DeviceId).BlockToBlock(0, 0, 4, 0, 200).BlockToBlock(0, 0, 2048, 0, (ulong)(n - 1)).Build();
        AssertSense((await XcopyAsync(h, beyond)).Outcome, SenseKey.CopyAborted, 0x00, 0x00);
        // Validation happens before any block moves: the first, valid segment did not run either.
        Assert.All(await ReadAsync(h, 200, 4), b => Assert.Equal(0, b));
    }

    [Fact]
    public async Task A_copy_into_a_lun_reserved_by_another_nexus_is_aborted()
    {
        var h = await ReadyAsync(luns: 2);
        var other = h.NewNexus("iqn.test:owner");
        await h.ClearUnitAttentionsAsync(other, lun: 1);
        byte[] register = [0x5F, 0x06, 0, 0, 0, 0, 0, 0, 24, 0];
        var key = new byte[24];
        key[15] = 9;
        Assert.Equal(ScsiStatus.Good, (await h.RunAsync(register, key, other, lun: 1)).Outcome.Status);
        byte[] reserve = [0x5F, 0x01, 0x01, 0, 0, 0, 0, 0, 24, 0];
        var rk = new byte[24];
        rk[7] = 9;
        Assert.Equal(ScsiStatus.Good, (await h.RunAsync(reserve, rk, other, lun: 1)).Outcome.Status);

        var lun1 = h.Engine.LogicalUnits[1];
        var p = new XcopyBuilder().Cscd(h.Lun0.DeviceId).Cscd(lun1.DeviceId).BlockToBlock(0, 1, 8, 0, 0).Build();
        AssertSense((await XcopyAsync(h, p)).Outcome, SenseKey.CopyAborted, 0x0D, 0x02);
        // Reading from it is fine under Write Exclusive.
        var back = new XcopyBuilder().Cscd(h.Lun0.DeviceId).Cscd(lun1.DeviceId).BlockToBlock(1, 0, 8, 0, 50).Build();
        Assert.Equal(ScsiStatus.Good, (await XcopyAsync(h, back)).Outcome.Status);
    }

    [Fact]
    public async Task Receive_copy_status_reports_a_held_list_and_rejects_an_unknown_one()
    {
        var h = await ReadyAsync();
        var (none, _) = await h.RunAsync(XcopyBuilder.ReceiveCopyResultsCdb(0x00, 1));
        AssertSense(none, SenseKey.IllegalRequest, 0x24, 0x00);

        var p = new XcopyBuilder { ListId = 1 }.Cscd(h.Lun0.DeviceId).BlockToBlock(0, 0, 16, 0, 1000).Build();
        Assert.Equal(ScsiStatus.Good, (await XcopyAsync(h, p)).Outcome.Status);
        var (o, d) = await h.RunAsync(XcopyBuilder.ReceiveCopyResultsCdb(0x00, 1));
        Assert.Equal(ScsiStatus.Good, o.Status);
        Assert.Equal(8u, BinaryPrimitives.ReadUInt32BigEndian(d));
        Assert.Equal((byte)CopyManagerStatus.CompletedWithoutErrors, d[4]);
        Assert.Equal(1, BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(5)));
        Assert.Equal(16u * BlockSize, BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(8)));

        // Another I_T nexus does not see this nexus's results; its loss discards them.
        var other = h.NewNexus("iqn.test:other");
        await h.ClearUnitAttentionsAsync(other);
        AssertSense((await h.RunAsync(XcopyBuilder.ReceiveCopyResultsCdb(0x00, 1), nexus: other)).Outcome, SenseKey.IllegalRequest, 0x24, 0x00);
        h.Engine.NexusLost(h.Nexus);
        Assert.Null(h.Lun0.CopyState.Find(h.Nexus.Id, 1));
    }

    [Fact]
    public async Task Failed_segment_details_carry_the_copy_aborted_sense()
    {
        var h = await ReadyAsync();
        var p = new XcopyBuilder { ListId = 7 }.Cscd(h.Lun0.DeviceId).BlockToBlock(0, 3, 1, 0, 1).Build();
        AssertSense((await XcopyAsync(h, p)).Outcome, SenseKey.CopyAborted, 0x0D, 0x02);
        var (o, d) = await h.RunAsync(XcopyBuilder.ReceiveCopyResultsCdb(0x04, 7));
        Assert.Equal(ScsiStatus.Good, o.Status);
        Assert.Equal((byte)CopyManagerStatus.CompletedWithErrors, d[56]);
        int senseLength = BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(58));
        Assert.Equal(18, senseLength);
        Assert.Equal(0x0A, d[60 + 2] & 0x0F);
    }

    [Fact]
    public async Task Operating_parameters_match_the_copy_limits()
    {
        var h = await ReadyAsync();
        var (o, d) = await h.RunAsync(XcopyBuilder.ReceiveCopyResultsCdb(0x03, 0));
        Assert.Equal(ScsiStatus.Good, o.Status);
        Assert.True(BinaryPrimitives.ReadUInt32BigEndian(d) >= 40);
        Assert.Equal(CopyLimits.MaxCscdDescriptors, BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(8)));
        Assert.Equal(CopyLimits.MaxSegmentDescriptors, BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(10)));
        Assert.Equal(CopyLimits.MaxDescriptorListLength, BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(12)));
        Assert.Equal(2, d[43]);
        Assert.Equal(new byte[] { 0x02, 0xE4 }, d[44..46]);
    }

    [Fact]
    public void Third_party_copy_vpd_lists_receive_copy_status_as_libiscsi_parses_it()
    {
        var page = CopyResultsData.ThirdPartyCopyVpdPage(0);
        Assert.Equal(0x8F, page[1]);
        Assert.Equal(page.Length - 4, BinaryPrimitives.ReadUInt16BigEndian(page.AsSpan(2)));
        Assert.Equal(0x0001, BinaryPrimitives.ReadUInt16BigEndian(page.AsSpan(4)));
        int descLength = BinaryPrimitives.ReadUInt16BigEndian(page.AsSpan(6));
        Assert.Equal(0, descLength % 4);
        var list = page.AsSpan(9, page[8]);
        var found = new HashSet<(byte, byte)>();
        for (int i = 0; i < list.Length;)
        {
            byte op = list[i];
            int n = list[i + 1];
            for (int j = 0; j < n; j++)
            {
                found.Add((op, list[i + 2 + j]));
            }
            i += 2 + n;
        }
        Assert.Contains(((byte)0x84, (byte)0x00), found);
        Assert.Contains(((byte)0x83, (byte)0x00), found);
    }
}

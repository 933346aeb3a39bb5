using System.Buffers.Binary;
using System.Text;
using CtlHa.Core;

namespace CtlHa.Scsi.Tests;

public sealed class InquiryTests
{
    [Fact]
    public async Task Standard_inquiry_reports_version_06h_tpgs_multip_cmdque_and_3pc()
    {
        var h = new Harness();
        var (o, d) = await h.RunAsync(Cdbs.Inquiry()); // no UA before INQUIRY
        OutcomeAssert.Good(o);
        Assert.Equal(96, d.Length);
        Assert.Equal(0x00, d[0]);
        Assert.Equal(0x06, d[2]); // SPC-4: libiscsi 1.19 Inquiry.Standard rejects SPC-5's 07h
        var descriptors = Enumerable.Range(0, 8).Select(i => BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(58 + 2 * i))).ToArray();
        Assert.Equal(new ushort[] { 0x00C0, 0x05C0, 0x0960, 0x0600, 0x0460, 0x04C0, 0, 0 }, descriptors); // as the model
        Assert.Equal(0x10, d[5] & 0x30); // TPGS = 01b
        Assert.Equal(0x08, d[5] & 0x08); // 3PC
        Assert.Equal(0x10, d[6] & 0x10); // MultiP
        Assert.Equal(0x02, d[7] & 0x02); // CmdQue
        Assert.Equal("CTLHA   ", Encoding.ASCII.GetString(d, 8, 8));
        // The power-on UA is still pending: INQUIRY did not report it.
        OutcomeAssert.Check((await h.RunAsync(Cdbs.TestUnitReady())).Outcome, SenseKey.UnitAttention, 0x29, 0x01);
    }

    [Fact]
    public async Task Inquiry_to_an_unknown_lun_returns_peripheral_qualifier_011b()
    {
        var h = new Harness();
        var (o, d) = await h.RunAsync(Cdbs.Inquiry(), lun: 5);
        OutcomeAssert.Good(o);
        Assert.Equal(0x7F, d[0]);
        OutcomeAssert.Check((await h.RunAsync(Cdbs.TestUnitReady(), lun: 5)).Outcome, SenseKey.IllegalRequest, 0x25, 0);
        var (rs, sense) = await h.RunAsync(Cdbs.RequestSense(), lun: 5);
        OutcomeAssert.Good(rs);
        Assert.Equal((byte)SenseKey.IllegalRequest, sense[2]);
        Assert.Equal(0x25, sense[12]);
    }

    [Fact]
    public async Task Inquiry_allocation_length_clips_the_data()
    {
        var h = new Harness();
        Assert.Equal(36, (await h.RunAsync(Cdbs.Inquiry(alloc: 36))).Data.Length);
        Assert.Empty((await h.RunAsync(Cdbs.Inquiry(alloc: 0))).Data);
    }

    [Fact]
    public async Task Page_code_without_evpd_and_unknown_vpd_pages_are_invalid_fields()
    {
        var h = new Harness();
        OutcomeAssert.Field((await h.RunAsync(Cdbs.Inquiry(page: 0x80))).Outcome, 2);
        OutcomeAssert.Field((await h.RunAsync(Cdbs.Inquiry(true, 0xC7))).Outcome, 2);
        OutcomeAssert.Field((await h.RunAsync([0x12, 0x02, 0, 0, 255, 0])).Outcome, 1, 1); // CmdDt
    }

    [Fact]
    public async Task Supported_vpd_pages_list_every_page_and_each_page_answers()
    {
        var h = new Harness();
        var (o, d) = await h.RunAsync(Cdbs.Inquiry(true, 0));
        OutcomeAssert.Good(o);
        byte[] pages = d[4..(4 + d[3])];
        Assert.Equal(new byte[] { 0x00, 0x80, 0x83, 0x86, 0x88, 0x8F, 0xB0, 0xB1, 0xB2 }, pages);
        foreach (byte p in pages)
        {
            var (po, pd) = await h.RunAsync(Cdbs.Inquiry(true, p, 1024));
            OutcomeAssert.Good(po);
            Assert.Equal(p, pd[1]);
            Assert.Equal(pd.Length - 4, BinaryPrimitives.ReadUInt16BigEndian(pd.AsSpan(2)));
        }
    }

    [Fact]
    public async Task Device_identification_lists_naa_t10_relative_port_group_and_target_name()
    {
        var h = new Harness();
        var (_, d) = await h.RunAsync(Cdbs.Inquiry(true, 0x83, 1024));
        var designators = new List<(byte CodeSet, byte Assoc, byte Type, byte[] Value)>();
        for (int off = 4; off < d.Length;)
        {
            int len = d[off + 3];
            designators.Add(((byte)(d[off] & 0x0F), (byte)((d[off + 1] >> 4) & 3), (byte)(d[off + 1] & 0x0F), d[(off + 4)..(off + 4 + len)]));
            off += 4 + len;
        }
        Assert.Equal(new byte[] { 3, 1, 4, 5, 8 }, designators.Select(x => x.Type).ToArray());
        Assert.Equal(h.Lun0.DeviceId, designators[0].Value);
        Assert.Equal(3, designators[0].Value[0] >> 4); // locally assigned NAA generated from the serial
        Assert.Equal(1, BinaryPrimitives.ReadUInt16BigEndian(designators[2].Value.AsSpan(2))); // relative port
        Assert.Equal(1, BinaryPrimitives.ReadUInt16BigEndian(designators[3].Value.AsSpan(2))); // TPG 1
        Assert.Equal(2, designators[4].Assoc);
        Assert.StartsWith("iqn.test:target\0", Encoding.UTF8.GetString(designators[4].Value));
        Assert.Equal(0, designators[4].Value.Length % 4);
    }

    [Fact]
    public async Task Same_serial_gives_the_same_device_identifier()
    {
        var a = new LogicalUnit(0, new Backends.MemoryBackend(1 << 20), new LogicalUnitOptions { Serial = "X1" });
        var b = new LogicalUnit(3, new Backends.MemoryBackend(1 << 20), new LogicalUnitOptions { Serial = "X1" });
        Assert.Equal(a.DeviceId, b.DeviceId);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task Block_limits_and_provisioning_pages_advertise_thin_provisioning()
    {
        var h = new Harness();
        var (_, b0) = await h.RunAsync(Cdbs.Inquiry(true, 0xB0));
        Assert.Equal(0x00, b0[4] & 0x01); // WSNZ=0: WRITE SAME of 0 blocks runs to the last LBA
        Assert.True(b0[5] >= 1);          // MAXIMUM COMPARE AND WRITE LENGTH
        Assert.Equal((uint)new ScsiEngineOptions().MaxTransferBytes / 512, BinaryPrimitives.ReadUInt32BigEndian(b0.AsSpan(8)));
        Assert.True(BinaryPrimitives.ReadUInt32BigEndian(b0.AsSpan(8)) >= 65536); // libiscsi WriteSame16.Unmap: WRITE(16) of 65536 blocks
        uint maxUnmap = BinaryPrimitives.ReadUInt32BigEndian(b0.AsSpan(20));
        uint maxUnmapDescriptors = BinaryPrimitives.ReadUInt32BigEndian(b0.AsSpan(24));
        // libiscsi Inquiry.BlockLimits: non-zero, and FFFFFFFFh (no limit) or at most 1M.
        Assert.True(maxUnmap == uint.MaxValue || maxUnmap is > 0 and <= 1024 * 1024);
        Assert.True(maxUnmapDescriptors == uint.MaxValue || maxUnmapDescriptors is > 0 and <= 1024 * 1024);
        Assert.Equal(0x3C, b0[3]);
        var (_, b1) = await h.RunAsync(Cdbs.Inquiry(true, 0xB1));
        Assert.Equal(1, BinaryPrimitives.ReadUInt16BigEndian(b1.AsSpan(4)));
        var (_, b2) = await h.RunAsync(Cdbs.Inquiry(true, 0xB2));
        Assert.Equal(0xE0, b2[5] & 0xE0);     // LBPU LBPWS LBPWS10
        Assert.Equal(1, (b2[5] >> 2) & 0x07); // LBPRZ
        Assert.Equal(2, b2[6] & 0x07);        // thin
    }

    [Fact]
    public async Task Report_luns_lists_all_luns_and_validates_select_report_and_allocation()
    {
        var h = new Harness(luns: 3);
        var (o, d) = await h.RunAsync(Cdbs.ReportLuns());
        OutcomeAssert.Good(o);
        Assert.Equal(24u, BinaryPrimitives.ReadUInt32BigEndian(d));
        Assert.Equal(LunAddress.Encode(2), BinaryPrimitives.ReadUInt64BigEndian(d.AsSpan(24)));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian((await h.RunAsync(Cdbs.ReportLuns(select: 1))).Data));
        OutcomeAssert.Field((await h.RunAsync(Cdbs.ReportLuns(select: 7))).Outcome, 2);
        OutcomeAssert.Field((await h.RunAsync(Cdbs.ReportLuns(alloc: 15))).Outcome, 6);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.ReportLuns(), lun: 9)).Outcome);
    }

    [Fact]
    public async Task Report_target_port_groups_has_one_active_optimized_group_in_both_formats()
    {
        var h = await Harness.ReadyAsync();
        var (o, d) = await h.RunAsync(Cdbs.MaintenanceIn(0x0A));
        OutcomeAssert.Good(o);
        Assert.Equal(12u, BinaryPrimitives.ReadUInt32BigEndian(d));
        Assert.Equal(0x00, d[4] & 0x0F); // AO
        Assert.Equal(0x8F, d[5]);
        Assert.Equal(1, BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(6)));
        Assert.Equal(1, d[11]);
        Assert.Equal(1, BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(14)));
        var (ox, dx) = await h.RunAsync(Cdbs.MaintenanceIn(0x0A, byte1High: 0x20));
        OutcomeAssert.Good(ox);
        Assert.Equal(0x10, dx[4]);
        Assert.Equal(16u, BinaryPrimitives.ReadUInt32BigEndian(dx));
        OutcomeAssert.Field((await h.RunAsync(Cdbs.MaintenanceIn(0x0A, byte1High: 0x40))).Outcome, 1, 7);
    }

    [Fact]
    public async Task Report_supported_operation_codes_lists_every_command_with_timeouts()
    {
        var h = await Harness.ReadyAsync();
        var (o, d) = await h.RunAsync(Cdbs.MaintenanceIn(0x0C, alloc: 65536, byte2: 0x80));
        OutcomeAssert.Good(o);
        int count = (int)BinaryPrimitives.ReadUInt32BigEndian(d) / 20;
        Assert.Equal(h.Engine.Commands.All.Count, count);
        var ops = Enumerable.Range(0, count).Select(i => d[4 + 20 * i]).ToHashSet();
        Assert.Contains((byte)0x28, ops);
        Assert.Contains((byte)0x9E, ops);
        Assert.DoesNotContain((byte)0xA4, ops);
        Assert.All(Enumerable.Range(0, count), i => Assert.Equal(0x02, d[4 + 20 * i + 5] & 0x02));
    }

    [Fact]
    public async Task Report_supported_operation_codes_one_command_formats()
    {
        var h = await Harness.ReadyAsync();
        var (o, d) = await h.RunAsync(Cdbs.MaintenanceIn(0x0C, byte2: 0x01, byte3: 0x28));
        OutcomeAssert.Good(o);
        Assert.Equal(0x03, d[1] & 0x07);
        Assert.Equal(10, BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(2)));
        Assert.Equal(new byte[] { 0x28, 0x1E, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, 0x07 }, d[4..14]);
        var (_, rc16) = await h.RunAsync(Cdbs.MaintenanceIn(0x0C, byte2: 0x02, byte3: 0x9E, byte45: 0x10));
        Assert.Equal(0x03, rc16[1] & 0x07);
        Assert.Equal(16, BinaryPrimitives.ReadUInt16BigEndian(rc16.AsSpan(2)));
        var (_, missing) = await h.RunAsync(Cdbs.MaintenanceIn(0x0C, byte2: 0x01, byte3: 0xA4));
        Assert.Equal(0x01, missing[1] & 0x07);
        OutcomeAssert.Field((await h.RunAsync(Cdbs.MaintenanceIn(0x0C, byte2: 0x01, byte3: 0x9E))).Outcome, 2, 2);
        OutcomeAssert.Field((await h.RunAsync(Cdbs.MaintenanceIn(0x0C, byte2: 0x02, byte3: 0x28))).Outcome, 2, 2);
        var (_, either) = await h.RunAsync(Cdbs.MaintenanceIn(0x0C, byte2: 0x03, byte3: 0x9E, byte45: 0x12));
        Assert.Equal(0x03, either[1] & 0x07);
        var (_, timeouts) = await h.RunAsync(Cdbs.MaintenanceIn(0x0C, byte2: 0x81, byte3: 0x28));
        Assert.Equal(0x80, timeouts[1] & 0x80);
        Assert.Equal(4 + 10 + 12, timeouts.Length);
    }

    [Fact]
    public async Task Report_supported_task_management_functions_both_formats()
    {
        var h = await Harness.ReadyAsync();
        var (_, d) = await h.RunAsync(Cdbs.MaintenanceIn(0x0D));
        Assert.Equal(4, d.Length);
        Assert.Equal(0xDE, d[0]);
        Assert.Equal(0x07, d[1]);
        var (_, x) = await h.RunAsync(Cdbs.MaintenanceIn(0x0D, byte2: 0x80));
        Assert.Equal(16, x.Length);
        Assert.Equal(0x0C, x[3]);
    }

    [Fact]
    public async Task Reserved_cdb_bits_report_the_field_and_bit()
    {
        var h = await Harness.ReadyAsync();
        OutcomeAssert.Field((await h.RunAsync([0x00, 0, 0, 0x10, 0, 0])).Outcome, 3, 4);
        OutcomeAssert.Field((await h.RunAsync([0x00, 0, 0, 0, 0, 0x40])).Outcome, 5, 6);
    }
}

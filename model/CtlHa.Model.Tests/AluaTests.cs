using System.Buffers.Binary;
using CtlHa.Spec;
using static CtlHa.Model.Tests.Fixture;

namespace CtlHa.Model.Tests;

public sealed class AluaTests
{
    private static LogicalUnitModel SettledPair(HaMode mode, LinkState link = LinkState.Online) => Settled(Pair(mode, link));

    [Fact]
    public void A_pending_UA_beats_the_standby_gate_ctl_ha_5_2_req22()
    {
        var m = new LogicalUnitModel(Pair(HaMode.Standby));
        AssertCheck(m.Execute(C, Cdb.TestUnitReady()), 0x06, 0x29, 0x01);
        AssertCheck(m.Execute(C, Cdb.TestUnitReady()), 0x02, 0x04, 0x0B);
    }

    [Fact]
    public void Standby_path_serves_discovery_and_reservations_but_not_media_ctl_ha_5_4_req20()
    {
        var m = SettledPair(HaMode.Standby);
        AssertCheck(m.Execute(C, Cdb.Read10(0, 1)), 0x02, 0x04, 0x0B);
        AssertCheck(m.Execute(C, Cdb.ReadCapacity10()), 0x02, 0x04, 0x0B);
        AssertGood(m.Execute(C, Cdb.Inquiry()));
        AssertGood(m.Execute(C, Cdb.ModeSense6(0x08)));
        AssertGood(Register(m, C, 0xC));
        AssertGood(m.Execute(C, Cdb.PrIn(0x00)));
        AssertGood(m.Execute(C, Cdb.Rtpg()));
        AssertGood(m.Execute(A, Cdb.Read10(0, 1)));
    }

    [Fact]
    public void Secondary_without_interlink_is_unavailable_ctl_ha_5_6_req18()
    {
        var m = SettledPair(HaMode.Unavailable, LinkState.Offline);
        AssertCheck(m.Execute(C, Cdb.Read10(0, 1)), 0x02, 0x04, 0x0C);
        AssertCheck(m.Execute(C, Cdb.ModeSense6(0x08)), 0x02, 0x04, 0x0C);
        AssertGood(m.Execute(C, Cdb.ReportLuns()));
        AssertGood(m.Execute(A, Cdb.Read10(0, 1)));
    }

    [Fact]
    public void Request_sense_on_an_unavailable_LUN_returns_05_25_00_as_data_ctl_ha_5_5_req29()
    {
        var m = SettledPair(HaMode.Unavailable, LinkState.Offline);
        var r = m.Execute(C, Cdb.RequestSense());
        AssertGood(r);
        Assert.True(SenseInfo.Decode(r.DataIn).Is(0x05, 0x25, 0x00));
    }

    [Fact]
    public void Inquiry_on_an_unavailable_LUN_reports_peripheral_qualifier_001b_ctl_ha_5_5_req23()
    {
        var m = SettledPair(HaMode.Unavailable, LinkState.Offline);
        Assert.Equal(0x20, m.Execute(C, Cdb.Inquiry()).DataIn[0]);
        Assert.Equal(0x00, m.Execute(A, Cdb.Inquiry()).DataIn[0]);
    }

    [Fact]
    public void Secondary_whose_peer_is_not_primary_is_transitioning_ctl_ha_5_2_req19()
    {
        var m = SettledPair(HaMode.Proxy, LinkState.Connecting);
        AssertCheck(m.Execute(C, Cdb.TestUnitReady()), 0x02, 0x04, 0x0A);
        AssertGood(m.Execute(C, Cdb.Inquiry()));
    }

    [Theory]
    [InlineData(HaMode.Proxy)]
    [InlineData(HaMode.Shared)]
    public void Proxy_and_shared_secondaries_serve_media_commands_ctl_ha_5_3(HaMode mode)
    {
        var m = SettledPair(mode);
        var data = Pattern(1, 3);
        AssertGood(m.Execute(C, Cdb.Write10(0, 1), data));
        Assert.Equal(data, m.Execute(A, Cdb.Read10(0, 1)).DataIn);
    }

    [Fact]
    public void Rtpg_reports_groups_2_and_3_identically_on_both_nodes_ctl_ha_5_5_req25_req26()
    {
        var m = SettledPair(HaMode.Proxy);
        var one = m.Execute(A, Cdb.Rtpg());
        var two = m.Execute(C, Cdb.Rtpg());
        AssertGood(one);
        Assert.Equal(one.DataIn, two.DataIn);
        var d = one.DataIn;
        Assert.Equal((uint)(d.Length - 4), BinaryPrimitives.ReadUInt32BigEndian(d));
        // TPG 2 (node 1): AO, one port (relative port 1); TPG 3 (node 2): ANO, port 2.
        Assert.Equal(0x00, d[4]);
        Assert.Equal(0x8F, d[5]);
        Assert.Equal(2, BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(6)));
        Assert.Equal(0x02, d[9]);
        Assert.Equal(1, d[11]);
        Assert.Equal(1, BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(14)));
        Assert.Equal(0x01, d[16]);
        Assert.Equal(3, BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(18)));
        Assert.Equal(2, BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(26)));
    }

    [Fact]
    public void Rtpg_in_standby_reports_the_secondary_group_standby_ctl_ha_15_req26()
    {
        var m = SettledPair(HaMode.Standby);
        var d = m.Execute(C, Cdb.Rtpg()).DataIn;
        Assert.Equal(0x00, d[4]);
        Assert.Equal(0x02, d[16]);
    }

    [Fact]
    public void Rtpg_extended_header_and_invalid_format_ctl_ha_15_req27()
    {
        var m = SettledPair(HaMode.Proxy);
        var d = m.Execute(A, Cdb.Rtpg(pdf: 1)).DataIn;
        Assert.Equal(0x10, d[4]);
        Assert.Equal(0, d[5]);
        Assert.Equal((uint)(d.Length - 4), BinaryPrimitives.ReadUInt32BigEndian(d));
        Assert.Equal(m.Execute(A, Cdb.Rtpg()).DataIn[4..], d[8..]);
        AssertCheck(m.Execute(A, Cdb.Rtpg(pdf: 2)), 0x05, 0x24, 0x00);
    }

    [Fact]
    public void Rtpg_without_interlink_shows_own_group_unavailable_and_no_peer_ports_ctl_ha_5_6()
    {
        var m = SettledPair(HaMode.Unavailable, LinkState.Offline);
        var d = m.Execute(C, Cdb.Rtpg()).DataIn;
        Assert.Equal(0x00, d[4]); // TPG 2 (node 1): AO
        Assert.Equal(0, d[11]); // ...but its ports are not known here
        Assert.Equal(0x03, d[12]); // TPG 3 (node 2): Unavailable
        Assert.Equal(1, d[19]);
    }

    [Fact]
    public void Inquiry_reports_implicit_ALUA_and_multiport_ctl_ha_5_5_req23()
    {
        var m = Settled();
        var d = m.Execute(A, Cdb.Inquiry()).DataIn;
        Assert.Equal(0x10, d[5] & 0x30);
        Assert.Equal(0x08, d[5] & 0x08);
        Assert.Equal(0x10, d[6] & 0x10);
    }

    [Fact]
    public void Inquiry_version_is_06h_SPC4_because_libiscsi_1_19_rejects_07h()
    {
        var m = Settled();
        var d = m.Execute(A, Cdb.Inquiry()).DataIn;
        Assert.Equal(0x06, d[2]);
        // libiscsi 1.19 detects SBC-3 support by the 04C0h version descriptor only.
        Assert.Equal(0x04C0, (d[68] << 8) | d[69]);
        Assert.Equal(0x0460, (d[66] << 8) | d[67]);
    }

    [Fact]
    public void Role_change_gives_2A_06_to_that_nodes_nexuses_only_ctl_ha_5_1_req16_req42()
    {
        var m = SettledPair(HaMode.Proxy);
        // Failover: node 1 loses the link, node 2 is promoted.
        m.SetHaView(1, new LunHaView(1, HaRole.Primary, false, LinkState.Connecting, HaMode.Proxy));
        m.SetHaView(2, new LunHaView(2, HaRole.Primary, false, LinkState.Connecting, HaMode.Proxy));
        AssertCheck(m.Execute(C, Cdb.TestUnitReady()), 0x06, 0x2A, 0x06);
        AssertGood(m.Execute(C, Cdb.TestUnitReady()));
        AssertGood(m.Execute(A, Cdb.TestUnitReady()));
    }

    [Fact]
    public void Link_loss_on_a_secondary_gives_2A_06_and_then_transitioning_ctl_ha_7_1_req38_req41()
    {
        var m = SettledPair(HaMode.Proxy);
        m.SetHaView(2, new LunHaView(2, HaRole.Secondary, false, LinkState.Connecting, HaMode.Proxy));
        AssertCheck(m.Execute(C, Cdb.Read10(0, 1)), 0x06, 0x2A, 0x06);
        AssertCheck(m.Execute(C, Cdb.Read10(0, 1)), 0x02, 0x04, 0x0A);
    }

    [Fact]
    public void Vpd_83_has_relative_port_and_target_port_group_designators_ctl_ha_5_5_req28()
    {
        var m = Settled(new LunConfig(BlockCount: 64) { Naa = 0x6001405000000001, TargetName = "iqn.2026-11.org.ctlha:disk" });
        var d = m.Execute(C, Cdb.Inquiry(evpd: true, page: 0x83)).DataIn;
        Assert.Equal(0x83, d[1]);
        var designators = new List<(byte TypeByte, byte[] Value)>();
        for (var i = 4; i < d.Length;)
        {
            designators.Add((d[i + 1], d[(i + 4)..(i + 4 + d[i + 3])]));
            i += 4 + d[i + 3];
        }

        Assert.Equal(new byte[] { 0x01, 0x03, 0x94, 0x95, 0xA8 }, designators.Select(x => x.TypeByte));
        Assert.Equal(new byte[] { 0, 0, 0, 2 }, designators[2].Value);
        Assert.Equal(new byte[] { 0, 0, 0, 3 }, designators[3].Value);
    }

    [Fact]
    public void Vpd_pages_00_and_80_and_an_unsupported_page_SPC5_7_7()
    {
        var m = Settled();
        Assert.Equal(new byte[] { 0, 0, 0, 10, 0x00, 0x80, 0x83, 0x86, 0x87, 0x88, 0x8F, 0xB0, 0xB1, 0xB2 }, m.Execute(A, Cdb.Inquiry(evpd: true, page: 0)).DataIn);
        Assert.False(m.Execute(A, Cdb.Inquiry(evpd: true, page: 0xB0)).Modeled);
        var serial = m.Execute(A, Cdb.Inquiry(evpd: true, page: 0x80)).DataIn;
        Assert.Equal("CTLHA0000", System.Text.Encoding.ASCII.GetString(serial, 4, serial.Length - 4));
        AssertCheck(m.Execute(A, Cdb.Inquiry(evpd: true, page: 0xB9)), 0x05, 0x24, 0x00);
        AssertCheck(m.Execute(A, Cdb.Inquiry(page: 0x80)), 0x05, 0x24, 0x00);
        Assert.Equal(36, m.Execute(A, Cdb.Inquiry(alloc: 36)).DataIn.Length);
    }

    [Fact]
    public void Report_luns_lists_the_LUN_SPC5_6_33()
    {
        var m = Settled(new LunConfig(BlockCount: 64, LunId: 3));
        var d = m.Execute(A, Cdb.ReportLuns()).DataIn;
        Assert.Equal(new byte[] { 0, 0, 0, 8, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0 }, d);
        Assert.Equal(8, m.Execute(A, Cdb.ReportLuns(select: 1)).DataIn.Length);
        AssertCheck(m.Execute(A, Cdb.ReportLuns(select: 7)), 0x05, 0x24, 0x00);
    }
}

using CtlHa.Spec;
using static CtlHa.Model.Tests.Fixture;

namespace CtlHa.Model.Tests;

public sealed class ModePageTests
{
    [Fact]
    public void Changeable_masks_are_exactly_those_of_ctl_ha_13_1_req60()
    {
        var m = Settled();
        var r = m.Execute(A, Cdb.ModeSense10(0x3F, 0xFF, pc: 1, dbd: true));
        AssertGood(r);
        var body = r.DataIn.AsSpan(8);
        var pages = new Dictionary<ModePageId, byte[]>();
        while (!body.IsEmpty)
        {
            var spf = (body[0] & 0x40) != 0;
            var len = spf ? 4 + ((body[2] << 8) | body[3]) : 2 + body[1];
            pages[new ModePageId((byte)(body[0] & 0x3F), spf ? body[1] : (byte)0)] = body[..len].ToArray();
            body = body[len..];
        }

        Assert.Equal(ModePages.All, pages.Keys);
        Assert.Equal(0x04, pages[ModePages.ReadWriteErrorRecovery][2]);
        Assert.Equal(0x80, pages[ModePages.ReadWriteErrorRecovery][7]);
        Assert.Equal(0x05, pages[ModePages.Caching][2]);
        Assert.Equal(new byte[] { 0x04, 0xF8, 0x08 }, pages[ModePages.Control][2..5]);
        Assert.Equal(0xFF, pages[ModePages.ControlExtension][6]);
        Assert.Equal(0x1D, pages[ModePages.InformationalExceptions][2]);
        Assert.Equal(0x01, pages[ModePages.LogicalBlockProvisioning][4]);
        Assert.All(pages[ModePages.FormatDevice][2..], b => Assert.Equal(0, b));
        Assert.All(pages[ModePages.RigidDisk][2..], b => Assert.Equal(0, b));
    }

    [Fact]
    public void Mode_sense_6_has_header_block_descriptor_and_the_page_SPC5_6_11()
    {
        var m = Settled();
        var r = m.Execute(A, Cdb.ModeSense6(0x08));
        Assert.Equal(4 + 8 + 20, r.DataIn.Length);
        Assert.Equal(r.DataIn.Length - 1, r.DataIn[0]);
        Assert.Equal(0x10, r.DataIn[2]); // DPOFUA, not WP
        Assert.Equal(8, r.DataIn[3]);
        Assert.Equal(64, r.DataIn[7]);
        Assert.Equal(0x08, r.DataIn[12]);
        Assert.Equal(0x14, r.DataIn[14]); // DISC | WCE
        var dbd = m.Execute(A, Cdb.ModeSense6(0x08, dbd: true));
        Assert.Equal(0, dbd.DataIn[3]);
        Assert.Equal(4 + 20, dbd.DataIn.Length);
    }

    [Fact]
    public void Mode_sense_10_with_LLBAA_returns_a_long_block_descriptor_SPC5_6_12()
    {
        var m = Settled();
        var r = m.Execute(A, Cdb.ModeSense10(0x0A, llbaa: true));
        Assert.Equal(0x01, r.DataIn[4]);
        Assert.Equal(16, r.DataIn[7]);
        Assert.Equal(8 + 16 + 12, r.DataIn.Length);
    }

    [Fact]
    public void Unsupported_page_is_invalid_field_in_CDB_SPC5_6_11()
    {
        var m = Settled();
        var r = m.Execute(A, Cdb.ModeSense6(0x19));
        AssertCheck(r, 0x05, 0x24, 0x00);
        Assert.Equal(FieldPointer.Cdb(2, 5), r.DecodedSense!.Pointer);
    }

    [Fact]
    public void Mode_select_of_a_changeable_bit_changes_the_page_and_gives_2A_01_to_the_others_only_ctl_ha_8_3_req47()
    {
        var m = Settled();
        var caching = m.CurrentModePage(ModePages.Caching);
        caching[2] &= 0xFB; // WCE off
        AssertGood(SelectPage(m, A, caching));
        Assert.Equal(caching, m.CurrentModePage(ModePages.Caching));
        AssertGood(m.Execute(A, Cdb.TestUnitReady()));
        foreach (var other in new[] { B, C, D })
        {
            AssertCheck(m.Execute(other, Cdb.TestUnitReady()), 0x06, 0x2A, 0x01);
        }
    }

    [Fact]
    public void Mode_select_that_changes_nothing_gives_no_UA_ctl_ha_13_2()
    {
        var m = Settled();
        AssertGood(SelectPage(m, A, m.CurrentModePage(ModePages.Caching)));
        AssertGood(m.Execute(B, Cdb.TestUnitReady()));
    }

    [Fact]
    public void Mode_select_of_a_non_changeable_bit_points_at_the_byte_and_bit_ctl_ha_13_2()
    {
        var m = Settled();
        var caching = m.CurrentModePage(ModePages.Caching);
        caching[2] ^= 0x10; // DISC is not changeable
        var r = SelectPage(m, A, caching);
        AssertCheck(r, 0x05, 0x26, 0x00);
        Assert.Equal(FieldPointer.Parameter(4 + 2, 4), r.DecodedSense!.Pointer);
    }

    [Fact]
    public void Mode_select_with_the_PS_bit_set_is_rejected_at_the_page_code_byte_CTL_ctl_do_mode_select()
    {
        var m = Settled();
        var caching = m.CurrentModePage(ModePages.Caching);
        caching[0] |= 0x80;
        var r = SelectPage(m, A, caching);
        AssertCheck(r, 0x05, 0x26, 0x00);
        Assert.Equal(FieldPointer.Parameter(4, 7), r.DecodedSense!.Pointer);
    }

    [Fact]
    public void Mode_select_length_errors_ctl_ha_13_2()
    {
        var m = Settled();
        AssertCheck(m.Execute(A, Cdb.ModeSelect6(3), new byte[3]), 0x05, 0x1A, 0x00);
        var p = Cdb.ModeSelect6Parameters(m.CurrentModePage(ModePages.Caching));
        AssertCheck(m.Execute(A, Cdb.ModeSelect6(10), p[..10]), 0x05, 0x1A, 0x00);
        AssertGood(m.Execute(A, Cdb.ModeSelect6(0)));
        // Wrong page length: pointer at the page length byte.
        var bad = (byte[])p.Clone();
        bad[5] = 0x10;
        var r = m.Execute(A, Cdb.ModeSelect6((byte)bad.Length), bad);
        AssertCheck(r, 0x05, 0x26, 0x00);
        Assert.Equal(FieldPointer.Parameter(5), r.DecodedSense!.Pointer);
        // A page without a select handler (Format Device): pointer at the page start.
        var format = Cdb.ModeSelect6Parameters(m.CurrentModePage(ModePages.FormatDevice));
        r = m.Execute(A, Cdb.ModeSelect6((byte)format.Length), format);
        AssertCheck(r, 0x05, 0x26, 0x00);
        Assert.Equal(FieldPointer.Parameter(4), r.DecodedSense!.Pointer);
    }

    [Fact]
    public void Mode_select_RTD_restores_defaults_and_needs_zero_length_ctl_ha_8_3()
    {
        var m = Settled();
        var control = m.CurrentModePage(ModePages.Control);
        control[4] |= 0x08;
        SelectPage(m, A, control);
        var r = m.Execute(A, Cdb.ModeSelect6(4, rtd: true), new byte[4]);
        AssertCheck(r, 0x05, 0x24, 0x00);
        Assert.Null(r.DecodedSense!.Pointer);
        AssertGood(m.Execute(A, Cdb.ModeSelect6(0, rtd: true)));
        Assert.False(m.SoftwareWriteProtect);
    }

    [Fact]
    public void Software_write_protect_fails_writes_and_sets_WP_ctl_ha_15_req61()
    {
        var m = Settled();
        var control = m.CurrentModePage(ModePages.Control);
        control[4] |= 0x08;
        AssertGood(SelectPage(m, A, control));
        AssertCheck(m.Execute(A, Cdb.Write10(0, 1), new byte[512]), 0x07, 0x27, 0x02);
        AssertGood(m.Execute(A, Cdb.Read10(0, 1)));
        Assert.Equal(0x90, m.Execute(A, Cdb.ModeSense6(0x0A)).DataIn[2]);
    }

    [Fact]
    public void Cache_options_set_the_caching_page_defaults_ctl_ha_15_req62()
    {
        var m = Settled(new LunConfig(BlockCount: 64) { WriteCacheOff = true, ReadCacheOff = true });
        var r = m.Execute(A, Cdb.ModeSense6(0x08, pc: 2, dbd: true));
        Assert.Equal(0x11, r.DataIn[4 + 2]);
    }

    [Fact]
    public void Mode_pages_are_shared_by_both_nodes_ctl_ha_15_req47()
    {
        var m = Settled();
        var control = m.CurrentModePage(ModePages.Control);
        control[2] |= 0x04;
        SelectPage(m, A, control);
        m.Execute(C, Cdb.TestUnitReady());
        Assert.Equal(0x04, m.Execute(C, Cdb.ModeSense6(0x0A, dbd: true)).DataIn[4 + 2]);
    }
}

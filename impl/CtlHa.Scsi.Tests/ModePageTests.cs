using System.Buffers.Binary;
using CtlHa.Core;

namespace CtlHa.Scsi.Tests;

public sealed class ModePageTests
{
    // ctl-ha.md §13.1: (page, subpage, length, changeable bytes as offset→mask).
    public static TheoryData<byte, byte, int, int[]> ChangeableMasks => new()
    {
        { 0x01, 0, 12, [2, 0x04, 7, 0x80] },
        { 0x03, 0, 24, [] },
        { 0x04, 0, 24, [] },
        { 0x07, 0, 12, [2, 0x04] },
        { 0x08, 0, 20, [2, 0x05] },
        { 0x0A, 0, 12, [2, 0x04, 3, 0xF8, 4, 0x08] },
        { 0x0A, 1, 32, [6, 0xFF] },
        { 0x1C, 0, 12, [2, 0x1D, 3, 0x0F, 4, 0xFF, 5, 0xFF, 6, 0xFF, 7, 0xFF, 8, 0xFF, 9, 0xFF, 10, 0xFF, 11, 0xFF] },
        // 1Ch/02h: CTL has only SITUA; CtlHa also lets MODE SELECT enable/arm/set the two LBA resource thresholds.
        { 0x1C, 2, 48, [4, 0x01, 16, 0x87, 20, 0xFF, 21, 0xFF, 22, 0xFF, 23, 0xFF, 24, 0x87, 28, 0xFF, 29, 0xFF, 30, 0xFF, 31, 0xFF] },
    };

    [Theory]
    [MemberData(nameof(ChangeableMasks))]
    public async Task Changeable_masks_match_ctl_exactly(byte page, byte subpage, int length, int[] masks)
    {
        var h = await Harness.ReadyAsync();
        var (o, d) = await h.RunAsync(Cdbs.ModeSense10(page, subpage, pc: 1, dbd: true));
        OutcomeAssert.Good(o);
        byte[] p = d[8..];
        Assert.Equal(length, p.Length);
        var expected = new byte[length];
        for (int i = 0; i < masks.Length; i += 2)
        {
            expected[masks[i]] = (byte)masks[i + 1];
        }
        int header = subpage == 0 ? 2 : 4;
        Assert.Equal(expected[header..], p[header..]);
        Assert.Equal(page, p[0] & 0x3F);
    }

    [Fact]
    public async Task Defaults_match_ctl()
    {
        var h = await Harness.ReadyAsync();
        byte[] Page(byte[] d) => d[4..];
        var rw = Page((await h.RunAsync(Cdbs.ModeSense6(0x01, pc: 2, dbd: true))).Data);
        Assert.Equal(0xC0, rw[2]);
        Assert.Equal(0x80, rw[7]);
        var caching = Page((await h.RunAsync(Cdbs.ModeSense6(0x08, dbd: true))).Data);
        Assert.Equal(0x14, caching[2]); // DISC | WCE
        var control = Page((await h.RunAsync(Cdbs.ModeSense6(0x0A, dbd: true))).Data);
        Assert.Equal(0x40, control[5]); // TAS
        Assert.Equal(0, control[3] >> 4);
        var rigid = Page((await h.RunAsync(Cdbs.ModeSense6(0x04, dbd: true))).Data);
        Assert.Equal(1, BinaryPrimitives.ReadUInt16BigEndian(rigid.AsSpan(20)));
        var format = Page((await h.RunAsync(Cdbs.ModeSense6(0x03, dbd: true))).Data);
        Assert.Equal(512, BinaryPrimitives.ReadUInt16BigEndian(format.AsSpan(12)));
    }

    [Fact]
    public async Task All_pages_without_and_with_subpages()
    {
        var h = await Harness.ReadyAsync();
        var (_, all) = await h.RunAsync(Cdbs.ModeSense10(0x3F, dbd: true));
        Assert.Equal(8 + 12 + 24 + 24 + 12 + 20 + 12 + 12, all.Length);
        var (_, withSub) = await h.RunAsync(Cdbs.ModeSense10(0x3F, 0xFF, dbd: true));
        Assert.Equal(all.Length + 32 + 48, withSub.Length);
        Assert.Equal(withSub.Length - 2, BinaryPrimitives.ReadUInt16BigEndian(withSub));
        var (_, control) = await h.RunAsync(Cdbs.ModeSense10(0x0A, 0xFF, dbd: true));
        Assert.Equal(8 + 12 + 32, control.Length);
    }

    [Fact]
    public async Task Block_descriptors_short_and_long()
    {
        var h = await Harness.ReadyAsync(sizeBytes: 4 << 20);
        var (_, d6) = await h.RunAsync(Cdbs.ModeSense6(0x0A));
        Assert.Equal(8, d6[3]);
        Assert.Equal(8192u, BinaryPrimitives.ReadUInt32BigEndian(d6.AsSpan(4)));
        Assert.Equal(512, d6[10] << 8 | d6[11]);
        Assert.Equal(0x10, d6[2] & 0x10); // DPOFUA
        var (_, d10) = await h.RunAsync(Cdbs.ModeSense10(0x0A, llbaa: true));
        Assert.Equal(1, d10[4] & 1);
        Assert.Equal(16, BinaryPrimitives.ReadUInt16BigEndian(d10.AsSpan(6)));
        Assert.Equal(8192UL, BinaryPrimitives.ReadUInt64BigEndian(d10.AsSpan(8)));
    }

    [Fact]
    public async Task Unsupported_page_and_subpage_are_invalid_fields()
    {
        var h = await Harness.ReadyAsync();
        OutcomeAssert.Field((await h.RunAsync(Cdbs.ModeSense6(0x19))).Outcome, 2, 5);
        OutcomeAssert.Field((await h.RunAsync(Cdbs.ModeSense6(0x0A, 0x05))).Outcome, 3);
    }

    private static async Task<byte[]> CurrentPageAsync(Harness h, byte page, byte subpage = 0)
    {
        var (_, d) = await h.RunAsync(Cdbs.ModeSense10(page, subpage, dbd: true));
        return d[8..];
    }

    [Fact]
    public async Task Mode_select_changes_a_changeable_bit_and_sets_mode_change_ua_for_other_nexuses()
    {
        var h = await Harness.ReadyAsync();
        var other = h.NewNexus("iqn.test:other");
        await h.ClearUnitAttentionsAsync(other);
        byte[] caching = await CurrentPageAsync(h, 0x08);
        caching[2] &= unchecked((byte)~0x04); // WCE off
        byte[] list = [0, 0, 0, 0, .. caching];
        OutcomeAssert.Good((await h.RunAsync(Cdbs.ModeSelect6(list.Length), list)).Outcome);
        Assert.Equal(0x10, (await CurrentPageAsync(h, 0x08))[2]);
        Assert.False(h.Lun0.Mode.WriteCacheEnabled);
        OutcomeAssert.Check((await h.RunAsync(Cdbs.TestUnitReady(), nexus: other)).Outcome, SenseKey.UnitAttention, 0x2A, 0x01);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.TestUnitReady())).Outcome); // not for the requester

        // The same values again: no real change, no UA.
        OutcomeAssert.Good((await h.RunAsync(Cdbs.ModeSelect6(list.Length), list)).Outcome);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.TestUnitReady(), nexus: other)).Outcome);
    }

    [Fact]
    public async Task Mode_select_of_a_non_changeable_bit_points_at_the_byte_and_bit()
    {
        var h = await Harness.ReadyAsync();
        byte[] control = await CurrentPageAsync(h, 0x0A);
        control[5] ^= 0x40; // TAS is not changeable
        byte[] list = [0, 0, 0, 0, 0, 0, 0, 0, .. control];
        OutcomeAssert.Field((await h.RunAsync(Cdbs.ModeSelect10(list.Length), list)).Outcome, 8 + 5, 6, inCdb: false, asc: 0x26);
    }

    [Fact]
    public async Task Mode_select_page_errors_point_at_the_page_or_its_length()
    {
        var h = await Harness.ReadyAsync();
        byte[] rigid = await CurrentPageAsync(h, 0x04);
        byte[] list = [0, 0, 0, 0, .. rigid];
        OutcomeAssert.Field((await h.RunAsync(Cdbs.ModeSelect6(list.Length), list)).Outcome, 4, inCdb: false, asc: 0x26);
        byte[] unknown = [0, 0, 0, 0, 0x19, 2, 0, 0];
        OutcomeAssert.Field((await h.RunAsync(Cdbs.ModeSelect6(unknown.Length), unknown)).Outcome, 4, inCdb: false, asc: 0x26);
        byte[] caching = await CurrentPageAsync(h, 0x08);
        caching[1] = 0x10;
        byte[] wrongLength = [0, 0, 0, 0, .. caching[..18]];
        OutcomeAssert.Field((await h.RunAsync(Cdbs.ModeSelect6(wrongLength.Length), wrongLength)).Outcome, 5, inCdb: false, asc: 0x26);
    }

    [Fact]
    public async Task Mode_select_short_lists_are_parameter_list_length_errors()
    {
        var h = await Harness.ReadyAsync();
        OutcomeAssert.Check((await h.RunAsync(Cdbs.ModeSelect6(3), [0, 0, 0])).Outcome, SenseKey.IllegalRequest, 0x1A, 0);
        OutcomeAssert.Check((await h.RunAsync(Cdbs.ModeSelect6(4), [0, 0, 0, 8])).Outcome, SenseKey.IllegalRequest, 0x1A, 0);
        byte[] control = await CurrentPageAsync(h, 0x0A);
        byte[] truncated = [0, 0, 0, 0, .. control[..6]];
        OutcomeAssert.Check((await h.RunAsync(Cdbs.ModeSelect6(truncated.Length), truncated)).Outcome, SenseKey.IllegalRequest, 0x1A, 0);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.ModeSelect6(0))).Outcome);
        OutcomeAssert.Field((await h.RunAsync([0x15, 0x12, 0, 0, 4, 0], new byte[4])).Outcome, 1, 1); // RTD with data
    }

    [Fact]
    public async Task D_sense_switches_check_conditions_to_descriptor_format()
    {
        var h = await Harness.ReadyAsync();
        byte[] control = await CurrentPageAsync(h, 0x0A);
        control[2] |= 0x04;
        byte[] list = [0, 0, 0, 0, .. control];
        OutcomeAssert.Good((await h.RunAsync(Cdbs.ModeSelect6(list.Length), list)).Outcome);
        var o = (await h.RunAsync(Cdbs.Read10(0xFFFFFF, 1))).Outcome;
        Assert.True(o.DescriptorSense);
        Assert.Equal(0x72, o.Sense!.Value.ToArray(o.DescriptorSense)[0]);
    }

    [Fact]
    public async Task Control_extension_and_lbp_subpages_accept_their_changeable_bytes()
    {
        var h = await Harness.ReadyAsync();
        byte[] ext = await CurrentPageAsync(h, 0x0A, 0x01);
        ext[6] = 200;
        byte[] lbp = await CurrentPageAsync(h, 0x1C, 0x02);
        lbp[4] ^= 0x01;
        byte[] list = [0, 0, 0, 0, 0, 0, 0, 0, .. ext, .. lbp];
        OutcomeAssert.Good((await h.RunAsync(Cdbs.ModeSelect10(list.Length), list)).Outcome);
        Assert.Equal(200, (await CurrentPageAsync(h, 0x0A, 0x01))[6]);
        // Saved pages never change.
        var (_, saved) = await h.RunAsync(Cdbs.ModeSense10(0x0A, 0x01, pc: 3, dbd: true));
        Assert.Equal(0, saved[8 + 6]);
    }
}

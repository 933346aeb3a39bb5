using System.Buffers.Binary;
using CtlHa.Spec;
using static CtlHa.Model.Tests.Fixture;

namespace CtlHa.Model.Tests;

public sealed class MoreRuleTests
{
    [Fact]
    public void An_invalid_CDB_field_is_reported_before_a_pending_UA_CTL_ctl_validate_command()
    {
        var m = new LogicalUnitModel(new LunConfig(BlockCount: 64));
        var cdb = Cdb.Read10(0, 1);
        cdb[6] = 0x01; // GROUP NUMBER is not in CTL's usage mask
        AssertCheck(m.Execute(A, cdb), 0x05, 0x24, 0x00);
        AssertCheck(m.Execute(A, Cdb.TestUnitReady()), 0x06, 0x29, 0x01);
    }

    [Fact]
    public void Commands_outside_the_model_are_marked_unmodeled_but_still_gated_ctl_ha_5_2()
    {
        var m = Settled(Pair(HaMode.Standby));
        byte[] logSense = [0x4D, 0, 0x40, 0, 0, 0, 0, 0x01, 0, 0];
        Assert.False(m.Execute(A, logSense).Modeled);
        byte[] startStop = [0x1B, 0, 0, 0, 0x01, 0];
        AssertCheck(m.Execute(C, startStop), 0x02, 0x04, 0x0B);
    }

    [Fact]
    public void Write6_and_write12_address_the_same_blocks_as_read10_SBC4_5_x()
    {
        var m = Settled();
        var one = Pattern(1, 11);
        var two = Pattern(2, 12);
        AssertGood(m.Execute(A, Cdb.Write6(1, 1), one));
        AssertGood(m.Execute(A, Cdb.Write12(2, 2), two));
        Assert.Equal([.. one, .. two], m.Execute(B, Cdb.Read10(1, 3)).DataIn);
    }

    [Fact]
    public void Request_sense_data_is_cut_to_the_allocation_length_SPC5_6_39()
    {
        var m = new LogicalUnitModel(new LunConfig());
        var r = m.Execute(A, Cdb.RequestSense(alloc: 8));
        Assert.Equal(8, r.DataIn.Length);
        AssertGood(m.Execute(A, Cdb.TestUnitReady()));
    }

    [Fact]
    public void Proxy_secondary_answers_inquiry_and_rtpg_like_the_primary_ctl_ha_9()
    {
        var m = Settled(Pair(HaMode.Proxy));
        Assert.Equal(m.Execute(A, Cdb.Inquiry()).DataIn, m.Execute(C, Cdb.Inquiry()).DataIn);
        Assert.Equal(m.Execute(A, Cdb.Rtpg(pdf: 1)).DataIn, m.Execute(C, Cdb.Rtpg(pdf: 1)).DataIn);
    }

    [Fact]
    public void Mode_sense_default_and_saved_pages_do_not_follow_mode_select_ctl_ha_13_2()
    {
        var m = Settled();
        var caching = m.CurrentModePage(ModePages.Caching);
        caching[2] = 0x11; // RCD on, WCE off
        AssertGood(SelectPage(m, A, caching));
        Assert.Equal(0x11, m.Execute(A, Cdb.ModeSense10(0x08, dbd: true)).DataIn[8 + 2]);
        Assert.Equal(0x14, m.Execute(A, Cdb.ModeSense10(0x08, pc: 2, dbd: true)).DataIn[8 + 2]);
        Assert.Equal(0x14, m.Execute(A, Cdb.ModeSense10(0x08, pc: 3, dbd: true)).DataIn[8 + 2]);
    }

    [Fact]
    public void Mode_select_10_applies_pages_after_an_8_byte_header_SPC5_6_14()
    {
        var m = Settled();
        var control = m.CurrentModePage(ModePages.Control);
        control[3] = 0x10; // QUEUE ALGORITHM MODIFIER 1
        byte[] p = [0, 0, 0, 0, 0, 0, 0, 0, .. control];
        AssertGood(m.Execute(A, Cdb.ModeSelect10((ushort)p.Length), p));
        Assert.Equal(0x10, m.CurrentModePage(ModePages.Control)[3]);
        AssertCheck(m.Execute(A, Cdb.ModeSelect10(7), p[..7]), 0x05, 0x1A, 0x00);
    }

    [Fact]
    public void Mode_select_of_a_subpage_uses_the_4_byte_page_header_SPC5_7_5_7()
    {
        var m = Settled();
        var ext = m.CurrentModePage(ModePages.ControlExtension);
        ext[6] = 0x40;
        AssertGood(SelectPage(m, A, ext));
        Assert.Equal(0x40, m.CurrentModePage(ModePages.ControlExtension)[6]);
        ext[4] = 0x01; // not changeable
        var r = SelectPage(m, A, ext);
        AssertCheck(r, 0x05, 0x26, 0x00);
        Assert.Equal(FieldPointer.Parameter(4 + 4, 0), r.DecodedSense!.Pointer);
    }

    [Fact]
    public void Pr_in_data_is_cut_to_the_allocation_length_SPC5_6_16()
    {
        var m = Settled();
        Register(m, A, 0xA);
        Register(m, B, 0xB);
        var r = m.Execute(A, Cdb.PrIn(0x00, alloc: 12));
        Assert.Equal(12, r.DataIn.Length);
        Assert.Equal(16u, BinaryPrimitives.ReadUInt32BigEndian(r.DataIn.AsSpan(4)));
    }

    [Fact]
    public void Register_and_ignore_with_zero_key_from_an_unregistered_nexus_changes_nothing_SPC5_5_14_7()
    {
        var m = Settled();
        AssertGood(m.Execute(A, Cdb.PrOut(0x06), Cdb.PrOutParameters(0, 0)));
        Assert.Equal(0u, m.PrGeneration);
        Assert.Empty(m.Registrations);
    }

    [Fact]
    public void Reserve_again_by_the_holder_is_good_only_with_the_same_type_SPC5_5_14_9()
    {
        var m = Settled();
        Register(m, A, 0xA);
        Register(m, B, 0xB);
        AssertGood(Reserve(m, A, 0xA, PrType.WriteExclusive));
        AssertGood(Reserve(m, A, 0xA, PrType.WriteExclusive));
        AssertConflict(Reserve(m, A, 0xA, PrType.ExclusiveAccess));
        AssertConflict(Reserve(m, B, 0xB, PrType.WriteExclusive));
        Assert.Equal(2u, m.PrGeneration);
    }

    [Fact]
    public void Invalid_type_or_scope_is_invalid_field_in_CDB_SPC5_6_17()
    {
        var m = Settled();
        Register(m, A, 0xA);
        var r = m.Execute(A, Cdb.PrOut(0x01, (PrType)0x2), Cdb.PrOutParameters(0xA));
        AssertCheck(r, 0x05, 0x24, 0x00);
        Assert.Equal(FieldPointer.Cdb(2, 3), r.DecodedSense!.Pointer);
        var cdb = Cdb.PrOut(0x01, PrType.WriteExclusive);
        cdb[2] |= 0x10;
        AssertCheck(m.Execute(A, cdb, Cdb.PrOutParameters(0xA)), 0x05, 0x24, 0x00);
    }

    [Fact]
    public void Preempt_and_abort_has_the_visible_effect_of_preempt_ctl_ha_12_2_item5()
    {
        LogicalUnitModel Setup()
        {
            var s = Settled();
            Register(s, A, 0xA);
            Register(s, B, 0xB);
            Reserve(s, A, 0xA, PrType.ExclusiveAccess);
            return s;
        }

        var preempt = Setup();
        var abort = Setup();
        AssertGood(preempt.Execute(B, Cdb.PrOut(0x04, PrType.ExclusiveAccess), Cdb.PrOutParameters(0xB, 0xA)));
        var aborted = abort.Execute(B, Cdb.PrOut(0x05, PrType.ExclusiveAccess), Cdb.PrOutParameters(0xB, 0xA));
        AssertGood(aborted);
        Assert.Equal([A], aborted.AbortedNexuses);
        Assert.Equal(preempt.ToString(), abort.ToString());
        Assert.Equal(new PrReservation(PrType.ExclusiveAccess, B), abort.PersistentReservation);
        // Same type: no RESERVATIONS RELEASED, only the preempted A hears about it.
        AssertCheck(abort.Execute(A, Cdb.TestUnitReady()), 0x06, 0x2A, 0x05);
        AssertGood(abort.Execute(C, Cdb.TestUnitReady()));
    }

    [Fact]
    public void Capacity_change_gives_2A_09_and_read_capacity_follows_SBC4_4_x()
    {
        var m = Settled();
        m.SetCapacity(32);
        AssertCheck(m.Execute(C, Cdb.ReadCapacity10()), 0x06, 0x2A, 0x09);
        Assert.Equal(31u, BinaryPrimitives.ReadUInt32BigEndian(m.Execute(C, Cdb.ReadCapacity10()).DataIn));
        AssertCheck(m.Execute(A, Cdb.TestUnitReady()), 0x06, 0x2A, 0x09);
        AssertCheck(m.Execute(A, Cdb.Read10(32, 1)), 0x05, 0x21, 0x00);
    }

    [Fact]
    public void Release10_and_reserve10_behave_like_the_6_byte_forms_SPC2_7_17_7_21()
    {
        var m = Settled();
        byte[] reserve10 = [0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        byte[] release10 = [0x57, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        AssertGood(m.Execute(C, reserve10));
        AssertConflict(m.Execute(A, Cdb.Read10(0, 1)));
        AssertGood(m.Execute(C, release10));
        AssertGood(m.Execute(A, Cdb.Read10(0, 1)));
    }
}

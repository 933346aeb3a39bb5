using System.Buffers.Binary;
using CtlHa.Spec;
using static CtlHa.Model.Tests.Fixture;

namespace CtlHa.Model.Tests;

public sealed class PersistentReservationTests
{
    private static ulong[] Keys(ModelResult r)
    {
        var n = BinaryPrimitives.ReadInt32BigEndian(r.DataIn.AsSpan(4)) / 8;
        return Enumerable.Range(0, n).Select(i => BinaryPrimitives.ReadUInt64BigEndian(r.DataIn.AsSpan(8 + (8 * i)))).ToArray();
    }

    private static uint Generation(ModelResult r) => BinaryPrimitives.ReadUInt32BigEndian(r.DataIn);

    [Fact]
    public void Register_adds_keys_and_bumps_the_generation_SPC5_5_14_7()
    {
        var m = Settled();
        AssertGood(Register(m, A, 0xA));
        AssertGood(Register(m, C, 0xC));
        var r = m.Execute(B, Cdb.PrIn(0x00));
        Assert.Equal([0xAUL, 0xCUL], Keys(r));
        Assert.Equal(2u, Generation(r));
    }

    [Fact]
    public void Register_with_a_wrong_key_is_a_reservation_conflict_SPC5_5_14_7()
    {
        var m = Settled();
        Register(m, A, 0xA);
        AssertConflict(m.Execute(A, Cdb.PrOut(0x00), Cdb.PrOutParameters(0xB, 0x1)));
        AssertConflict(m.Execute(B, Cdb.PrOut(0x00), Cdb.PrOutParameters(0x5, 0x1)));
        AssertGood(m.Execute(A, Cdb.PrOut(0x06), Cdb.PrOutParameters(0x99, 0x1)));
        Assert.Equal(0x1UL, m.KeyOf(A));
    }

    [Fact]
    public void Unregistered_nexus_cannot_reserve_SPC5_5_14_9()
    {
        var m = Settled();
        AssertConflict(Reserve(m, A, 0, PrType.WriteExclusive));
    }

    [Fact]
    public void Parameter_list_length_must_be_24_ctl_ha_8_4()
    {
        var m = Settled();
        var r = m.Execute(A, Cdb.PrOut(0x00, length: 20), new byte[20]);
        AssertCheck(r, 0x05, 0x24, 0x00);
        Assert.Equal(5, r.DecodedSense!.Pointer!.Value.Field);
    }

    [Theory]
    [InlineData(0x01, 0)]
    [InlineData(0x04, 2)]
    [InlineData(0x08, 3)]
    public void APTPL_ALL_TG_PT_and_SPEC_I_PT_are_rejected_with_a_field_pointer_ctl_ha_8_4(byte flag, int bit)
    {
        var m = Settled();
        var r = m.Execute(A, Cdb.PrOut(0x00), Cdb.PrOutParameters(0, 1, flag));
        AssertCheck(r, 0x05, 0x26, 0x00);
        Assert.Equal(FieldPointer.Parameter(20, bit), r.DecodedSense!.Pointer);
        Assert.Null(m.KeyOf(A));
    }

    [Fact]
    public void APTPL_is_ignored_outside_the_register_actions_and_checked_after_the_key_SPC5_6_17_3()
    {
        var m = Settled();
        Register(m, A, 0xA);
        AssertGood(m.Execute(A, Cdb.PrOut(0x01, PrType.WriteExclusive), Cdb.PrOutParameters(0xA, 0, 0x01)));
        AssertConflict(m.Execute(A, Cdb.PrOut(0x00), Cdb.PrOutParameters(0xB, 0x1, 0x01)));
    }

    [Fact]
    public void Write_exclusive_lets_others_read_but_not_write_SPC5_5_14_1_table()
    {
        var m = Settled();
        Register(m, A, 0xA);
        Register(m, B, 0xB);
        AssertGood(Reserve(m, A, 0xA, PrType.WriteExclusive));
        AssertGood(m.Execute(C, Cdb.Read10(0, 1)));
        AssertConflict(m.Execute(C, Cdb.Write10(0, 1), new byte[512]));
        AssertConflict(m.Execute(B, Cdb.Write10(0, 1), new byte[512]));
        AssertGood(m.Execute(A, Cdb.Write10(0, 1), new byte[512]));
        AssertGood(m.Execute(C, Cdb.TestUnitReady()));
        AssertGood(m.Execute(C, Cdb.ReadCapacity10()));
        AssertConflict(m.Execute(C, Cdb.SynchronizeCache10(0, 0)));
    }

    [Fact]
    public void Exclusive_access_blocks_reads_by_everyone_but_the_holder_SPC5_5_14_1_table()
    {
        var m = Settled();
        Register(m, A, 0xA);
        Register(m, B, 0xB);
        Reserve(m, A, 0xA, PrType.ExclusiveAccess);
        AssertConflict(m.Execute(B, Cdb.Read10(0, 1)));
        AssertConflict(m.Execute(C, Cdb.Read10(0, 1)));
        AssertGood(m.Execute(A, Cdb.Read10(0, 1)));
        AssertGood(m.Execute(C, Cdb.Inquiry()));
        AssertGood(m.Execute(C, Cdb.PrIn(0x01)));
    }

    [Theory]
    [InlineData(PrType.WriteExclusiveRegistrantsOnly, true)]
    [InlineData(PrType.WriteExclusiveAllRegistrants, true)]
    [InlineData(PrType.ExclusiveAccessRegistrantsOnly, false)]
    [InlineData(PrType.ExclusiveAccessAllRegistrants, false)]
    public void Registrants_types_allow_every_registrant_and_bar_the_rest_SPC5_5_14_1_table(PrType type, bool othersMayRead)
    {
        var m = Settled();
        Register(m, A, 0xA);
        Register(m, B, 0xB);
        AssertGood(Reserve(m, A, 0xA, type));
        AssertGood(m.Execute(B, Cdb.Write10(0, 1), new byte[512]));
        AssertConflict(m.Execute(C, Cdb.Write10(0, 1), new byte[512]));
        var read = m.Execute(C, Cdb.Read10(0, 1));
        Assert.Equal(othersMayRead ? ScsiStatus.Good : ScsiStatus.ReservationConflict, read.Status);
    }

    [Fact]
    public void Read_reservation_shows_holder_key_and_type_and_zero_key_for_all_registrants_SPC5_6_16_3()
    {
        var m = Settled();
        Register(m, A, 0xA);
        Reserve(m, A, 0xA, PrType.WriteExclusive);
        var r = m.Execute(B, Cdb.PrIn(0x01));
        Assert.Equal(24, r.DataIn.Length);
        Assert.Equal(0xAUL, BinaryPrimitives.ReadUInt64BigEndian(r.DataIn.AsSpan(8)));
        Assert.Equal(0x01, r.DataIn[21]);
        m.Execute(A, Cdb.PrOut(0x02, PrType.WriteExclusive), Cdb.PrOutParameters(0xA));
        Reserve(m, A, 0xA, PrType.ExclusiveAccessAllRegistrants);
        r = m.Execute(B, Cdb.PrIn(0x01));
        Assert.Equal(0UL, BinaryPrimitives.ReadUInt64BigEndian(r.DataIn.AsSpan(8)));
        Assert.Equal(0x08, r.DataIn[21]);
    }

    [Fact]
    public void Release_with_wrong_type_is_invalid_release_SPC5_5_14_11_2()
    {
        var m = Settled();
        Register(m, A, 0xA);
        Reserve(m, A, 0xA, PrType.WriteExclusive);
        AssertCheck(m.Execute(A, Cdb.PrOut(0x02, PrType.ExclusiveAccess), Cdb.PrOutParameters(0xA)), 0x05, 0x26, 0x04);
        Assert.NotNull(m.PersistentReservation);
    }

    [Fact]
    public void Release_of_a_registrants_only_reservation_gives_2A_04_to_other_registrants_ctl_ha_15_req50()
    {
        var m = Settled();
        Register(m, A, 0xA);
        Register(m, C, 0xC);
        Reserve(m, A, 0xA, PrType.WriteExclusiveRegistrantsOnly);
        AssertGood(m.Execute(A, Cdb.PrOut(0x02, PrType.WriteExclusiveRegistrantsOnly), Cdb.PrOutParameters(0xA)));
        Assert.Null(m.PersistentReservation);
        AssertCheck(m.Execute(C, Cdb.TestUnitReady()), 0x06, 0x2A, 0x04);
        AssertGood(m.Execute(A, Cdb.TestUnitReady()));
        AssertGood(m.Execute(B, Cdb.TestUnitReady()));
    }

    [Fact]
    public void Release_of_write_exclusive_or_with_NUAR_gives_no_UA_SPC5_7_5_8()
    {
        var m = Settled();
        Register(m, A, 0xA);
        Register(m, C, 0xC);
        Reserve(m, A, 0xA, PrType.WriteExclusive);
        m.Execute(A, Cdb.PrOut(0x02, PrType.WriteExclusive), Cdb.PrOutParameters(0xA));
        AssertGood(m.Execute(C, Cdb.TestUnitReady()));

        var control = m.CurrentModePage(ModePages.Control);
        control[3] |= 0x08;
        SelectPage(m, A, control);
        m.Execute(C, Cdb.TestUnitReady()); // 2A/01 from the MODE SELECT
        Reserve(m, A, 0xA, PrType.ExclusiveAccessRegistrantsOnly);
        m.Execute(A, Cdb.PrOut(0x02, PrType.ExclusiveAccessRegistrantsOnly), Cdb.PrOutParameters(0xA));
        AssertGood(m.Execute(C, Cdb.TestUnitReady()));
    }

    [Fact]
    public void Clear_drops_everything_and_gives_2A_05_to_the_others_ctl_ha_15_req50()
    {
        var m = Settled();
        Register(m, A, 0xA);
        Register(m, C, 0xC);
        Reserve(m, A, 0xA, PrType.ExclusiveAccess);
        AssertGood(m.Execute(C, Cdb.PrOut(0x03), Cdb.PrOutParameters(0xC)));
        Assert.Empty(m.Registrations);
        Assert.Null(m.PersistentReservation);
        AssertCheck(m.Execute(A, Cdb.TestUnitReady()), 0x06, 0x2A, 0x05);
        AssertGood(m.Execute(C, Cdb.TestUnitReady()));
    }

    [Fact]
    public void Preempt_of_the_holder_takes_the_reservation_and_removes_its_registration_SPC5_5_14_12_2()
    {
        var m = Settled();
        Register(m, A, 0xA);
        Register(m, B, 0xB);
        Register(m, C, 0xC);
        Reserve(m, A, 0xA, PrType.WriteExclusive);
        AssertGood(m.Execute(C, Cdb.PrOut(0x04, PrType.ExclusiveAccessRegistrantsOnly), Cdb.PrOutParameters(0xC, 0xA)));
        Assert.Null(m.KeyOf(A));
        Assert.Equal(new PrReservation(PrType.ExclusiveAccessRegistrantsOnly, C), m.PersistentReservation);
        AssertCheck(m.Execute(A, Cdb.TestUnitReady()), 0x06, 0x2A, 0x05);
        // Type changed: the remaining registrant B gets RESERVATIONS RELEASED (SPC-5, unlike CTL which does
        // it only for the registrants-only types).
        AssertCheck(m.Execute(B, Cdb.TestUnitReady()), 0x06, 0x2A, 0x04);
        AssertGood(m.Execute(C, Cdb.TestUnitReady()));
    }

    [Fact]
    public void Preempt_without_reservation_removes_matching_registrations_or_conflicts_SPC5_5_14_12_2()
    {
        var m = Settled();
        Register(m, A, 0xA);
        Register(m, B, 0xB);
        Register(m, D, 0xB);
        AssertGood(m.Execute(A, Cdb.PrOut(0x04, PrType.WriteExclusive), Cdb.PrOutParameters(0xA, 0xB)));
        Assert.Null(m.KeyOf(B));
        Assert.Null(m.KeyOf(D));
        Assert.Null(m.PersistentReservation);
        AssertConflict(m.Execute(A, Cdb.PrOut(0x04, PrType.WriteExclusive), Cdb.PrOutParameters(0xA, 0x77)));
        var r = m.Execute(A, Cdb.PrOut(0x04, PrType.WriteExclusive), Cdb.PrOutParameters(0xA, 0));
        AssertCheck(r, 0x05, 0x26, 0x00);
        Assert.Equal(FieldPointer.Parameter(8), r.DecodedSense!.Pointer);
    }

    [Fact]
    public void Preempt_with_zero_key_under_all_registrants_removes_all_others_SPC5_5_14_12_2_3()
    {
        var m = Settled();
        Register(m, A, 0xA);
        Register(m, B, 0xB);
        Reserve(m, A, 0xA, PrType.WriteExclusiveAllRegistrants);
        AssertGood(m.Execute(A, Cdb.PrOut(0x05, PrType.WriteExclusive), Cdb.PrOutParameters(0xA, 0)));
        Assert.Single(m.Registrations);
        Assert.Equal(new PrReservation(PrType.WriteExclusive, A), m.PersistentReservation);
        AssertCheck(m.Execute(B, Cdb.TestUnitReady()), 0x06, 0x2A, 0x05);
    }

    [Fact]
    public void Unregistering_the_holder_releases_and_warns_registrants_only_types_SPC5_5_14_11_2_2()
    {
        var m = Settled();
        Register(m, A, 0xA);
        Register(m, B, 0xB);
        Reserve(m, A, 0xA, PrType.WriteExclusiveRegistrantsOnly);
        AssertGood(m.Execute(A, Cdb.PrOut(0x00), Cdb.PrOutParameters(0xA, 0)));
        Assert.Null(m.PersistentReservation);
        AssertCheck(m.Execute(B, Cdb.TestUnitReady()), 0x06, 0x2A, 0x04);
    }

    [Fact]
    public void Report_capabilities_advertises_what_CTL_does_ctl_ha_8_4()
    {
        var m = Settled();
        var r = m.Execute(A, Cdb.PrIn(0x02));
        Assert.Equal(new byte[] { 0, 8, 0x10, 0xD0, 0xEA, 0x01, 0, 0 }, r.DataIn);
    }

    [Fact]
    public void Read_full_status_lists_registrants_with_holder_port_and_transport_id_SPC5_6_16_5()
    {
        var m = Settled();
        Register(m, A, 0xA);
        Register(m, C, 0xC);
        Reserve(m, C, 0xC, PrType.ExclusiveAccess);
        var r = m.Execute(B, Cdb.PrIn(0x03));
        var d = r.DataIn.AsSpan(8);
        Assert.Equal(0xAUL, BinaryPrimitives.ReadUInt64BigEndian(d));
        Assert.Equal(0, d[12]);
        Assert.Equal(1, BinaryPrimitives.ReadUInt16BigEndian(d[18..]));
        var tidLength = BinaryPrimitives.ReadInt32BigEndian(d[20..]);
        Assert.Equal(0x45, d[24]);
        Assert.Equal(0, tidLength % 4);
        var name = System.Text.Encoding.UTF8.GetString(d.Slice(28, A.InitiatorPortName.Length));
        Assert.Equal("iqn.2026-11.test:a,i,0x400001370000", name);
        var second = d[(24 + tidLength)..];
        Assert.Equal(0xCUL, BinaryPrimitives.ReadUInt64BigEndian(second));
        Assert.Equal(0x01, second[12]);
        Assert.Equal(0x03, second[13]);
        Assert.Equal(2, BinaryPrimitives.ReadUInt16BigEndian(second[18..]));
    }

    [Fact]
    public void Reservations_are_shared_by_both_nodes_ctl_ha_15_req49()
    {
        var m = Settled();
        Register(m, A, 0xA);
        Reserve(m, A, 0xA, PrType.ExclusiveAccess);
        AssertConflict(m.Execute(C, Cdb.Read10(0, 1)));
        Assert.Equal([0xAUL], Keys(m.Execute(C, Cdb.PrIn(0x00))));
    }
}

public sealed class Scsi2ReservationTests
{
    [Fact]
    public void Reserve_blocks_other_nexuses_until_release_SPC2_7_21()
    {
        var m = Settled();
        AssertGood(m.Execute(A, Cdb.Reserve6()));
        AssertConflict(m.Execute(B, Cdb.Read10(0, 1)));
        AssertConflict(m.Execute(C, Cdb.TestUnitReady()));
        AssertConflict(m.Execute(B, Cdb.Reserve6()));
        AssertGood(m.Execute(B, Cdb.Inquiry()));
        AssertGood(m.Execute(B, Cdb.Release6())); // not the holder: GOOD, nothing released
        AssertConflict(m.Execute(B, Cdb.Read10(0, 1)));
        AssertGood(m.Execute(A, Cdb.Read10(0, 1)));
        AssertGood(m.Execute(A, Cdb.Release6()));
        AssertGood(m.Execute(B, Cdb.Read10(0, 1)));
    }

    [Fact]
    public void Discovery_is_allowed_and_persistent_reservations_conflict_under_it_SPC3_table_31()
    {
        var m = Settled();
        m.Execute(A, Cdb.Reserve6());
        AssertGood(m.Execute(C, Cdb.ReadCapacity10()));
        AssertGood(m.Execute(C, Cdb.Rtpg()));
        AssertGood(m.Execute(C, Cdb.ReportLuns()));
        AssertConflict(m.Execute(C, Cdb.PrIn(0x00)));
        AssertConflict(Register(m, C, 0xC));
        AssertGood(Register(m, A, 0xA));
    }

    [Fact]
    public void Lun_reset_and_nexus_loss_release_it_ctl_ha_8_5()
    {
        var m = Settled();
        m.Execute(A, Cdb.Reserve6());
        m.LunReset(C);
        Assert.Null(m.Scsi2ReservationHolder);
        AssertCheck(m.Execute(A, Cdb.TestUnitReady()), 0x06, 0x29, 0x00);
        AssertGood(m.Execute(A, Cdb.Reserve6()));
        m.NexusLoss(B);
        Assert.Equal(A, m.Scsi2ReservationHolder);
        m.NexusLoss(A);
        Assert.Null(m.Scsi2ReservationHolder);
    }

    [Fact]
    public void Reserve_under_a_persistent_reservation_is_a_no_op_for_its_holder_SPC5_5_14_3()
    {
        var m = Settled();
        Register(m, A, 0xA);
        Reserve(m, A, 0xA, PrType.WriteExclusive);
        AssertGood(m.Execute(A, Cdb.Reserve6()));
        Assert.Null(m.Scsi2ReservationHolder);
        AssertConflict(m.Execute(B, Cdb.Reserve6()));
    }

    [Fact]
    public void Reserve_and_release_conflict_while_registrations_exist_without_a_reservation_SPC5_5_14_3()
    {
        var m = Settled();
        Register(m, A, 0xA);
        AssertConflict(m.Execute(B, Cdb.Reserve6()));
        AssertConflict(m.Execute(A, Cdb.Reserve6()));
        Assert.Null(m.Scsi2ReservationHolder);
        AssertConflict(m.Execute(B, Cdb.Release6()));
    }

    [Fact]
    public void The_scsi2_holder_can_always_release_even_after_registering_SPC2_7_17()
    {
        var m = Settled();
        AssertGood(m.Execute(A, Cdb.Reserve6()));
        AssertGood(Register(m, A, 0xA));
        AssertGood(m.Execute(A, Cdb.Release6()));
        Assert.Null(m.Scsi2ReservationHolder);
    }

    [Fact]
    public void Read_buffer_is_keyed_by_mode_and_allowed_to_non_registrants_under_write_exclusive()
    {
        var m = Settled();
        Register(m, A, 0xA);
        Reserve(m, A, 0xA, PrType.WriteExclusive);
        byte[] readBufferData = [0x3C, 0x02, 0, 0, 0, 0, 0, 0, 0x10, 0];
        Assert.False(m.Execute(B, readBufferData).Modeled); // passed the reservation gate, not executed
        byte[] writeBufferData = [0x3B, 0x02, 0, 0, 0, 0, 0, 0, 0x10, 0];
        AssertConflict(m.Execute(B, writeBufferData));
        Assert.NotNull(CdbRules.Find(0x3C, 0x03));
        Assert.NotNull(CdbRules.Find(0x9B, 0x0B));
        Assert.Null(CdbRules.Find(0x3C, null));
    }
}

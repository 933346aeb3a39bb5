using System.Buffers.Binary;
using System.Text;
using CtlHa.Core;
using CtlHa.Scsi.Reservations;
using static CtlHa.Scsi.Tests.Reservations.PrTestKit;

namespace CtlHa.Scsi.Tests.Reservations;

public sealed class PersistentReservationTests
{
    private readonly LogicalUnitReservations _lu = new();

    // ---- REGISTER (SPC-5 §5.14.7 Table 70) ----

    [Fact]
    public void Register_then_read_keys_shows_the_key_and_unregister_removes_it()
    {
        AssertGood(_lu.Register(I1, 0xABC));
        Assert.Equal([0xABCUL], _lu.Keys());
        // libiscsi prout_reregister_key_fails: REGISTER with RESERVATION KEY 0 from a registered nexus conflicts.
        AssertConflict(_lu.Out(I1, PrOutServiceAction.Register, 0, 0xABD));
        AssertGood(_lu.Out(I1, PrOutServiceAction.Register, 0xABC, 0));
        Assert.Empty(_lu.Keys());
    }

    [Fact]
    public void Register_from_an_unregistered_nexus_with_a_nonzero_reservation_key_conflicts_per_SPC5_5_14_7()
    {
        AssertConflict(_lu.Out(I1, PrOutServiceAction.Register, 5, 6));
        Assert.Empty(_lu.Keys());
    }

    [Fact]
    public void Register_with_the_right_key_replaces_it_and_register_and_ignore_replaces_without_it()
    {
        AssertGood(_lu.Register(I1, 1));
        AssertGood(_lu.Out(I1, PrOutServiceAction.Register, 1, 2));
        Assert.Equal([2UL], _lu.Keys());
        AssertGood(_lu.Out(I1, PrOutServiceAction.RegisterAndIgnoreExistingKey, 999, 3));
        Assert.Equal([3UL], _lu.Keys());
    }

    [Fact]
    public void Same_initiator_through_another_target_port_is_another_registrant_per_SPC5_5_14_6()
    {
        AssertGood(_lu.Register(I1, 1));
        AssertGood(_lu.Register(I3, 2));
        Assert.Equal([1UL, 2UL], _lu.Keys());
    }

    [Fact]
    public void Generation_counts_register_clear_and_preempt_but_not_reserve_or_release_per_SPC5_6_16_2()
    {
        uint g0 = _lu.Generation();
        AssertGood(_lu.Register(I1, 1));
        Assert.Equal(g0 + 1, _lu.Generation());
        AssertGood(_lu.Reserve(I1, 1, PrType.ExclusiveAccess));
        AssertGood(_lu.Release(I1, 1, PrType.ExclusiveAccess));
        Assert.Equal(g0 + 1, _lu.Generation());
        AssertConflict(_lu.Out(I2, PrOutServiceAction.Register, 7, 8));
        Assert.Equal(g0 + 1, _lu.Generation());
        AssertGood(_lu.Out(I1, PrOutServiceAction.Clear, 1));
        Assert.Equal(g0 + 2, _lu.Generation());
    }

    // ---- Parameter and CDB validation (SPC-5 §6.17) ----

    [Theory]
    [InlineData(0x01, 0)] // APTPL
    [InlineData(0x04, 2)] // ALL_TG_PT
    [InlineData(0x08, 3)] // SPEC_I_PT
    public void Unsupported_register_flags_are_invalid_fields_pointing_at_byte_20(byte flag, int bit)
    {
        var r = _lu.PersistentReserveOut(I1, ProutCdb(PrOutServiceAction.Register), ProutParams(0, 1, flag));
        AssertSense(r.Outcome, SenseKey.IllegalRequest, 0x26, 0x00);
        Assert.Equal(Sense.FieldPointer(false, 20, bit), r.Outcome.Sense!.Value.SenseKeySpecific);
        Assert.Empty(_lu.Keys());
    }

    [Fact]
    public void Parameter_list_length_other_than_24_is_an_invalid_cdb_field_at_byte_5_as_in_CTL()
    {
        var r = _lu.PersistentReserveOut(I1, ProutCdb(PrOutServiceAction.Register, length: 32), new byte[32]);
        AssertSense(r.Outcome, SenseKey.IllegalRequest, 0x24, 0x00);
        Assert.Equal(Sense.FieldPointer(true, 5), r.Outcome.Sense!.Value.SenseKeySpecific);
        Assert.NotNull(PrOutRequest.CheckCdb(ProutCdb(PrOutServiceAction.Register, length: 0)));
    }

    [Fact]
    public void Reserve_with_a_scope_other_than_LU_or_an_unknown_type_is_an_invalid_field_in_cdb()
    {
        AssertGood(_lu.Register(I1, 1));
        var scope = _lu.PersistentReserveOut(I1, ProutCdb(PrOutServiceAction.Reserve, PrType.WriteExclusive, scope: 1), ProutParams(1));
        AssertSense(scope.Outcome, SenseKey.IllegalRequest, 0x24, 0x00);
        var type = _lu.PersistentReserveOut(I1, ProutCdb(PrOutServiceAction.Reserve, (PrType)2), ProutParams(1));
        AssertSense(type.Outcome, SenseKey.IllegalRequest, 0x24, 0x00);
        Assert.False(_lu.ReadReservation().Reserved);
    }

    [Fact]
    public void Register_and_move_is_not_supported()
    {
        var r = _lu.PersistentReserveOut(I1, ProutCdb(PrOutServiceAction.RegisterAndMove), ProutParams(0, 1));
        AssertSense(r.Outcome, SenseKey.IllegalRequest, 0x24, 0x00);
    }

    // ---- RESERVE / RELEASE (SPC-5 §5.14.10, §5.14.11.2) ----

    [Theory]
    [InlineData(PrType.WriteExclusive)]
    [InlineData(PrType.ExclusiveAccess)]
    [InlineData(PrType.WriteExclusiveRegistrantsOnly)]
    [InlineData(PrType.ExclusiveAccessRegistrantsOnly)]
    [InlineData(PrType.WriteExclusiveAllRegistrants)]
    [InlineData(PrType.ExclusiveAccessAllRegistrants)]
    public void Reserve_shows_in_read_reservation_with_key_zero_for_all_registrants_types(PrType type)
    {
        AssertGood(_lu.Register(I1, 0x77));
        AssertGood(_lu.Reserve(I1, 0x77, type));
        var rr = _lu.ReadReservation();
        Assert.True(rr.Reserved);
        Assert.Equal(type, rr.Type);
        Assert.Equal(PrAsc.IsAllRegistrants(type) ? 0UL : 0x77UL, rr.Key);
        AssertGood(_lu.Release(I1, 0x77, type));
        Assert.False(_lu.ReadReservation().Reserved);
    }

    [Fact]
    public void Reserve_by_an_unregistered_nexus_or_with_a_wrong_key_conflicts()
    {
        AssertConflict(_lu.Reserve(I1, 0, PrType.WriteExclusive));
        AssertGood(_lu.Register(I1, 5));
        AssertConflict(_lu.Reserve(I1, 6, PrType.WriteExclusive));
    }

    [Fact]
    public void Reserve_by_another_nexus_or_with_another_type_conflicts_but_the_same_type_is_a_noop()
    {
        AssertGood(_lu.Register(I1, 1));
        AssertGood(_lu.Register(I2, 2));
        AssertGood(_lu.Reserve(I1, 1, PrType.WriteExclusive));
        AssertConflict(_lu.Reserve(I2, 2, PrType.WriteExclusive));
        AssertConflict(_lu.Reserve(I1, 1, PrType.ExclusiveAccess));
        AssertGood(_lu.Reserve(I1, 1, PrType.WriteExclusive));
    }

    [Fact]
    public void Release_with_the_wrong_type_is_an_invalid_release_per_SPC5_5_14_11_2_2()
    {
        AssertGood(_lu.Register(I1, 1));
        AssertGood(_lu.Reserve(I1, 1, PrType.WriteExclusive));
        var r = _lu.Release(I1, 1, PrType.ExclusiveAccess);
        AssertSense(r.Outcome, SenseKey.IllegalRequest, 0x26, 0x04);
        Assert.True(_lu.ReadReservation().Reserved);
    }

    [Fact]
    public void Release_by_a_registered_non_holder_is_good_and_changes_nothing()
    {
        AssertGood(_lu.Register(I1, 1));
        AssertGood(_lu.Register(I2, 2));
        AssertGood(_lu.Reserve(I1, 1, PrType.ExclusiveAccess));
        AssertGood(_lu.Release(I2, 2, PrType.ExclusiveAccess));
        Assert.True(_lu.ReadReservation().Reserved);
    }

    [Fact]
    public void Releasing_a_registrants_only_reservation_tells_the_other_registrants_reservations_released()
    {
        AssertGood(_lu.Register(I1, 1));
        AssertGood(_lu.Register(I2, 2));
        AssertGood(_lu.Reserve(I1, 1, PrType.WriteExclusiveRegistrantsOnly));
        var r = _lu.Release(I1, 1, PrType.WriteExclusiveRegistrantsOnly);
        Assert.Equal([new PrUnitAttention(PrNexus.From(I2), 0x2A, 0x04)], r.UnitAttentions);
    }

    [Fact]
    public void Releasing_a_write_exclusive_reservation_sets_no_unit_attention()
    {
        AssertGood(_lu.Register(I1, 1));
        AssertGood(_lu.Register(I2, 2));
        AssertGood(_lu.Reserve(I1, 1, PrType.WriteExclusive));
        Assert.Empty(_lu.Release(I1, 1, PrType.WriteExclusive).UnitAttentions);
    }

    // libiscsi ProutReserve.Access*: (registered I2 read, write, unregistered I2 read, write).
    [Theory]
    [InlineData(PrType.ExclusiveAccess, false, false, false, false)]
    [InlineData(PrType.WriteExclusive, true, false, true, false)]
    [InlineData(PrType.ExclusiveAccessRegistrantsOnly, true, true, false, false)]
    [InlineData(PrType.WriteExclusiveRegistrantsOnly, true, true, true, false)]
    [InlineData(PrType.ExclusiveAccessAllRegistrants, true, true, false, false)]
    [InlineData(PrType.WriteExclusiveAllRegistrants, true, true, true, false)]
    public void Access_table_of_SPC5_5_14_3_for_reads_and_writes(PrType type, bool regRead, bool regWrite, bool unregRead, bool unregWrite)
    {
        AssertGood(_lu.Register(I1, 1));
        AssertGood(_lu.Register(I2, 2));
        AssertGood(_lu.Reserve(I1, 1, type));
        Assert.False(_lu.Conflicts(I1, Read10));
        Assert.False(_lu.Conflicts(I1, Write10));
        Assert.Equal(!regRead, _lu.Conflicts(I2, Read10));
        Assert.Equal(!regWrite, _lu.Conflicts(I2, Write10));
        AssertGood(_lu.Out(I2, PrOutServiceAction.Register, 2, 0));
        Assert.Equal(!unregRead, _lu.Conflicts(I2, Read10));
        Assert.Equal(!unregWrite, _lu.Conflicts(I2, Write10));
        // Allowed commands of Table 69 never conflict.
        Assert.False(_lu.Conflicts(I2, Inquiry));
        Assert.False(_lu.Conflicts(I2, TestUnitReady));
        Assert.False(_lu.Conflicts(I2, PrinCdb(0)));
    }

    // libiscsi ProutReserve.Ownership*: unregistering the holder drops a non-all-registrants reservation.
    [Theory]
    [InlineData(PrType.ExclusiveAccess, false)]
    [InlineData(PrType.WriteExclusive, false)]
    [InlineData(PrType.ExclusiveAccessRegistrantsOnly, false)]
    [InlineData(PrType.WriteExclusiveRegistrantsOnly, false)]
    [InlineData(PrType.ExclusiveAccessAllRegistrants, true)]
    [InlineData(PrType.WriteExclusiveAllRegistrants, true)]
    public void Unregistering_the_holder_releases_unless_all_registrants_per_SPC5_5_14_11_2_3(PrType type, bool shared)
    {
        AssertGood(_lu.Register(I1, 1));
        AssertGood(_lu.Register(I2, 2));
        AssertGood(_lu.Reserve(I1, 1, type));
        var unreg = _lu.Out(I1, PrOutServiceAction.Register, 1, 0);
        AssertGood(unreg);
        Assert.Equal(shared, _lu.ReadReservation().Reserved);
        if (PrAsc.IsRegistrantsOnly(type))
        {
            Assert.Equal([new PrUnitAttention(PrNexus.From(I2), 0x2A, 0x04)], unreg.UnitAttentions);
        }
        if (shared)
        {
            AssertGood(_lu.Release(I2, 2, type));
            Assert.False(_lu.ReadReservation().Reserved);
        }
    }

    [Fact]
    public void All_registrants_reservation_ends_with_its_last_registrant()
    {
        AssertGood(_lu.Register(I1, 1));
        AssertGood(_lu.Reserve(I1, 1, PrType.WriteExclusiveAllRegistrants));
        AssertGood(_lu.Out(I1, PrOutServiceAction.Register, 1, 0));
        Assert.False(_lu.ReadReservation().Reserved);
    }

    // ---- CLEAR (SPC-5 §5.14.11.6) ----

    [Fact]
    public void Clear_removes_everything_and_tells_other_registrants_registrations_preempted_per_requirement_50()
    {
        AssertGood(_lu.Register(I1, 1));
        AssertGood(_lu.Register(I2, 2));
        AssertGood(_lu.Reserve(I1, 1, PrType.ExclusiveAccess));
        var r = _lu.Out(I1, PrOutServiceAction.Clear, 1);
        AssertGood(r);
        Assert.Equal([new PrUnitAttention(PrNexus.From(I2), 0x2A, 0x05)], r.UnitAttentions);
        Assert.Empty(_lu.Keys());
        Assert.False(_lu.ReadReservation().Reserved);
    }

    [Fact]
    public void Clear_from_an_unregistered_nexus_conflicts()
    {
        AssertGood(_lu.Register(I1, 1));
        AssertConflict(_lu.Out(I2, PrOutServiceAction.Clear, 0));
        Assert.Equal([1UL], _lu.Keys());
    }

    // ---- PREEMPT / PREEMPT AND ABORT (SPC-5 §5.14.11.4, §5.14.11.5) ----

    [Fact]
    public void Preempt_without_reservation_removes_the_named_registration_and_bumps_generation_once()
    {
        // libiscsi ProutPreempt.RemoveRegistration.
        AssertGood(_lu.Register(I1, 0x11));
        AssertGood(_lu.Register(I2, 0x22));
        uint g = _lu.Generation();
        var r = _lu.Out(I2, PrOutServiceAction.Preempt, 0x22, 0x11, PrType.ExclusiveAccess);
        AssertGood(r);
        Assert.Equal([0x22UL], _lu.Keys());
        Assert.Equal(g + 1, _lu.Generation());
        Assert.Equal([new PrUnitAttention(PrNexus.From(I1), 0x2A, 0x05)], r.UnitAttentions);
        Assert.False(_lu.ReadReservation().Reserved);
    }

    [Fact]
    public void Preempt_with_a_key_nobody_holds_conflicts_and_with_zero_is_an_invalid_field()
    {
        AssertGood(_lu.Register(I1, 1));
        AssertConflict(_lu.Out(I1, PrOutServiceAction.Preempt, 1, 9, PrType.WriteExclusive));
        var zero = _lu.Out(I1, PrOutServiceAction.Preempt, 1, 0, PrType.WriteExclusive);
        AssertSense(zero.Outcome, SenseKey.IllegalRequest, 0x26, 0x00);
    }

    [Fact]
    public void Preempting_the_holder_moves_the_reservation_and_announces_a_type_change()
    {
        var i4 = new ITNexus(4, "iqn.2026-11.test:init4", 4, "iqn.t", 1);
        AssertGood(_lu.Register(I1, 1));
        AssertGood(_lu.Register(I2, 2));
        AssertGood(_lu.Register(i4, 4));
        AssertGood(_lu.Reserve(I1, 1, PrType.WriteExclusive));
        var r = _lu.Out(I2, PrOutServiceAction.Preempt, 2, 1, PrType.ExclusiveAccess);
        AssertGood(r);
        var rr = _lu.ReadReservation();
        Assert.Equal((true, 2UL, PrType.ExclusiveAccess), rr);
        Assert.Equal([2UL, 4UL], _lu.Keys());
        Assert.Contains(new PrUnitAttention(PrNexus.From(I1), 0x2A, 0x05), r.UnitAttentions);
        Assert.Contains(new PrUnitAttention(PrNexus.From(i4), 0x2A, 0x04), r.UnitAttentions);
        Assert.Empty(r.AbortTasksOf);
    }

    [Fact]
    public void Preempt_and_abort_names_the_preempted_nexuses_for_task_abort_unlike_CTL()
    {
        AssertGood(_lu.Register(I1, 1));
        AssertGood(_lu.Register(I2, 2));
        AssertGood(_lu.Reserve(I1, 1, PrType.ExclusiveAccess));
        var r = _lu.Out(I2, PrOutServiceAction.PreemptAndAbort, 2, 1, PrType.ExclusiveAccess);
        AssertGood(r);
        Assert.Equal([PrNexus.From(I1)], r.AbortTasksOf);
        Assert.True(_lu.Conflicts(I1, Read10));
    }

    [Fact]
    public void Preempt_of_an_all_registrants_reservation_with_key_zero_keeps_only_the_preempter()
    {
        AssertGood(_lu.Register(I1, 1));
        AssertGood(_lu.Register(I2, 2));
        AssertGood(_lu.Reserve(I1, 1, PrType.ExclusiveAccessAllRegistrants));
        var r = _lu.Out(I2, PrOutServiceAction.Preempt, 2, 0, PrType.WriteExclusive);
        AssertGood(r);
        Assert.Equal([2UL], _lu.Keys());
        Assert.Equal((true, 2UL, PrType.WriteExclusive), _lu.ReadReservation());
    }

    [Fact]
    public void Preempt_checks_scope_and_type_only_when_it_takes_a_reservation()
    {
        AssertGood(_lu.Register(I1, 1));
        AssertGood(_lu.Register(I2, 2));
        // No reservation: only registrations go, the TYPE field is not looked at.
        AssertGood(_lu.Out(I2, PrOutServiceAction.Preempt, 2, 1, (PrType)2));
        AssertGood(_lu.Register(I1, 1));
        AssertGood(_lu.Reserve(I1, 1, PrType.WriteExclusive));
        var bad = _lu.Out(I2, PrOutServiceAction.Preempt, 2, 1, (PrType)2);
        AssertSense(bad.Outcome, SenseKey.IllegalRequest, 0x24, 0x00);
        Assert.Equal((true, 1UL, PrType.WriteExclusive), _lu.ReadReservation());
    }

    [Fact]
    public void Unregistering_an_unregistered_nexus_changes_nothing_not_even_the_generation()
    {
        uint g = _lu.Generation();
        AssertGood(_lu.Out(I1, PrOutServiceAction.Register, 0, 0));
        Assert.Equal(g, _lu.Generation());
    }

    [Fact]
    public void Preempt_by_the_holder_of_itself_changes_the_type()
    {
        AssertGood(_lu.Register(I1, 1));
        AssertGood(_lu.Reserve(I1, 1, PrType.WriteExclusive));
        AssertGood(_lu.Out(I1, PrOutServiceAction.Preempt, 1, 1, PrType.ExclusiveAccess));
        Assert.Equal((true, 1UL, PrType.ExclusiveAccess), _lu.ReadReservation());
        Assert.Equal([1UL], _lu.Keys());
    }

    // ---- PERSISTENT RESERVE IN (SPC-5 §6.16) ----

    [Fact]
    public void Read_keys_truncated_to_8_bytes_keeps_the_full_additional_length()
    {
        AssertGood(_lu.Register(I1, 1));
        var r = _lu.PersistentReserveIn(PrinCdb(0, 8));
        Assert.Equal(8, r.Data.Length);
        Assert.Equal(8u, BinaryPrimitives.ReadUInt32BigEndian(r.Data.AsSpan(4)));
    }

    [Fact]
    public void Report_capabilities_advertises_CRH_TMV_and_six_types()
    {
        var r = _lu.PersistentReserveIn(PrinCdb(2));
        Assert.Equal(new byte[] { 0, 8, 0x10, 0xD0, 0xEA, 0x01, 0, 0 }, r.Data);
    }

    [Fact]
    public void Persistent_reserve_in_service_actions_above_3_are_invalid_fields()
    {
        for (byte sa = 4; sa < 0x20; sa++)
        {
            AssertSense(_lu.PersistentReserveIn(PrinCdb(sa)).Outcome, SenseKey.IllegalRequest, 0x24, 0x00);
        }
    }

    [Fact]
    public void Read_full_status_carries_holder_flag_port_and_iscsi_transport_id_with_isid()
    {
        AssertGood(_lu.Register(I1, 0x1111));
        AssertGood(_lu.Register(I2, 0x2222));
        AssertGood(_lu.Reserve(I1, 0x1111, PrType.WriteExclusive));
        var d = _lu.PersistentReserveIn(PrinCdb(3)).Data;
        int total = (int)BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(4));
        Assert.Equal(d.Length - 8, total);
        Assert.Equal(0x1111UL, BinaryPrimitives.ReadUInt64BigEndian(d.AsSpan(8)));
        Assert.Equal(0x01, d[8 + 12]);
        Assert.Equal((byte)PrType.WriteExclusive, d[8 + 13]);
        Assert.Equal(1, BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(8 + 18)));
        int tidLen = (int)BinaryPrimitives.ReadUInt32BigEndian(d.AsSpan(8 + 20));
        var tid = d.AsSpan(8 + 24, tidLen);
        Assert.Equal(0x45, tid[0]);
        Assert.Equal(0, BinaryPrimitives.ReadUInt16BigEndian(tid[2..]) % 4);
        string name = Encoding.UTF8.GetString(tid[4..]).TrimEnd('\0');
        Assert.Equal("iqn.2026-11.test:init1,i,0x23d000000001", name);
        int second = 8 + 24 + tidLen;
        Assert.Equal(0x2222UL, BinaryPrimitives.ReadUInt64BigEndian(d.AsSpan(second)));
        Assert.Equal(0, d[second + 12]);
    }

    // ---- Snapshot and HA replay ----

    [Fact]
    public void Snapshot_round_trip_keeps_the_reserved_flag_unlike_CTL()
    {
        AssertGood(_lu.Register(I1, 1));
        AssertGood(_lu.Reserve(I1, 1, PrType.ExclusiveAccess));
        var other = new LogicalUnitReservations();
        other.Import(_lu.Export());
        Assert.True(other.Conflicts(I2, Read10));
        Assert.Equal(_lu.ReadReservation(), other.ReadReservation());
        Assert.True(_lu.Persistent.Export().Equivalent(other.Persistent.Export()));
    }
}

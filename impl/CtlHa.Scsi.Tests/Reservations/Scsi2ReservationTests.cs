using CtlHa.Core;
using CtlHa.Scsi.Reservations;
using static CtlHa.Scsi.Tests.Reservations.PrTestKit;

namespace CtlHa.Scsi.Tests.Reservations;

public sealed class Scsi2ReservationTests
{
    private readonly LogicalUnitReservations _lu = new();

    [Fact]
    public void Reserve_conflicts_for_another_nexus_and_release_by_it_is_a_good_noop()
    {
        // libiscsi Reserve6.2Initiators.
        Assert.Equal(ScsiStatus.Good, _lu.Reserve(I1, Reserve6).Status);
        Assert.Equal(ScsiStatus.Good, _lu.Reserve(I1, Reserve6).Status);
        Assert.Equal(ScsiStatus.ReservationConflict, _lu.Reserve(I2, Reserve6).Status);
        Assert.False(_lu.Conflicts(I2, Release6));
        Assert.Equal(ScsiStatus.Good, _lu.Release(I2, Release6).Status);
        Assert.False(_lu.Conflicts(I1, ModeSense6));
        Assert.True(_lu.Conflicts(I2, ModeSense6));
        Assert.True(_lu.Conflicts(I2, Read10));
        Assert.False(_lu.Conflicts(I2, Inquiry));
        Assert.Equal(ScsiStatus.Good, _lu.Release(I1, Release6).Status);
        Assert.Equal(ScsiStatus.Good, _lu.Reserve(I2, Reserve6).Status);
        Assert.Equal(ScsiStatus.Good, _lu.Release(I2, Release6).Status);
        Assert.False(_lu.Scsi2.IsReserved);
    }

    [Fact]
    public void Lun_reset_clears_the_reservation_per_SAM5_6_3_2()
    {
        Assert.Equal(ScsiStatus.Good, _lu.Reserve(I1, Reserve6).Status);
        _lu.Reset();
        Assert.Equal(ScsiStatus.Good, _lu.Reserve(I2, Reserve6).Status);
    }

    [Fact]
    public void Loss_of_the_holders_nexus_clears_it_and_loss_of_another_does_not()
    {
        Assert.Equal(ScsiStatus.Good, _lu.Reserve(I1, Reserve6).Status);
        _lu.NexusLost(I2);
        Assert.True(_lu.Scsi2.IsReserved);
        _lu.NexusLost(I1);
        Assert.False(_lu.Scsi2.IsReserved);
    }

    [Fact]
    public void Persistent_registrations_make_reserve_and_release_conflict_per_SPC5_5_14_3()
    {
        AssertGood(_lu.Register(I1, 1));
        Assert.Equal(ScsiStatus.ReservationConflict, _lu.Reserve(I2, Reserve6).Status);
        Assert.Equal(ScsiStatus.ReservationConflict, _lu.Release(I2, Release6).Status);
        Assert.False(_lu.Scsi2.IsReserved);
    }

    [Fact]
    public void The_scsi2_holder_can_release_even_after_registering_a_persistent_key()
    {
        Assert.Equal(ScsiStatus.Good, _lu.Reserve(I1, Reserve6).Status);
        AssertGood(_lu.Register(I1, 1));
        Assert.Equal(ScsiStatus.Good, _lu.Release(I1, Release6).Status);
        Assert.False(_lu.Scsi2.IsReserved);
    }

    [Fact]
    public void With_CRH_the_persistent_holder_gets_good_without_a_scsi2_reservation()
    {
        AssertGood(_lu.Register(I1, 1));
        AssertGood(_lu.Reserve(I1, 1, PrType.WriteExclusive));
        Assert.Equal(ScsiStatus.Good, _lu.Reserve(I1, Reserve6).Status);
        Assert.False(_lu.Scsi2.IsReserved);
        Assert.Equal(ScsiStatus.Good, _lu.Release(I1, Release6).Status);
        Assert.True(_lu.ReadReservation().Reserved);
    }

    [Fact]
    public void Third_party_reserve10_is_an_invalid_field()
    {
        byte[] reserve10 = [0x56, 0x10, 0, 0, 0, 0, 0, 0, 0, 0];
        AssertSense(_lu.Reserve(I1, reserve10), SenseKey.IllegalRequest, 0x24, 0x00);
    }

    [Fact]
    public void Snapshot_carries_the_holder()
    {
        Assert.Equal(ScsiStatus.Good, _lu.Reserve(I1, Reserve6).Status);
        var other = new LogicalUnitReservations();
        other.Import(_lu.Export());
        Assert.True(other.Conflicts(I2, Read10));
        Assert.False(other.Conflicts(I1, Read10));
    }
}

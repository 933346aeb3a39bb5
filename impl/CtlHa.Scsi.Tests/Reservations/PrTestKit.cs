using System.Buffers.Binary;
using CtlHa.Core;
using CtlHa.Scsi.Reservations;

namespace CtlHa.Scsi.Tests.Reservations;

/// <summary>Builds PR CDBs and parameter lists the way an initiator (libiscsi) does.</summary>
internal static class PrTestKit
{
    public static readonly ITNexus I1 = new(1, "iqn.2026-11.test:init1", 0x23d000000001, "iqn.t", 1);
    public static readonly ITNexus I2 = new(2, "iqn.2026-11.test:init2", 0x23d000000002, "iqn.t", 1);
    public static readonly ITNexus I3 = new(3, "iqn.2026-11.test:init1", 0x23d000000001, "iqn.t", 2);

    public static byte[] ProutCdb(PrOutServiceAction action, PrType type = PrType.None, byte scope = 0, uint length = 24)
    {
        var cdb = new byte[10];
        cdb[0] = 0x5F;
        cdb[1] = (byte)action;
        cdb[2] = (byte)((scope << 4) | (byte)type);
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(5), length);
        return cdb;
    }

    public static byte[] ProutParams(ulong key, ulong saKey = 0, byte flags = 0)
    {
        var p = new byte[24];
        BinaryPrimitives.WriteUInt64BigEndian(p, key);
        BinaryPrimitives.WriteUInt64BigEndian(p.AsSpan(8), saKey);
        p[20] = flags;
        return p;
    }

    public static byte[] PrinCdb(byte serviceAction, ushort allocationLength = 16384)
    {
        var cdb = new byte[10];
        cdb[0] = 0x5E;
        cdb[1] = serviceAction;
        BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(7), allocationLength);
        return cdb;
    }

    public static PrOutResult Out(this LogicalUnitReservations lu, ITNexus nexus, PrOutServiceAction action,
        ulong key, ulong saKey = 0, PrType type = PrType.None) =>
        lu.PersistentReserveOut(nexus, ProutCdb(action, type), ProutParams(key, saKey));

    public static PrOutResult Register(this LogicalUnitReservations lu, ITNexus nexus, ulong key) =>
        lu.Out(nexus, PrOutServiceAction.RegisterAndIgnoreExistingKey, 0, key);

    public static PrOutResult Reserve(this LogicalUnitReservations lu, ITNexus nexus, ulong key, PrType type) =>
        lu.Out(nexus, PrOutServiceAction.Reserve, key, 0, type);

    public static PrOutResult Release(this LogicalUnitReservations lu, ITNexus nexus, ulong key, PrType type) =>
        lu.Out(nexus, PrOutServiceAction.Release, key, 0, type);

    public static ulong[] Keys(this LogicalUnitReservations lu)
    {
        var r = lu.PersistentReserveIn(PrinCdb(0));
        Assert.Equal(ScsiStatus.Good, r.Outcome.Status);
        int n = (int)BinaryPrimitives.ReadUInt32BigEndian(r.Data.AsSpan(4)) / 8;
        return [.. Enumerable.Range(0, n).Select(i => BinaryPrimitives.ReadUInt64BigEndian(r.Data.AsSpan(8 + 8 * i)))];
    }

    public static (bool Reserved, ulong Key, PrType Type) ReadReservation(this LogicalUnitReservations lu)
    {
        var r = lu.PersistentReserveIn(PrinCdb(1));
        Assert.Equal(ScsiStatus.Good, r.Outcome.Status);
        if (BinaryPrimitives.ReadUInt32BigEndian(r.Data.AsSpan(4)) == 0)
        {
            return (false, 0, PrType.None);
        }
        return (true, BinaryPrimitives.ReadUInt64BigEndian(r.Data.AsSpan(8)), (PrType)(r.Data[21] & 0x0F));
    }

    public static uint Generation(this LogicalUnitReservations lu) =>
        BinaryPrimitives.ReadUInt32BigEndian(lu.PersistentReserveIn(PrinCdb(0)).Data);

    public static void AssertGood(PrOutResult r) => Assert.Equal(ScsiStatus.Good, r.Outcome.Status);

    public static void AssertConflict(PrOutResult r) => Assert.Equal(ScsiStatus.ReservationConflict, r.Outcome.Status);

    public static void AssertSense(ScsiOutcome o, SenseKey key, byte asc, byte ascq)
    {
        Assert.Equal(ScsiStatus.CheckCondition, o.Status);
        Assert.NotNull(o.Sense);
        Assert.Equal((key, asc, ascq), (o.Sense!.Value.Key, o.Sense.Value.Asc, o.Sense.Value.Ascq));
    }

    public static readonly byte[] Read10 = [0x28, 0, 0, 0, 0, 1, 0, 0, 1, 0];
    public static readonly byte[] Write10 = [0x2A, 0, 0, 0, 0, 1, 0, 0, 1, 0];
    public static readonly byte[] Inquiry = [0x12, 0, 0, 0, 0xFF, 0];
    public static readonly byte[] ModeSense6 = [0x1A, 0, 0x3F, 0, 0xFF, 0];
    public static readonly byte[] TestUnitReady = [0, 0, 0, 0, 0, 0];
    public static readonly byte[] Reserve6 = [0x16, 0, 0, 0, 0, 0];
    public static readonly byte[] Release6 = [0x17, 0, 0, 0, 0, 0];
}

using FsCheck;
using FsCheck.Fluent;

namespace CtlHa.Wire.Tests;

/// <summary>FsCheck generators of valid messages (every field anywhere inside its documented range).</summary>
public static class WireGen
{
    private static Gen<uint> U32(uint max) =>
        Gen.Frequency(
            (1, Gen.Constant(0u)),
            (1, Gen.Constant(max)),
            (6, from hi in Gen.Choose(0, 0xFFFF) from lo in Gen.Choose(0, 0xFFFF) select (uint)(((ulong)(((uint)hi << 16) | (uint)lo)) % ((ulong)max + 1))));

    private static Gen<uint> U32(uint min, uint max) => U32(max - min).Select(v => v + min);

    private static readonly Gen<ulong> U64 =
        Gen.Frequency(
            (1, Gen.Constant(0UL)),
            (1, Gen.Constant(ulong.MaxValue)),
            (6, from a in U32(uint.MaxValue) from b in U32(uint.MaxValue) select ((ulong)a << 32) | b));

    private static readonly Gen<ulong> NonZeroU64 = U64.Select(v => v == 0 ? 1 : v);

    private static readonly Gen<byte> Byte = Gen.Choose(0, 255).Select(b => (byte)b);

    private static Gen<byte[]> Bytes(int min, int max) =>
        Gen.Choose(min, max).SelectMany(n => Gen.ArrayOf(Byte, n));

    private static Gen<string> Text(int min, int max, string alphabet) =>
        Gen.Choose(min, max).SelectMany(n => Gen.ArrayOf(Gen.Elements(alphabet.ToCharArray()), n)).Select(cs => new string(cs));

    private const string Printable = " !#$%&()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~\"'";
    private const string ClusterChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";

    private static Gen<T> Enum<T>()
        where T : struct, System.Enum => Gen.Elements(System.Enum.GetValues<T>());

    public static readonly Gen<Nexus> Nexus =
        from port in U32(WireLimits.MaxPortsLimit - 1)
        from iid in U32(WireLimits.MaxInitiatorsPerPortLimit - 1)
        from lun in U32(WireLimits.MaxLunsLimit - 1)
        select new Nexus(port, iid, lun);

    private static readonly Gen<uint> InitiatorIndex = U32(WireLimits.MaxInitiatorIndex);

    private static readonly Gen<(byte Status, byte[] Sense)> StatusAndSense =
        Gen.OneOf(
            Gen.Elements(ScsiWire.Good, ScsiWire.Busy, ScsiWire.ReservationConflict, ScsiWire.TaskSetFull, ScsiWire.TaskAborted, ScsiWire.CheckCondition, ScsiWire.ConditionMet, ScsiWire.AcaActive)
                .Select(s => (s, Array.Empty<byte>())),
            from code in Gen.Elements<byte>(0x70, 0x71, 0x72, 0x73, 0xF0)
            from rest in Bytes(7, WireLimits.MaxSenseLength - 1)
            select (ScsiWire.CheckCondition, (byte[])[code, .. rest]));

    private static readonly Gen<(DataDirection Direction, uint Offset, uint Length)> Segment =
        from direction in Gen.Elements(DataDirection.In, DataDirection.Out)
        from length in Gen.Frequency((4, Gen.Choose(1, 4096)), (1, Gen.Choose(1, WireLimits.MaxDataSegment)))
        from offset in U32(WireLimits.MaxExpectedDataLength - (uint)length)
        select (direction, offset, (uint)length);

    private static readonly Gen<byte[]> ModePage =
        Gen.OneOf(
            from code in Gen.Choose(0, 0x3E)
            from body in Bytes(0, 255)
            select (byte[])[(byte)(code | (body.Length % 2 == 0 ? 0x80 : 0)), (byte)body.Length, .. body],
            from code in Gen.Choose(0, 0x3E)
            from sub in Byte
            from body in Bytes(0, 600)
            select (byte[])[(byte)(code | 0x40), sub, (byte)(body.Length >> 8), (byte)body.Length, .. body]);

    private static readonly Gen<LunSync> LunSyncGen =
        from lun in U32(WireLimits.MaxLunsLimit - 1)
        from deviceId in Bytes(1, 64)
        from blocks in U64.Select(v => Math.Max(1, v >> 1))
        from shift in Gen.Choose(9, 16)
        from flags in Gen.Choose(0, 7).Select(f => (LunRoleFlags)f)
        from generation in U32(uint.MaxValue)
        from indexes in Gen.ListOf(InitiatorIndex, 0).SelectMany(_ => Gen.Choose(0, 20).SelectMany(n => Gen.ArrayOf(InitiatorIndex, n)))
        from keys in Gen.ArrayOf(NonZeroU64, 20)
        from tids in Gen.ArrayOf(Bytes(0, 32), 20)
        from reservation in Gen.Choose(0, 2)
        from type in Gen.Elements<byte>(1, 3, 5, 6)
        from arType in Gen.Elements<byte>(7, 8)
        from scsi2 in Gen.OneOf(Gen.Constant(WireLimits.NoReservation), InitiatorIndex)
        let registrations = indexes.Distinct().Select((ix, i) => new PrRegistration(ix, keys[i], tids[i])).ToArray()
        let reserved = reservation == 1 && registrations.Length > 0 || reservation == 2
        let holder = !reserved ? WireLimits.NoReservation : reservation == 2 ? WireLimits.AllRegistrants : registrations[0].InitiatorIndex
        let prType = !reserved ? (byte)0 : reservation == 2 ? arType : type
        select new LunSync(lun, deviceId, blocks, 1u << shift, flags, generation, reserved, holder, prType, registrations, scsi2);

    private static readonly Gen<PersistentReserveAction> PrGen =
        from lun in U32(WireLimits.MaxLunsLimit - 1)
        from action in Enum<PersistentReserveActionKind>()
        from index in InitiatorIndex
        from key in NonZeroU64
        from saKey in U64
        from type in Gen.Elements<byte>(1, 3, 5, 6, 7, 8)
        from typeOrZero in Gen.Elements<byte>(0, 1, 3, 5, 6, 7, 8)
        from tid in Bytes(0, WireLimits.MaxTransportIdLength)
        from generation in U32(uint.MaxValue)
        let preempt = action is PersistentReserveActionKind.Preempt or PersistentReserveActionKind.PreemptAndAbort
        select new PersistentReserveAction(
            lun, action, index, key, preempt ? saKey : 0,
            action switch
            {
                PersistentReserveActionKind.Reserve => type,
                PersistentReserveActionKind.Preempt or PersistentReserveActionKind.PreemptAndAbort or PersistentReserveActionKind.Release => typeOrZero,
                _ => 0,
            },
            action == PersistentReserveActionKind.Register ? tid : [],
            generation);

    public static readonly Gen<InterlinkMessage> Message = Gen.OneOf<InterlinkMessage>(
        from m in Enum<AuthMethod>() from n in Bytes(32, 32) select (InterlinkMessage)new AuthChallenge(m, n),
        Bytes(32, 32).Select(m => (InterlinkMessage)new AuthResponse(m)),
        from v in U32(uint.MaxValue)
        from mode in Enum<HaMode>()
        from id in Gen.Choose(1, 2)
        from cluster in Text(1, 64, ClusterChars)
        from luns in U32(1, WireLimits.MaxLunsLimit)
        from ports in U32(1, WireLimits.MaxPortsLimit / 2).Select(p => p * 2)
        from inits in U32(1, WireLimits.MaxInitiatorsPerPortLimit)
        from frame in U32(WireLimits.MinFrameLength, WireLimits.MaxFrameLength)
        from sw in Text(0, 64, Printable)
        select (InterlinkMessage)new Login(v, mode, (byte)id, cluster, luns, ports, inits, frame, sw),
        from reason in Enum<GoodbyeReason>()
        from field in Enum<LoginField>().Where(f => f != LoginField.None)
        from a in Text(0, 256, Printable)
        from b in Text(0, 256, Printable)
        from d in Text(0, 256, Printable)
        select (InterlinkMessage)(reason == GoodbyeReason.LoginMismatch ? new Goodbye(reason, field, a, b, d) : new Goodbye(reason, LoginField.None, a, b, d)),
        from s in NonZeroU64 from t in U64 from e in U64 select (InterlinkMessage)new Heartbeat(s, t, e),
        from f in NonZeroU64 select (InterlinkMessage)new SyncFence(f),
        from f in NonZeroU64 select (InterlinkMessage)new SyncFenceAck(f),
        from port in U32(WireLimits.MaxPortsLimit - 1)
        from name in Text(1, 255, Printable)
        from online in Gen.Elements(true, false)
        from shared in Gen.Elements(true, false)
        from target in Text(1, 223, Printable)
        from tag in Gen.Choose(0, 65535)
        from map in Gen.Choose(0, 40).SelectMany(n => Gen.ArrayOf(Gen.OneOf(U32(WireLimits.MaxLunsLimit - 1), Gen.Constant(WireLimits.UnmappedLun)), n))
        from pid in Bytes(0, 64)
        from tid in Bytes(0, 64)
        select (InterlinkMessage)new PortSync(port, name, online, shared, target, (ushort)tag, map, pid, tid),
        from port in U32(WireLimits.MaxPortsLimit - 1)
        from iid in U32(WireLimits.MaxInitiatorsPerPortLimit - 1)
        from inUse in Gen.Elements(true, false)
        from name in Text(1, 223, Printable)
        from isid in Bytes(6, 6)
        select (InterlinkMessage)(inUse ? new InitiatorSync(port, iid, true, name, isid) : new InitiatorSync(port, iid, false, string.Empty, [])),
        LunSyncGen.Select(m => (InterlinkMessage)m),
        from lun in U32(WireLimits.MaxLunsLimit - 1)
        from page in ModePage
        from originator in Gen.OneOf(Gen.Constant(WireLimits.NoInitiator), InitiatorIndex)
        select (InterlinkMessage)new ModeSync(lun, (byte)(page[0] & 0x3F), (page[0] & 0x40) != 0 ? page[1] : (byte)0, page, originator),
        from a in U32(WireLimits.MaxPortsLimit) from b in U32(1000) from c in U32(WireLimits.MaxLunsLimit) from d in U32(uint.MaxValue)
        select (InterlinkMessage)new SyncComplete(a, b, c, d),
        PrGen.Select(m => (InterlinkMessage)m),
        from lun in Gen.OneOf(U32(WireLimits.MaxLunsLimit - 1), Gen.Constant(WireLimits.AllLuns))
        from scope in Enum<UnitAttentionScope>()
        from index in InitiatorIndex
        from set in Gen.Elements(true, false)
        from asc in Byte
        from ascq in Byte
        from info in Gen.OneOf(Bytes(0, 0), Bytes(8, 8))
        select (InterlinkMessage)new UnitAttention(lun, scope, scope == UnitAttentionScope.AllInitiators ? WireLimits.NoInitiator : index, set, asc, ascq, info),
        from nexus in Nexus
        from function in Enum<TaskManagementFunction>().Where(f => f != TaskManagementFunction.ClearAca)
        from tag in U64
        from handle in U64
        select (InterlinkMessage)(function == TaskManagementFunction.AbortTask ? new TaskManagement(nexus, function, tag, handle) : new TaskManagement(nexus, function, 0, 0)),
        from nexus in Nexus
        from tag in U64
        from attribute in Enum<TaskAttribute>()
        from priority in Gen.Choose(0, 15)
        from cdb in Bytes(6, 32)
        from direction in Enum<DataDirection>()
        from length in U32(WireLimits.MaxExpectedDataLength)
        from handle in NonZeroU64
        select (InterlinkMessage)new Serialize(nexus, tag, attribute, (byte)priority, cdb, direction == DataDirection.None ? 0 : length, direction, handle),
        from nexus in Nexus from o in NonZeroU64 from p in NonZeroU64 select (InterlinkMessage)new ReadyToRun(nexus, o, p),
        from nexus in Nexus
        from o in NonZeroU64
        from p in NonZeroU64
        from ss in StatusAndSense
        from residual in Enum<ResidualKind>()
        from count in U32(WireLimits.MaxExpectedDataLength)
        select (InterlinkMessage)new FinishIo(nexus, o, p, ss.Status, ss.Sense, residual, residual == ResidualKind.None ? 0 : count),
        from nexus in Nexus
        from o in NonZeroU64
        from p in U64
        from ss in StatusAndSense.Where(x => x.Status is not (ScsiWire.Good or ScsiWire.ConditionMet))
        select (InterlinkMessage)new SerializeFailed(nexus, o, p, ss.Status, ss.Sense),
        from nexus in Nexus
        from o in NonZeroU64
        from p in NonZeroU64
        from t in NonZeroU64
        from seg in Segment
        from last in Gen.Elements(true, false)
        from data in Gen.ArrayOf(Byte, seg.Direction == DataDirection.In ? (int)seg.Length : 0)
        select (InterlinkMessage)new DataMove(nexus, o, p, t, seg.Direction, seg.Offset, seg.Length, data, last),
        from nexus in Nexus
        from o in NonZeroU64
        from p in NonZeroU64
        from t in NonZeroU64
        from seg in Segment
        from status in Gen.Elements(ScsiWire.PortStatusGood, ScsiWire.PortStatusGood, ScsiWire.PortStatusAborted, ScsiWire.PortStatusFailoverDuringMove)
        from data in Gen.ArrayOf(Byte, seg.Direction == DataDirection.Out && status == 0 ? (int)seg.Length : 0)
        select (InterlinkMessage)new DataMoveDone(nexus, o, p, t, seg.Direction, seg.Offset, seg.Length, status, data));
}

/// <summary>Arbitraries for [Property(Arbitrary = …)].</summary>
public static class WireArbitraries
{
    public static Arbitrary<InterlinkMessage> Message() => WireGen.Message.ToArbitrary();
}

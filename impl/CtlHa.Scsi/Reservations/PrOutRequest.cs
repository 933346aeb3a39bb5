using System.Buffers.Binary;
using CtlHa.Core;

namespace CtlHa.Scsi.Reservations;

/// <summary>
/// A parsed PERSISTENT RESERVE OUT command (CDB + basic parameter list) that passed the syntax checks.
/// It is also the unit of HA replication: the executing node ships it (with the requester) and the peer
/// calls <see cref="PersistentReservationState.Apply"/>.
/// </summary>
public sealed record PrOutRequest(
    PrOutServiceAction Action,
    byte Scope,
    PrType Type,
    ulong ReservationKey,
    ulong ServiceActionReservationKey)
{
    /// <summary>Opcode 5Fh.</summary>
    public const byte OpCode = 0x5F;

    /// <summary>The basic parameter list is always 24 bytes when SPEC_I_PT is zero (SPC-5 §6.17.3.1).</summary>
    public const int BasicParameterListLength = 24;

    /// <summary>CDB bytes 5..8, PARAMETER LIST LENGTH (SPC-5 §6.17.1 Table 210).</summary>
    public static uint ParameterListLength(ReadOnlySpan<byte> cdb) =>
        cdb.Length >= 9 ? BinaryPrimitives.ReadUInt32BigEndian(cdb[5..]) : 0;

    /// <summary>
    /// Checks the CDB alone, before any data is moved: service action, length, and for RESERVE and RELEASE
    /// the scope and type.
    /// CDB (SPC-5 §6.17.1): byte 1 bits 4..0 SERVICE ACTION; byte 2 SCOPE (7..4) TYPE (3..0); bytes 5..8 PARAMETER LIST LENGTH.
    /// </summary>
    public static Sense? CheckCdb(ReadOnlySpan<byte> cdb)
    {
        if (cdb.Length < 10)
        {
            return PrAsc.InvalidFieldInCdb(0);
        }
        var action = (PrOutServiceAction)(cdb[1] & 0x1F);
        if (action > PrOutServiceAction.RegisterAndIgnoreExistingKey)
        {
            // REGISTER AND MOVE and REPLACE LOST RESERVATION are not supported (not in REPORT CAPABILITIES either).
            return PrAsc.InvalidFieldInCdb(1, 4);
        }
        // SPC-5 §6.17.3.1: with SPEC_I_PT zero the list is exactly 24 bytes. Reported as CTL and the CtlHa model do
        // (ctl-ha.md §8.4): INVALID FIELD IN CDB pointing at PARAMETER LIST LENGTH (byte 5).
        if (ParameterListLength(cdb) != BasicParameterListLength)
        {
            return PrAsc.InvalidFieldInCdb(5);
        }
        if (action is PrOutServiceAction.Reserve or PrOutServiceAction.Release)
        {
            // PREEMPT checks SCOPE and TYPE only when it creates a reservation (PersistentReservationState).
            if ((cdb[2] >> 4) != 0)
            {
                // Only LU_SCOPE (0h) exists in SPC-5 §6.17.3.3.
                return PrAsc.InvalidFieldInCdb(2, 7);
            }
            if (!PrAsc.IsValidType((byte)(cdb[2] & 0x0F)))
            {
                return PrAsc.InvalidFieldInCdb(2, 3);
            }
        }
        return null;
    }

    /// <summary>
    /// Parses CDB + parameter list. Basic parameter list (SPC-5 §6.17.3.1 Table 213):
    /// 0..7 RESERVATION KEY, 8..15 SERVICE ACTION RESERVATION KEY, 16..19 obsolete,
    /// 20: SPEC_I_PT (bit 3), ALL_TG_PT (bit 2), APTPL (bit 0); 21 reserved; 22..23 obsolete.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> cdb, ReadOnlySpan<byte> parameterList, out PrOutRequest request, out Sense sense)
    {
        request = null!;
        if (CheckCdb(cdb) is { } cdbSense)
        {
            sense = cdbSense;
            return false;
        }
        if (parameterList.Length < BasicParameterListLength)
        {
            sense = PrAsc.ParameterListLengthError;
            return false;
        }
        byte flags = parameterList[20];
        // CtlHa supports neither persist-through-power-loss, all target ports nor specified initiator ports
        // (REPORT CAPABILITIES: PTPL_C = ATP_C = SIP_C = 0). A set bit is an invalid field for every service action,
        // checked in this order, as CTL does (ctl-ha.md §8.4).
        if ((flags & 0x01) != 0)
        {
            sense = PrAsc.InvalidFieldInParameterList(20, 0);
            return false;
        }
        if ((flags & 0x04) != 0)
        {
            sense = PrAsc.InvalidFieldInParameterList(20, 2);
            return false;
        }
        if ((flags & 0x08) != 0)
        {
            sense = PrAsc.InvalidFieldInParameterList(20, 3);
            return false;
        }
        var action = (PrOutServiceAction)(cdb[1] & 0x1F);
        request = new PrOutRequest(
            action,
            (byte)(cdb[2] >> 4),
            NeedsScopeAndType(action) ? (PrType)(cdb[2] & 0x0F) : PrType.None,
            BinaryPrimitives.ReadUInt64BigEndian(parameterList),
            BinaryPrimitives.ReadUInt64BigEndian(parameterList[8..]));
        sense = default;
        return true;
    }

    private static bool NeedsScopeAndType(PrOutServiceAction action) =>
        action is PrOutServiceAction.Reserve or PrOutServiceAction.Release
            or PrOutServiceAction.Preempt or PrOutServiceAction.PreemptAndAbort;

    public override string ToString() =>
        $"{Action} type={Type} key=0x{ReservationKey:x} sakey=0x{ServiceActionReservationKey:x}";
}

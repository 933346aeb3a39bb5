using CtlHa.Core;

namespace CtlHa.Scsi.Reservations;

/// <summary>SPC-5 §6.17.3.4 Table 214 persistent reservation TYPE codes.</summary>
public enum PrType : byte
{
    None = 0,
    WriteExclusive = 1,
    ExclusiveAccess = 3,
    WriteExclusiveRegistrantsOnly = 5,
    ExclusiveAccessRegistrantsOnly = 6,
    WriteExclusiveAllRegistrants = 7,
    ExclusiveAccessAllRegistrants = 8,
}

/// <summary>SPC-5 §6.17.2 Table 211 PERSISTENT RESERVE OUT service actions.</summary>
public enum PrOutServiceAction : byte
{
    Register = 0,
    Reserve = 1,
    Release = 2,
    Clear = 3,
    Preempt = 4,
    PreemptAndAbort = 5,
    RegisterAndIgnoreExistingKey = 6,
    RegisterAndMove = 7,
    ReplaceLostReservation = 8,
}

/// <summary>SPC-5 §6.16.1 Table 197 PERSISTENT RESERVE IN service actions.</summary>
public enum PrInServiceAction : byte
{
    ReadKeys = 0,
    ReadReservation = 1,
    ReportCapabilities = 2,
    ReadFullStatus = 3,
}

/// <summary>
/// How a command is treated by a reservation (SPC-5 §5.14.3 Table 69 and SBC-4 §4.17 Table 13 columns):
/// <see cref="Unrestricted"/> is "Allowed" under every type; <see cref="Read"/> is allowed under Write Exclusive
/// and conflicts under Exclusive Access; <see cref="Write"/> conflicts under both.
/// </summary>
public enum AccessKind : byte
{
    Unrestricted = 0,
    Read = 1,
    Write = 2,
}

/// <summary>
/// An I_T nexus as persistent reservations see it (SPC-5 §5.14.6): the initiator port (iSCSI name + ISID,
/// RFC 7143 §4.4.4) and the relative target port identifier. Names compare as given: initiators send them
/// already normalized (RFC 3722), and READ FULL STATUS must echo them unchanged.
/// </summary>
public readonly record struct PrNexus
{
    public PrNexus(string initiatorName, ulong isid, ushort relativeTargetPortId)
    {
        InitiatorName = initiatorName;
        Isid = isid & 0xFFFF_FFFF_FFFFUL;
        RelativeTargetPortId = relativeTargetPortId;
    }

    public string InitiatorName { get; }

    public ulong Isid { get; }

    public ushort RelativeTargetPortId { get; }

    /// <summary>"iqn...,i,0x&lt;ISID&gt;" (the TransportID text, SPC-5 §7.6.4.6 format 01b).</summary>
    public string InitiatorPortName => $"{InitiatorName},i,0x{Isid:x12}";

    public static PrNexus From(ITNexus nexus) => new(nexus.InitiatorName, nexus.Isid, nexus.RelativeTargetPortId);

    /// <summary>True when <paramref name="nexus"/> is this I_T nexus (used to route UAs to live sessions).</summary>
    public bool Matches(ITNexus nexus) => Equals(From(nexus));

    public override string ToString() => $"{InitiatorPortName}@{RelativeTargetPortId}";
}

/// <summary>A unit attention the engine must establish for one I_T nexus (SPC-5 §5.14.11).</summary>
public readonly record struct PrUnitAttention(PrNexus Nexus, byte Asc, byte Ascq)
{
    public override string ToString() => $"UA {Asc:X2}/{Ascq:X2} for {Nexus}";
}

/// <summary>ASC/ASCQ values the reservation code uses (SPC-5 Annex F.2).</summary>
public static class PrAsc
{
    /// <summary>2A/03 RESERVATIONS PREEMPTED.</summary>
    public const byte ParametersChanged = 0x2A;
    public const byte ReservationsPreemptedQ = 0x03;
    /// <summary>2A/04 RESERVATIONS RELEASED.</summary>
    public const byte ReservationsReleasedQ = 0x04;
    /// <summary>2A/05 REGISTRATIONS PREEMPTED.</summary>
    public const byte RegistrationsPreemptedQ = 0x05;

    public static Sense InvalidFieldInCdb(ushort byteOffset, int bit = -1) =>
        new Sense(SenseKey.IllegalRequest, 0x24, 0x00).WithSks(Sense.FieldPointer(true, byteOffset, bit));

    public static Sense InvalidFieldInParameterList(ushort byteOffset, int bit = -1) =>
        new Sense(SenseKey.IllegalRequest, 0x26, 0x00).WithSks(Sense.FieldPointer(false, byteOffset, bit));

    /// <summary>05/1A/00 PARAMETER LIST LENGTH ERROR.</summary>
    public static Sense ParameterListLengthError => new(SenseKey.IllegalRequest, 0x1A, 0x00);

    /// <summary>05/26/04 INVALID RELEASE OF PERSISTENT RESERVATION.</summary>
    public static Sense InvalidRelease => new(SenseKey.IllegalRequest, 0x26, 0x04);

    public static bool IsAllRegistrants(PrType type) =>
        type is PrType.WriteExclusiveAllRegistrants or PrType.ExclusiveAccessAllRegistrants;

    public static bool IsRegistrantsOnly(PrType type) =>
        type is PrType.WriteExclusiveRegistrantsOnly or PrType.ExclusiveAccessRegistrantsOnly;

    public static bool IsValidType(byte type) =>
        type is 1 or 3 or 5 or 6 or 7 or 8;
}

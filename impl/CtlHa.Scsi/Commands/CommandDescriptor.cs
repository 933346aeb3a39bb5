using CtlHa.Core;

namespace CtlHa.Scsi.Commands;

/// <summary>Executes one command. Returns its outcome; SCSI errors are values (<see cref="CommandContext.Check(SenseKey, byte, byte)"/>).</summary>
public delegate ValueTask<ScsiOutcome> CommandHandler(CommandContext ctx);

/// <summary>
/// Extracts the LBA range a command touches from its CDB, for the OOA extent checks (ctl-ha.md §11.2).
/// Return false when the command has no range.
/// </summary>
public delegate bool ExtentParser(ReadOnlySpan<byte> cdb, out ulong lba, out ulong blocks);

/// <summary>
/// Serialization class of a command (CTL <c>seridx</c>): the row/column of the §11.2 table.
/// <see cref="None"/> = not in the table (always PASS as the older command).
/// </summary>
public enum SerializationClass : byte
{
    TestUnitReady,
    Read,
    Write,
    Unmap,
    Sync,
    ModeSense,
    ModeSelect,
    RequestSense,
    Inquiry,
    ReadCapacity,
    Reservation,
    LogSense,
    Format,
    Start,
    None,
}

/// <summary>How a persistent/SCSI-2 reservation held by another I_T nexus affects a command (SPC-5 §5.14.1.2 table).</summary>
public enum ReservationAccess : byte
{
    /// <summary>Allowed under any reservation (INQUIRY, REPORT LUNS, REQUEST SENSE, RTPG, ...).</summary>
    Allowed,

    /// <summary>Reads the medium or state: conflicts with Exclusive Access types, allowed under Write Exclusive.</summary>
    Read,

    /// <summary>Writes the medium or state: conflicts with every reservation type held by someone else.</summary>
    Write,
}

/// <summary>Per-command flags (CTL <c>ctl_cmd_entry.flags</c>).</summary>
[Flags]
public enum CommandFlags : ushort
{
    None = 0,

    /// <summary>Pending unit attentions are not reported before it (INQUIRY, REPORT LUNS, REQUEST SENSE).</summary>
    NoUnitAttention = 0x1,

    /// <summary>Served when the LU is Unavailable/Transitioning (ctl-ha.md §5.4 OK_ON_UNAVAIL).</summary>
    OkOnUnavailable = 0x2,

    /// <summary>Allowed through a standby path (§5.4 OK_ON_STANDBY).</summary>
    OkOnStandby = 0x4,

    /// <summary>Always executed by the receiving node (§5.4 RUN_HERE).</summary>
    RunHere = 0x8,

    /// <summary>Modifies the medium: refused with DATA PROTECT when the LU is read-only or SWP=1.</summary>
    WritesMedium = 0x10,

    /// <summary>Allowed while another I_T nexus holds a SCSI-2 RESERVE (CTL ALLOW_ON_RESV).</summary>
    AllowOnScsi2Reserve = 0x20,

    /// <summary>Needs no logical unit (REPORT LUNS, INQUIRY and REQUEST SENSE also answer for unknown LUNs).</summary>
    NoLun = 0x40,
}

/// <summary>
/// One entry of the command table: how to validate, serialize, check and execute an opcode (and service action).
/// </summary>
public sealed class CommandDescriptor
{
    /// <summary>Operation code (CDB byte 0).</summary>
    public required byte Opcode { get; init; }

    /// <summary>Service action (CDB byte 1 bits 4-0 for 9Eh/A3h/A4h/7Fh-style opcodes, SPC-5 §4.2.5), or -1.</summary>
    public int ServiceAction { get; init; } = -1;

    public required string Name { get; init; }

    public required CommandHandler Handler { get; init; }

    public required SerializationClass Serialization { get; init; }

    public ReservationAccess Reservation { get; init; } = ReservationAccess.Write;

    public CommandFlags Flags { get; init; }

    /// <summary>LBA range for extent serialization; null = none.</summary>
    public ExtentParser? Extent { get; init; }

    /// <summary>
    /// CDB usage data (SPC-5 §6.35.3): byte 0 is the opcode, each following byte has a 1 for every bit the
    /// command uses; its length is the CDB length. For a service-action command the SERVICE ACTION bits carry the
    /// service action value itself (as CTL reports them), other bits of that byte are a usage mask. Any other bit set in a received CDB is ILLEGAL REQUEST
    /// 24/00 with the field pointer at that bit (CTL <c>ctl_validate_command</c>).
    /// </summary>
    public required byte[] CdbUsage { get; init; }

    /// <summary>Nominal command timeout in seconds reported with RCTD (0 = not specified).</summary>
    public uint NominalTimeoutSeconds { get; init; }

    /// <summary>Recommended command timeout in seconds reported with RCTD.</summary>
    public uint RecommendedTimeoutSeconds { get; init; }

    public int CdbLength => CdbUsage.Length;

    public bool HasServiceAction => ServiceAction >= 0;

    public override string ToString() => HasServiceAction ? $"{Name} ({Opcode:X2}h/{ServiceAction:X2}h)" : $"{Name} ({Opcode:X2}h)";
}

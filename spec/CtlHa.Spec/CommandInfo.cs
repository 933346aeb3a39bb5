namespace CtlHa.Spec;

/// <summary>
/// Serialization class of a command: the row/column of the §11.2 table (CTL <c>seridx</c>).
/// <see cref="None"/> is for commands outside the table (unsupported ones), which never block.
/// </summary>
public enum SerializationClass
{
    Tur,
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

/// <summary>
/// One row of the command table (ctl-ha.md §5.4, §9, §11.2).
/// </summary>
/// <param name="Name">SPC/SBC name, e.g. "READ(10)".</param>
/// <param name="Opcode">CDB byte 0.</param>
/// <param name="ServiceAction">CDB byte 1 bits 4..0 for opcodes with service actions, else null.</param>
/// <param name="OkOnUnavailable">CTL <c>OK_ON_UNAVAIL</c>: served when the LUN is Unavailable or Transitioning here.</param>
/// <param name="OkOnStandby">CTL <c>OK_ON_STANDBY</c>: served through a standby path (a superset of OkOnUnavailable).</param>
/// <param name="RunHere">CTL <c>RUN_HERE</c>: always executed on the receiving node, never forwarded (§9).</param>
/// <param name="ReportsUnitAttention">False for CTL <c>NO_SENSE</c> commands: INQUIRY, REPORT LUNS, REQUEST SENSE.</param>
/// <param name="Class">Serialization class (§11.2).</param>
public sealed record CommandInfo(
    string Name,
    byte Opcode,
    int? ServiceAction,
    bool OkOnUnavailable,
    bool OkOnStandby,
    bool RunHere,
    bool ReportsUnitAttention,
    SerializationClass Class)
{
    /// <summary>
    /// Null for a supported command. For an unsupported one, the sense every node answers with, before the
    /// UA check and the ALUA gates: 05/20/00 for an unknown opcode (e.g. MAINTENANCE OUT, requirement 24),
    /// 05/24/00 for an unknown service action of a known opcode (CTL <c>ctl_validate_command</c>).
    /// </summary>
    public GateSense? UnsupportedSense { get; init; }

    /// <summary>True when the target implements the command.</summary>
    public bool IsSupported => UnsupportedSense is null;

    public override string ToString() => ServiceAction is { } sa ? $"{Name} ({Opcode:X2}h/{sa:X2}h)" : $"{Name} ({Opcode:X2}h)";
}

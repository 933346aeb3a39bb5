namespace CtlHa.Initiator.Scsi;

/// <summary>Task attributes, RFC 7143 §11.3.1 ATTR field (SAM-5 task attributes).</summary>
public enum TaskAttribute : byte
{
    Untagged = 0,
    Simple = 1,
    Ordered = 2,
    HeadOfQueue = 3,
    Aca = 4,
}

/// <summary>SCSI status codes, SAM-5 §5.3.1.</summary>
public enum ScsiStatus : byte
{
    Good = 0x00,
    CheckCondition = 0x02,
    ConditionMet = 0x04,
    Busy = 0x08,
    ReservationConflict = 0x18,
    TaskSetFull = 0x28,
    AcaActive = 0x30,
    TaskAborted = 0x40,
}

/// <summary>Sense keys, SPC-5 §4.4.8 table 51.</summary>
public enum SenseKey : byte
{
    NoSense = 0x0,
    RecoveredError = 0x1,
    NotReady = 0x2,
    MediumError = 0x3,
    HardwareError = 0x4,
    IllegalRequest = 0x5,
    UnitAttention = 0x6,
    DataProtect = 0x7,
    BlankCheck = 0x8,
    VendorSpecific = 0x9,
    CopyAborted = 0xA,
    AbortedCommand = 0xB,
    VolumeOverflow = 0xD,
    Miscompare = 0xE,
    Completed = 0xF,
}

/// <summary>
/// The outcome of one SCSI command: a value even when the status is CHECK CONDITION.
/// <see cref="IscsiResponse"/> is the iSCSI Response byte of RFC 7143 §11.4.3 (0 = completed at target; non-zero =
/// target failure, in which case Status is meaningless).
/// </summary>
public sealed record ScsiResponse(
    ScsiStatus Status,
    ReadOnlyMemory<byte> Sense,
    ReadOnlyMemory<byte> DataIn,
    bool ResidualOverflow,
    bool ResidualUnderflow,
    uint ResidualCount,
    byte IscsiResponse = 0)
{
    public bool IsGood => IscsiResponse == 0 && Status == ScsiStatus.Good;

    /// <summary>The decoded sense data, if any was returned and it parses.</summary>
    public SenseData? SenseData => Scsi.SenseData.TryParse(Sense.Span, out var sense) ? sense : null;

    public override string ToString()
    {
        var sense = SenseData;
        return $"Status={Status} Response={IscsiResponse} DataIn={DataIn.Length}" +
               (sense is null ? "" : $" Sense={sense}") +
               (ResidualOverflow ? $" Overflow={ResidualCount}" : "") +
               (ResidualUnderflow ? $" Underflow={ResidualCount}" : "");
    }
}

/// <summary>Task management function codes, RFC 7143 §11.5.1 plus RFC 7144 §4.1 (QUERY TASK ... I_T NEXUS RESET).</summary>
public enum TaskManagementFunction : byte
{
    AbortTask = 1,
    AbortTaskSet = 2,
    ClearAca = 3,
    ClearTaskSet = 4,
    LogicalUnitReset = 5,
    TargetWarmReset = 6,
    TargetColdReset = 7,
    TaskReassign = 8,
    QueryTask = 9,
    QueryTaskSet = 10,
    ITNexusReset = 11,
    QueryAsynchronousEvent = 12,
}

/// <summary>Task management response codes, RFC 7143 §11.6.1 plus RFC 7144 §4.2.</summary>
public enum TaskManagementResponse : byte
{
    FunctionComplete = 0,
    TaskDoesNotExist = 1,
    LunDoesNotExist = 2,
    TaskStillAllegiant = 3,
    TaskAllegianceReassignmentNotSupported = 4,
    FunctionNotSupported = 5,
    FunctionAuthorizationFailed = 6,
    FunctionSucceeded = 7,
    FunctionRejected = 255,
}

namespace CtlHa.Core;

/// <summary>SAM-5 §5.3.1 status codes.</summary>
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

/// <summary>SAM-5 §8.6 task attributes (iSCSI ATTR field values, RFC 7143 §11.3.1).</summary>
public enum TaskAttribute : byte
{
    Untagged = 0,
    Simple = 1,
    Ordered = 2,
    HeadOfQueue = 3,
    Aca = 4,
}

/// <summary>SPC-5 §4.4.8 sense keys.</summary>
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
}

/// <summary>SPC-5 §5.5.2.4 ALUA asymmetric access states (RTPG byte 0 low nibble).</summary>
public enum AluaState : byte
{
    ActiveOptimized = 0x0,
    ActiveNonOptimized = 0x1,
    Standby = 0x2,
    Unavailable = 0x3,
    LogicalBlockDependent = 0x4,
    Offline = 0xE,
    Transitioning = 0xF,
}

/// <summary>SAM-5 §7 task management functions.</summary>
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
    ITNexusReset = 9,
    QueryTask = 10,
    QueryTaskSet = 11,
    QueryAsynchronousEvent = 12,
}

/// <summary>Service response of a task management function (RFC 7143 §11.6.1 response codes).</summary>
public enum TaskManagementResponse : byte
{
    FunctionComplete = 0,
    TaskDoesNotExist = 1,
    LunDoesNotExist = 2,
    TaskStillAllegiant = 3,
    ReassignmentNotSupported = 4,
    NotSupported = 5,
    AuthorizationFailed = 6,
    FunctionSucceeded = 9,
    FunctionRejected = 255,
}

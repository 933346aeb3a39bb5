namespace CtlHa.Wire;

/// <summary>SCSI status bytes and HA port-status codes as they appear on the interlink.</summary>
public static class ScsiWire
{
    /// <summary>SAM-5 §5.3.1 status codes.</summary>
    public const byte Good = 0x00;

    /// <inheritdoc cref="Good"/>
    public const byte CheckCondition = 0x02;

    /// <inheritdoc cref="Good"/>
    public const byte ConditionMet = 0x04;

    /// <inheritdoc cref="Good"/>
    public const byte Busy = 0x08;

    /// <inheritdoc cref="Good"/>
    public const byte ReservationConflict = 0x18;

    /// <inheritdoc cref="Good"/>
    public const byte TaskSetFull = 0x28;

    /// <inheritdoc cref="Good"/>
    public const byte AcaActive = 0x30;

    /// <inheritdoc cref="Good"/>
    public const byte TaskAborted = 0x40;

    /// <summary>CTL's HA data-move failure codes (ctl-ha.md §6.3), reported as 04/44/00 with SKS retry count.</summary>
    public const uint PortStatusGood = 0;

    /// <summary>Aborted before the data move started.</summary>
    public const uint PortStatusAbortedBeforeMove = 31337;

    /// <summary>Aborted on the originator.</summary>
    public const uint PortStatusAborted = 31338;

    /// <summary>A data move for a command with no data direction.</summary>
    public const uint PortStatusNoDirection = 31339;

    /// <summary>Failover during the transfer.</summary>
    public const uint PortStatusFailoverDuringMove = 31340;

    /// <summary>The DataMove could not be sent.</summary>
    public const uint PortStatusSendFailed = 31341;

    /// <summary>Failover before hand-over.</summary>
    public const uint PortStatusFailoverBeforeMove = 31342;

    public static bool IsValidStatus(byte status) =>
        status is Good or CheckCondition or ConditionMet or Busy or ReservationConflict or TaskSetFull or AcaActive or TaskAborted;

    public static bool IsValidPortStatus(uint portStatus) =>
        portStatus == PortStatusGood || portStatus is >= PortStatusAbortedBeforeMove and <= PortStatusFailoverBeforeMove;

    /// <summary>Status + sense rule shared by FinishIo and SerializeFailed: sense only with CHECK CONDITION,
    /// and then 8..252 bytes of fixed (70h/71h) or descriptor (72h/73h) format.</summary>
    internal static void ValidateStatusAndSense(byte status, byte[]? sense, string type)
    {
        if (!IsValidStatus(status))
        {
            WireCheck.Fail(InterlinkErrorKind.OutOfRange, $"{type}.ScsiStatus=0x{status:X2} is not a SAM status");
        }

        WireCheck.Bytes(sense, 0, WireLimits.MaxSenseLength, type + ".Sense");
        if (sense.Length == 0)
        {
            return;
        }

        if (status != CheckCondition)
        {
            WireCheck.Fail(InterlinkErrorKind.OutOfRange, $"{type}.Sense present with status 0x{status:X2}");
        }

        WireCheck.Bytes(sense, 8, WireLimits.MaxSenseLength, type + ".Sense");
        var responseCode = sense[0] & 0x7F;
        if (responseCode is < 0x70 or > 0x73)
        {
            WireCheck.Fail(InterlinkErrorKind.OutOfRange, $"{type}.Sense response code 0x{responseCode:X2} is not 70h..73h");
        }
    }

    internal static void ValidateHandles(ulong originator, ulong primary, bool primaryRequired, string type)
    {
        WireCheck.NonZero(originator, type + ".OriginatorHandle");
        if (primaryRequired)
        {
            WireCheck.NonZero(primary, type + ".PrimaryHandle");
        }
    }
}

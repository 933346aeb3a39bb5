using MessagePack;

namespace CtlHa.Wire;

/// <summary>
/// Primary → originator: serialization failed (CTL_MSG_BAD_JUJU, ctl-ha.md §6.1): port unknown/offline
/// 04/44/00, LUN missing/disabled BUSY, overlap 05/4E/00, tag overlap 05/4D/tag, or a gate's sense.
/// Union key 33. The originator completes the command with this status and sense.
/// </summary>
/// <param name="Nexus">Echo of the Serialize nexus.</param>
/// <param name="OriginatorHandle">Non-zero.</param>
/// <param name="PrimaryHandle">The shadow's id, or 0 if none was created.</param>
/// <param name="ScsiStatus">SAM status, never GOOD or CONDITION MET.</param>
/// <param name="Sense">Sense data (≤ 252 bytes), only with CHECK CONDITION.</param>
[MessagePackObject]
public sealed record SerializeFailed(
    [property: Key(0)] Nexus Nexus,
    [property: Key(1)] ulong OriginatorHandle,
    [property: Key(2)] ulong PrimaryHandle,
    [property: Key(3)] byte ScsiStatus,
    [property: Key(4)] byte[] Sense) : InterlinkMessage
{
    public override void Validate()
    {
        Nexus.Validate(Nexus, "SerializeFailed.Nexus");
        ScsiWire.ValidateHandles(OriginatorHandle, PrimaryHandle, primaryRequired: false, "SerializeFailed");
        ScsiWire.ValidateStatusAndSense(ScsiStatus, Sense, "SerializeFailed");
        if (ScsiStatus is ScsiWire.Good or ScsiWire.ConditionMet)
        {
            WireCheck.Fail(InterlinkErrorKind.OutOfRange, $"SerializeFailed.ScsiStatus=0x{ScsiStatus:X2} is a success status");
        }
    }
}

using MessagePack;

namespace CtlHa.Wire;

/// <summary>
/// End of a serialized command (CTL_MSG_FINISH_IO). Union key 32.
/// Proxy mode, primary → originator: the final status, sense and residual to return to the initiator.
/// Standby/shared, originator → primary: the local execution finished; the primary frees its shadow and
/// unblocks waiters (status fields are informational).
/// </summary>
/// <param name="Nexus">Echo of the Serialize nexus.</param>
/// <param name="OriginatorHandle">Non-zero.</param>
/// <param name="PrimaryHandle">Non-zero.</param>
/// <param name="ScsiStatus">SAM status byte.</param>
/// <param name="Sense">Sense data (≤ 252 bytes), only with CHECK CONDITION.</param>
/// <param name="Residual">Residual kind.</param>
/// <param name="ResidualCount">Residual byte count; 0 when Residual is None, ≤ 1 GiB.</param>
[MessagePackObject]
public sealed record FinishIo(
    [property: Key(0)] Nexus Nexus,
    [property: Key(1)] ulong OriginatorHandle,
    [property: Key(2)] ulong PrimaryHandle,
    [property: Key(3)] byte ScsiStatus,
    [property: Key(4)] byte[] Sense,
    [property: Key(5)] ResidualKind Residual,
    [property: Key(6)] uint ResidualCount) : InterlinkMessage
{
    public override void Validate()
    {
        Nexus.Validate(Nexus, "FinishIo.Nexus");
        ScsiWire.ValidateHandles(OriginatorHandle, PrimaryHandle, primaryRequired: true, "FinishIo");
        ScsiWire.ValidateStatusAndSense(ScsiStatus, Sense, "FinishIo");
        WireCheck.Defined(Residual, "FinishIo.Residual");
        WireCheck.Range(ResidualCount, 0, Residual == ResidualKind.None ? 0 : WireLimits.MaxExpectedDataLength, "FinishIo.ResidualCount");
    }
}

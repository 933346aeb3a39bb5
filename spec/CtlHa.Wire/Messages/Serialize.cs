using MessagePack;

namespace CtlHa.Wire;

/// <summary>
/// Originator (secondary for the LUN) → primary: "order this command in your OOA queue"
/// (CTL_MSG_SERIALIZE, ctl-ha.md §6.1–6.2). Union key 30. The primary answers with exactly one of
/// ReadyToRun (standby/shared), FinishIo (proxy, after any DataMoves) or SerializeFailed.
/// </summary>
/// <param name="Nexus">The command's I_T_L nexus on the originator.</param>
/// <param name="Tag">Task tag (iSCSI ITT), unique per I_T nexus among active commands.</param>
/// <param name="Attribute">SAM task attribute.</param>
/// <param name="Priority">SAM command priority 0..15.</param>
/// <param name="Cdb">The CDB, 6..32 bytes.</param>
/// <param name="ExpectedDataLength">Initiator's expected data transfer length, ≤ 1 GiB; 0 when Direction is None.</param>
/// <param name="Direction">Data direction the initiator announced.</param>
/// <param name="OriginatorHandle">Originator's opaque non-zero id for this command, unique among its live commands;
/// echoed by every reply. Never a pointer.</param>
[MessagePackObject]
public sealed record Serialize(
    [property: Key(0)] Nexus Nexus,
    [property: Key(1)] ulong Tag,
    [property: Key(2)] TaskAttribute Attribute,
    [property: Key(3)] byte Priority,
    [property: Key(4)] byte[] Cdb,
    [property: Key(5)] uint ExpectedDataLength,
    [property: Key(6)] DataDirection Direction,
    [property: Key(7)] ulong OriginatorHandle) : InterlinkMessage
{
    public override void Validate()
    {
        Nexus.Validate(Nexus, "Serialize.Nexus");
        WireCheck.Defined(Attribute, "Serialize.Attribute");
        WireCheck.Range(Priority, 0, 15, "Serialize.Priority");
        WireCheck.Bytes(Cdb, WireLimits.MinCdbLength, WireLimits.MaxCdbLength, "Serialize.Cdb");
        WireCheck.Defined(Direction, "Serialize.Direction");
        WireCheck.Range(ExpectedDataLength, 0, Direction == DataDirection.None ? 0 : WireLimits.MaxExpectedDataLength, "Serialize.ExpectedDataLength");
        WireCheck.NonZero(OriginatorHandle, "Serialize.OriginatorHandle");
    }
}

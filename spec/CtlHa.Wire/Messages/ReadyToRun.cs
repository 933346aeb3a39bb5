using MessagePack;

namespace CtlHa.Wire;

/// <summary>
/// Primary → originator in standby and shared modes: the shadow passed serialization; execute locally
/// and send FinishIo when done (CTL_MSG_R2R). Union key 31.
/// </summary>
/// <param name="Nexus">Echo of the Serialize nexus.</param>
/// <param name="OriginatorHandle">Echo of Serialize.OriginatorHandle (non-zero).</param>
/// <param name="PrimaryHandle">Primary's non-zero id for its shadow; the originator's FinishIo carries it.</param>
[MessagePackObject]
public sealed record ReadyToRun(
    [property: Key(0)] Nexus Nexus,
    [property: Key(1)] ulong OriginatorHandle,
    [property: Key(2)] ulong PrimaryHandle) : InterlinkMessage
{
    public override void Validate()
    {
        Nexus.Validate(Nexus, "ReadyToRun.Nexus");
        ScsiWire.ValidateHandles(OriginatorHandle, PrimaryHandle, primaryRequired: true, "ReadyToRun");
    }
}

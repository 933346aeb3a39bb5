using MessagePack;

namespace CtlHa.Wire;

/// <summary>
/// An initiator slot on one of the sender's ports came into use or was freed (CTL_MSG_IID_SYNC).
/// Union key 11. Sent at link up for every slot in use. The receiver updates its mirrored port;
/// on InUse=false it runs nexus loss for index PortNumber·2048+InitiatorId (CTL uses the bare iid, §12.2.6).
/// </summary>
/// <param name="PortNumber">Global port number, &lt; MaxPortsLimit.</param>
/// <param name="InitiatorId">Slot on the port, &lt; 2048.</param>
/// <param name="InUse">True when the initiator is logged in.</param>
/// <param name="Name">iSCSI initiator name, ≤ 223 printable ASCII; empty when InUse is false.</param>
/// <param name="Isid">The session's ISID, 6 bytes; empty when InUse is false. With Name it builds the TransportID.</param>
[MessagePackObject]
public sealed record InitiatorSync(
    [property: Key(0)] uint PortNumber,
    [property: Key(1)] uint InitiatorId,
    [property: Key(2)] bool InUse,
    [property: Key(3)] string Name,
    [property: Key(4)] byte[] Isid) : InterlinkMessage
{
    public override void Validate()
    {
        WireCheck.Range(PortNumber, 0, WireLimits.MaxPortsLimit - 1, "InitiatorSync.PortNumber");
        WireCheck.Range(InitiatorId, 0, WireLimits.MaxInitiatorsPerPortLimit - 1, "InitiatorSync.InitiatorId");
        if (InUse)
        {
            WireCheck.Printable(Name, 1, WireLimits.MaxIscsiNameLength, "InitiatorSync.Name");
            WireCheck.Bytes(Isid, WireLimits.IsidLength, WireLimits.IsidLength, "InitiatorSync.Isid");
        }
        else
        {
            WireCheck.Printable(Name, 0, 0, "InitiatorSync.Name");
            WireCheck.Bytes(Isid, 0, 0, "InitiatorSync.Isid");
        }
    }
}

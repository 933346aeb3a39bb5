using MessagePack;

namespace CtlHa.Wire;

/// <summary>
/// Ends the sender's link-up state sync (PROTOCOL.md §4.5). Union key 14. A node is Online once it has
/// sent its own SyncComplete and received the peer's. The counts let the receiver check it saw every item.
/// </summary>
/// <param name="PortCount">PortSync messages sent in this sync, ≤ MaxPortsLimit.</param>
/// <param name="InitiatorCount">InitiatorSync messages sent in this sync, ≤ MaxInitiatorIndex + 1.</param>
/// <param name="LunCount">LunSync messages sent in this sync, ≤ MaxLunsLimit.</param>
/// <param name="ModePageCount">ModeSync messages sent in this sync.</param>
[MessagePackObject]
public sealed record SyncComplete(
    [property: Key(0)] uint PortCount,
    [property: Key(1)] uint InitiatorCount,
    [property: Key(2)] uint LunCount,
    [property: Key(3)] uint ModePageCount) : InterlinkMessage
{
    public override void Validate()
    {
        WireCheck.Range(PortCount, 0, WireLimits.MaxPortsLimit, "SyncComplete.PortCount");
        WireCheck.Range(InitiatorCount, 0, (ulong)WireLimits.MaxInitiatorIndex + 1, "SyncComplete.InitiatorCount");
        WireCheck.Range(LunCount, 0, WireLimits.MaxLunsLimit, "SyncComplete.LunCount");
    }
}

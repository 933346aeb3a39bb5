using MessagePack;

namespace CtlHa.Wire;

/// <summary>
/// Announces one of the sender's local target ports (CTL_MSG_PORT_SYNC, ctl-ha.md §4.3). Union key 10.
/// Sent at link up for every local port and whenever a port goes online/offline. The receiver mirrors it
/// under the same number and sets 3F/03 INQUIRY DATA HAS CHANGED for its initiators on the mapped LUNs.
/// A number inside the receiver's own half of the port space is ignored (logged), not a protocol error.
/// </summary>
/// <param name="PortNumber">Global port number, &lt; MaxPortsLimit; the sender owns [(id−1)·P/2, id·P/2).</param>
/// <param name="Name">Port name, 1..255 printable ASCII (the receiver shows it as "&lt;peer id&gt;:&lt;name&gt;").</param>
/// <param name="Online">Port online (CTL status bit 0x01).</param>
/// <param name="HaShared">Port is in the shared target port group 1 (CTL status bit 0x02).</param>
/// <param name="TargetName">iSCSI target name served by the port, 1..223 bytes of printable ASCII.</param>
/// <param name="PortalGroupTag">iSCSI target portal group tag (RFC 7143 §4.4.1).</param>
/// <param name="LunMap">Port LUN → global LUN (or 0xFFFFFFFF unmapped); empty = identity map. ≤ MaxLunsLimit entries.</param>
/// <param name="PortDeviceId">Port VPD 0x83 designators, ≤ 1024 bytes (may be empty).</param>
/// <param name="TargetDeviceId">Target VPD 0x83 designators, ≤ 1024 bytes (may be empty).</param>
[MessagePackObject]
public sealed record PortSync(
    [property: Key(0)] uint PortNumber,
    [property: Key(1)] string Name,
    [property: Key(2)] bool Online,
    [property: Key(3)] bool HaShared,
    [property: Key(4)] string TargetName,
    [property: Key(5)] ushort PortalGroupTag,
    [property: Key(6)] uint[] LunMap,
    [property: Key(7)] byte[] PortDeviceId,
    [property: Key(8)] byte[] TargetDeviceId) : InterlinkMessage
{
    public override void Validate()
    {
        WireCheck.Range(PortNumber, 0, WireLimits.MaxPortsLimit - 1, "PortSync.PortNumber");
        WireCheck.Printable(Name, 1, WireLimits.MaxPortNameLength, "PortSync.Name");
        WireCheck.Printable(TargetName, 1, WireLimits.MaxIscsiNameLength, "PortSync.TargetName");
        WireCheck.NotNull(LunMap, "PortSync.LunMap");
        WireCheck.Range((ulong)LunMap.Length, 0, WireLimits.MaxLunsLimit, "PortSync.LunMap.Length");
        for (var i = 0; i < LunMap.Length; i++)
        {
            if (LunMap[i] != WireLimits.UnmappedLun && LunMap[i] >= WireLimits.MaxLunsLimit)
            {
                WireCheck.Fail(InterlinkErrorKind.OutOfRange, $"PortSync.LunMap[{i}]={LunMap[i]} is neither a LUN < {WireLimits.MaxLunsLimit} nor unmapped");
            }
        }

        WireCheck.Bytes(PortDeviceId, 0, WireLimits.MaxDeviceIdLength, "PortSync.PortDeviceId");
        WireCheck.Bytes(TargetDeviceId, 0, WireLimits.MaxDeviceIdLength, "PortSync.TargetDeviceId");
    }
}

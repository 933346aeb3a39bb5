using MessagePack;

namespace CtlHa.Wire;

/// <summary>
/// I_T_L nexus of a command as the originating node sees it (CTL ctl_ha_msg_hdr.nexus).
/// Encoded as the array <c>[TargetPort, InitiatorId, Lun]</c>.
/// </summary>
/// <param name="TargetPort">Global port number (&lt; MaxPortsLimit); the originator's port, mirrored on the peer.</param>
/// <param name="InitiatorId">Initiator slot on that port (&lt; 2048); initiator index = TargetPort · 2048 + InitiatorId.</param>
/// <param name="Lun">Global LUN number (&lt; MaxLunsLimit).</param>
[MessagePackObject]
public sealed record Nexus(
    [property: Key(0)] uint TargetPort,
    [property: Key(1)] uint InitiatorId,
    [property: Key(2)] uint Lun)
{
    /// <summary>The CTL initiator index, unique across both nodes.</summary>
    [IgnoreMember]
    public uint InitiatorIndex => (TargetPort * WireLimits.MaxInitiatorsPerPortLimit) + InitiatorId;

    internal static void Validate(Nexus? nexus, string field)
    {
        WireCheck.NotNull(nexus, field);
        WireCheck.Range(nexus.TargetPort, 0, WireLimits.MaxPortsLimit - 1, field + ".TargetPort");
        WireCheck.Range(nexus.InitiatorId, 0, WireLimits.MaxInitiatorsPerPortLimit - 1, field + ".InitiatorId");
        WireCheck.Range(nexus.Lun, 0, WireLimits.MaxLunsLimit - 1, field + ".Lun");
    }
}

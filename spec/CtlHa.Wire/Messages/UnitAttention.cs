using MessagePack;

namespace CtlHa.Wire;

/// <summary>
/// Sets or clears a unit attention the receiver cannot derive itself (CTL_MSG_UA, ctl-ha.md §8.7):
/// capacity change 2A/09, medium change 28/00, thin-provisioning threshold 38/07 with INFORMATION.
/// Union key 21. Other UAs (2A/06, 2A/01, 3F/03, 29/xx, 2A/04, 2A/05) are derived locally from the
/// sync, PR and TMF messages and are never sent this way.
/// </summary>
/// <param name="Lun">Global LUN number &lt; MaxLunsLimit, or AllLuns.</param>
/// <param name="Scope">Which of the receiver's initiators it applies to.</param>
/// <param name="InitiatorIndex">AllExcept / One: that initiator index (≤ MaxInitiatorIndex). AllInitiators: NoInitiator.</param>
/// <param name="Set">True to establish, false to clear.</param>
/// <param name="Asc">Additional sense code (sense key is always UNIT ATTENTION, 6h).</param>
/// <param name="Ascq">Additional sense code qualifier.</param>
/// <param name="Information">Sense INFORMATION field: 8 bytes (38/07) or empty.</param>
[MessagePackObject]
public sealed record UnitAttention(
    [property: Key(0)] uint Lun,
    [property: Key(1)] UnitAttentionScope Scope,
    [property: Key(2)] uint InitiatorIndex,
    [property: Key(3)] bool Set,
    [property: Key(4)] byte Asc,
    [property: Key(5)] byte Ascq,
    [property: Key(6)] byte[] Information) : InterlinkMessage
{
    public override void Validate()
    {
        if (Lun != WireLimits.AllLuns)
        {
            WireCheck.Range(Lun, 0, WireLimits.MaxLunsLimit - 1, "UnitAttention.Lun");
        }

        WireCheck.Defined(Scope, "UnitAttention.Scope");
        if (Scope == UnitAttentionScope.AllInitiators)
        {
            WireCheck.Range(InitiatorIndex, WireLimits.NoInitiator, WireLimits.NoInitiator, "UnitAttention.InitiatorIndex");
        }
        else
        {
            WireCheck.Range(InitiatorIndex, 0, WireLimits.MaxInitiatorIndex, "UnitAttention.InitiatorIndex");
        }

        WireCheck.BytesOneOf(Information, 0, WireLimits.UnitAttentionInfoLength, "UnitAttention.Information");
    }
}

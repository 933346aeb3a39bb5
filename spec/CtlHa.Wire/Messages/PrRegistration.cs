using MessagePack;

namespace CtlHa.Wire;

/// <summary>
/// One persistent-reservation registration inside <see cref="LunSync"/>. Encoded <c>[InitiatorIndex, Key, TransportId]</c>.
/// </summary>
/// <param name="InitiatorIndex">Registrant's initiator index (port · 2048 + iid), ≤ MaxInitiatorIndex.</param>
/// <param name="Key">The registered reservation key; never 0 (registering key 0 unregisters).</param>
/// <param name="TransportId">The registrant's TransportID (SPC-5 §7.6.4) for READ FULL STATUS, ≤ 256 bytes;
/// empty if the sender cannot build it.</param>
[MessagePackObject]
public sealed record PrRegistration(
    [property: Key(0)] uint InitiatorIndex,
    [property: Key(1)] ulong Key,
    [property: Key(2)] byte[] TransportId)
{
    internal static void Validate(PrRegistration? registration, string field)
    {
        WireCheck.NotNull(registration, field);
        WireCheck.Range(registration.InitiatorIndex, 0, WireLimits.MaxInitiatorIndex, field + ".InitiatorIndex");
        WireCheck.NonZero(registration.Key, field + ".Key");
        WireCheck.Bytes(registration.TransportId, 0, WireLimits.MaxTransportIdLength, field + ".TransportId");
    }
}

using MessagePack;

namespace CtlHa.Wire;

/// <summary>
/// First frame each side sends after TCP connect (PROTOCOL.md §4.1). Union key 0.
/// </summary>
/// <param name="Method">HmacSha256Psk if the sender has a key, None only under allow-unauthenticated.</param>
/// <param name="Nonce">32 fresh random bytes from a CSPRNG, never reused; bound into both MACs.</param>
[MessagePackObject]
public sealed record AuthChallenge(
    [property: Key(0)] AuthMethod Method,
    [property: Key(1)] byte[] Nonce) : InterlinkMessage
{
    public override void Validate()
    {
        WireCheck.Defined(Method, "AuthChallenge.Method");
        WireCheck.Bytes(Nonce, WireLimits.NonceLength, WireLimits.NonceLength, "AuthChallenge.Nonce");
    }
}

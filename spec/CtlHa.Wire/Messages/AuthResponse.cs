using MessagePack;

namespace CtlHa.Wire;

/// <summary>
/// Proof of the pre-shared key (PROTOCOL.md §4.2). Union key 1. The connector sends first; the acceptor
/// answers only after verifying it, so an unauthenticated connector learns nothing but a random nonce.
/// </summary>
/// <param name="Mac">HMAC-SHA256(psk, "ctlha-auth-v1" ‖ senderRole ‖ senderNonce ‖ receiverNonce), 32 bytes
/// (<see cref="InterlinkAuth.ComputeMac"/>).</param>
[MessagePackObject]
public sealed record AuthResponse(
    [property: Key(0)] byte[] Mac) : InterlinkMessage
{
    public override void Validate() =>
        WireCheck.Bytes(Mac, WireLimits.MacLength, WireLimits.MacLength, "AuthResponse.Mac");
}

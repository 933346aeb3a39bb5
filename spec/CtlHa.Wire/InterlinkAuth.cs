using System.Security.Cryptography;

namespace CtlHa.Wire;

/// <summary>
/// The PSK proof of spec/PROTOCOL.md §4.2:
/// <c>MAC = HMAC-SHA256(psk, "ctlha-auth-v1" ‖ senderRole(1 byte) ‖ senderNonce(32) ‖ receiverNonce(32))</c>.
/// Both nonces make every MAC fresh (no replay); the role byte makes a reflected MAC fail.
/// </summary>
public static class InterlinkAuth
{
    /// <summary>Domain-separation label; changes with any change of the construction.</summary>
    public static ReadOnlySpan<byte> Label => "ctlha-auth-v1"u8;

    /// <summary>Shortest accepted key. Keys must be random (e.g. 32 bytes from /dev/urandom): a MAC
    /// observed by a fake acceptor permits an offline guess at a low-entropy key.</summary>
    public const int MinKeyLength = 16;

    /// <summary>Longest accepted key.</summary>
    public const int MaxKeyLength = 1024;

    /// <summary>32 bytes from the OS CSPRNG.</summary>
    public static byte[] NewNonce() => RandomNumberGenerator.GetBytes(WireLimits.NonceLength);

    public static byte[] ComputeMac(ReadOnlySpan<byte> psk, LinkRole senderRole, ReadOnlySpan<byte> senderNonce, ReadOnlySpan<byte> receiverNonce)
    {
        if (psk.Length is < MinKeyLength or > MaxKeyLength)
        {
            throw new ArgumentException($"PSK must be {MinKeyLength}..{MaxKeyLength} bytes", nameof(psk));
        }

        if (senderNonce.Length != WireLimits.NonceLength || receiverNonce.Length != WireLimits.NonceLength)
        {
            throw new ArgumentException($"nonces must be {WireLimits.NonceLength} bytes");
        }

        Span<byte> input = stackalloc byte[Label.Length + 1 + (2 * WireLimits.NonceLength)];
        Label.CopyTo(input);
        input[Label.Length] = (byte)senderRole;
        senderNonce.CopyTo(input[(Label.Length + 1)..]);
        receiverNonce.CopyTo(input[(Label.Length + 1 + WireLimits.NonceLength)..]);
        return HMACSHA256.HashData(psk, input);
    }

    /// <summary>Constant-time check of a MAC the peer (in <paramref name="peerRole"/>) sent.</summary>
    public static bool VerifyMac(ReadOnlySpan<byte> psk, LinkRole peerRole, ReadOnlySpan<byte> peerNonce, ReadOnlySpan<byte> ownNonce, ReadOnlySpan<byte> mac)
    {
        var expected = ComputeMac(psk, peerRole, peerNonce, ownNonce);
        return mac.Length == expected.Length && CryptographicOperations.FixedTimeEquals(expected, mac);
    }

    /// <summary>
    /// Reads a <c>--psk-file</c>: hex text of at least 32 digits (as <c>ctlha pair</c> writes it; surrounding
    /// whitespace ignored) is decoded, anything else is the key byte for byte. The same rule as the node's and
    /// ctlha-conform's readers, so both ends of a pair derive the same key from the same file.
    /// </summary>
    public static byte[] ReadKeyFile(string path)
    {
        var raw = File.ReadAllBytes(path);
        var text = System.Text.Encoding.UTF8.GetString(raw).Trim();
        var key = text.Length >= 32 && text.Length % 2 == 0 && text.All(Uri.IsHexDigit) ? Convert.FromHexString(text) : raw;
        if (key.Length is < MinKeyLength or > MaxKeyLength)
        {
            throw new InvalidDataException($"key file {path} holds {key.Length} key bytes; need {MinKeyLength}..{MaxKeyLength}");
        }

        return key;
    }
}

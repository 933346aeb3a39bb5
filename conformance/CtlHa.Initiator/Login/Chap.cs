using System.Globalization;
using System.Security.Cryptography;

namespace CtlHa.Initiator.Login;

/// <summary>
/// CHAP with MD5 (RFC 1994 §4.1, iSCSI use in RFC 7143 §12.1.3): Response = MD5(Identifier || Secret || Challenge).
/// Binary values travel as <c>0x</c> hex or <c>0b</c> base64 (RFC 7143 §6.1).
/// </summary>
public static class Chap
{
    /// <summary>CHAP_A value for MD5 (RFC 7143 §12.1.3, IANA PPP authentication algorithms).</summary>
    public const string AlgorithmMd5 = "5";

    public static byte[] Response(byte identifier, ReadOnlySpan<byte> secret, ReadOnlySpan<byte> challenge)
    {
        var input = new byte[1 + secret.Length + challenge.Length];
        input[0] = identifier;
        secret.CopyTo(input.AsSpan(1));
        challenge.CopyTo(input.AsSpan(1 + secret.Length));
        // MD5 is what CHAP_A=5 means; it is the protocol, not a security choice of ours.
#pragma warning disable CA5351
        return MD5.HashData(input);
#pragma warning restore CA5351
    }

    public static string EncodeHex(ReadOnlySpan<byte> value) => "0x" + Convert.ToHexStringLower(value);

    /// <summary>Decodes a binary value (<c>0x</c>/<c>0X</c> hex or <c>0b</c>/<c>0B</c> base64), RFC 7143 §6.1.</summary>
    public static byte[] DecodeBinary(string value)
    {
        if (value.Length >= 2 && value[0] == '0' && (value[1] == 'x' || value[1] == 'X'))
        {
            var hex = value[2..];
            if (hex.Length % 2 == 1)
            {
                hex = "0" + hex;
            }

            return Convert.FromHexString(hex);
        }

        if (value.Length >= 2 && value[0] == '0' && (value[1] == 'b' || value[1] == 'B'))
        {
            return Convert.FromBase64String(value[2..]);
        }

        throw new IscsiLoginException($"CHAP binary value '{value}' is neither 0x hex nor 0b base64.");
    }

    public static byte ParseIdentifier(string value)
    {
        var number = value.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? int.Parse(value.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture)
            : int.Parse(value, NumberStyles.Integer, CultureInfo.InvariantCulture);
        if (number is < 0 or > 255)
        {
            throw new IscsiLoginException($"CHAP_I {value} is outside 0..255.");
        }

        return (byte)number;
    }
}

using System.Buffers;
using System.Text;

namespace CtlHa.Iscsi.Negotiation;

/// <summary>
/// RFC 7143 §6.1 text format: "key=value" pairs, each terminated by NUL, UTF-8. Keys up to 63 bytes, values up to 255
/// (8192 for some); we bound the whole exchange instead. Login and Text paths only, so allocation is fine here.
/// </summary>
public static class TextParameters
{
    public const string NotUnderstood = "NotUnderstood";
    public const string Irrelevant = "Irrelevant";
    public const string Reject = "Reject";

    /// <summary>Parses a complete text data segment.</summary>
    /// <exception cref="IscsiProtocolException">A pair lacks '=' or a key is empty.</exception>
    public static List<KeyValuePair<string, string>> Parse(ReadOnlySpan<byte> data)
    {
        var result = new List<KeyValuePair<string, string>>();
        while (!data.IsEmpty)
        {
            int end = data.IndexOf((byte)0);
            ReadOnlySpan<byte> pair = end < 0 ? data : data[..end];
            data = end < 0 ? default : data[(end + 1)..];
            if (pair.IsEmpty)
            {
                continue; // tolerate padding NULs
            }
            int eq = pair.IndexOf((byte)'=');
            if (eq <= 0)
            {
                throw new IscsiProtocolException($"malformed text key=value pair '{Encoding.UTF8.GetString(pair)}'");
            }
            result.Add(new(Encoding.UTF8.GetString(pair[..eq]), Encoding.UTF8.GetString(pair[(eq + 1)..])));
        }
        return result;
    }

    public static List<KeyValuePair<string, string>> Parse(in ReadOnlySequence<byte> data) =>
        data.IsSingleSegment ? Parse(data.FirstSpan) : Parse(data.ToArray());

    public static byte[] Encode(IEnumerable<KeyValuePair<string, string>> pairs)
    {
        var sb = new StringBuilder();
        foreach (KeyValuePair<string, string> kv in pairs)
        {
            sb.Append(kv.Key).Append('=').Append(kv.Value).Append('\0');
        }
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>Parses an RFC 7143 §6.1 numerical value: decimal, or hex with 0x.</summary>
    public static bool TryParseNumber(string value, out ulong number)
    {
        if (value.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return ulong.TryParse(value.AsSpan(2), System.Globalization.NumberStyles.HexNumber, null, out number);
        }
        return ulong.TryParse(value, System.Globalization.NumberStyles.None, null, out number);
    }

    /// <summary>Parses an RFC 7143 §6.1 binary value: 0x hex or 0b base64.</summary>
    public static byte[]? ParseBinary(string value)
    {
        try
        {
            if (value.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            {
                string hex = value[2..];
                if (hex.Length % 2 == 1)
                {
                    hex = "0" + hex;
                }
                return Convert.FromHexString(hex);
            }
            if (value.StartsWith("0b", StringComparison.OrdinalIgnoreCase))
            {
                return Convert.FromBase64String(value[2..]);
            }
        }
        catch (FormatException)
        {
        }
        return null;
    }

    public static string FormatBinary(ReadOnlySpan<byte> value) => "0x" + Convert.ToHexStringLower(value);
}

using System.Text;

namespace CtlHa.Initiator.Login;

/// <summary>
/// Text keys of login and text PDUs, RFC 7143 §6.1: a sequence of <c>key=value\0</c> in UTF-8.
/// Order is kept because the standard asks answers in the order offered.
/// </summary>
public static class TextParameters
{
    public static byte[] Encode(IEnumerable<KeyValuePair<string, string>> pairs)
    {
        var builder = new StringBuilder();
        foreach (var (key, value) in pairs)
        {
            builder.Append(key).Append('=').Append(value).Append('\0');
        }

        return Encoding.UTF8.GetBytes(builder.ToString());
    }

    /// <summary>Decodes <c>key=value\0</c> pairs; a trailing fragment without NUL is accepted (some targets omit it).</summary>
    public static List<KeyValuePair<string, string>> Decode(ReadOnlySpan<byte> data)
    {
        var result = new List<KeyValuePair<string, string>>();
        var text = Encoding.UTF8.GetString(data);
        foreach (var item in text.Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = item.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new IscsiProtocolException($"Malformed text key '{item}'.");
            }

            result.Add(new(item[..equals], item[(equals + 1)..]));
        }

        return result;
    }
}

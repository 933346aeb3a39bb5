using System.Globalization;

namespace CtlHa.Initiator;

/// <summary>
/// <c>iscsi://host[:port]/target-iqn[/lun]</c> (the shape used by libiscsi and QEMU); port defaults to 3260
/// (RFC 7143 §13.2 well-known port), LUN to 0.
/// </summary>
public sealed record IscsiUrl(string Host, int Port, string TargetName, int Lun)
{
    public const int DefaultPort = 3260;

    public static IscsiUrl Parse(string url)
    {
        if (!TryParse(url, out var parsed))
        {
            throw new FormatException($"'{url}' is not iscsi://host[:port]/target-name[/lun].");
        }

        return parsed!;
    }

    public static bool TryParse(string url, out IscsiUrl? parsed)
    {
        parsed = null;
        const string scheme = "iscsi://";
        if (!url.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var rest = url[scheme.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0)
        {
            return false;
        }

        var authority = rest[..slash];
        var path = rest[(slash + 1)..].TrimEnd('/');
        var port = DefaultPort;
        string host;
        if (authority.StartsWith('['))
        {
            var close = authority.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                return false;
            }

            host = authority[1..close];
            if (close + 1 < authority.Length && !TryPort(authority[(close + 1)..], out port))
            {
                return false;
            }
        }
        else
        {
            var colon = authority.LastIndexOf(':');
            host = colon < 0 ? authority : authority[..colon];
            if (colon >= 0 && !TryPort(authority[colon..], out port))
            {
                return false;
            }
        }

        // The IQN itself contains ':' but never '/', so the last segment is the LUN when numeric.
        var lun = 0;
        var lastSlash = path.LastIndexOf('/');
        var target = path;
        if (lastSlash > 0 && int.TryParse(path[(lastSlash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var parsedLun))
        {
            lun = parsedLun;
            target = path[..lastSlash];
        }

        if (host.Length == 0 || target.Length == 0)
        {
            return false;
        }

        parsed = new IscsiUrl(host, port, target, lun);
        return true;
    }

    public override string ToString() => $"iscsi://{Host}:{Port}/{TargetName}/{Lun}";

    private static bool TryPort(string colonPort, out int port) =>
        int.TryParse(colonPort.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is > 0 and < 65536;
}

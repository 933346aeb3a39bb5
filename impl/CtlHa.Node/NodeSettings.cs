using System.Globalization;
using System.Net;
using CtlHa.Interlink;

namespace CtlHa.Node;

/// <summary>HA mode names as the command line spells them (DESIGN.md "The four HA modes").</summary>
public enum HaModeSetting
{
    Unavailable,
    Standby,
    Shared,
    Proxy,
}

public enum RoleSetting
{
    Primary,
    Secondary,
}

public enum SerSeqSetting
{
    Off,
    Read,
    On,
}

/// <summary>One LUN: a backing file and, when it must be created, its size.</summary>
public sealed record LunSetting(string Path, long? SizeBytes);

/// <summary>
/// Everything `ctlha node` needs, from --config JSON and/or quick flags (flags win).
/// Validation produces one readable error per bad input (<see cref="Validate"/>).
/// </summary>
public sealed class NodeSettings
{
    public const string DefaultTarget = "iqn.2026-11.org.ctlha:disk";

    public string Name { get; set; } = "ctlha";

    public List<IPEndPoint> Portals { get; } = [];

    public string Target { get; set; } = DefaultTarget;

    public List<LunSetting> Luns { get; } = [];

    /// <summary>0 = no HA; 1 or 2 = position in the pair.</summary>
    public int HaId { get; set; }

    public HaModeSetting Mode { get; set; } = HaModeSetting.Unavailable;

    /// <summary>How this node reaches its peer over the interlink (the interlink's own endpoint type and parser).</summary>
    public InterlinkEndpoint? Peer { get; set; }

    public RoleSetting? Role { get; set; }

    public string? PskFile { get; set; }

    /// <summary>Only for lab use: link without authentication (a warning is logged at every link-up).</summary>
    public bool AllowUnauthenticated { get; set; }

    public string Cluster { get; set; } = "ctlha";

    public IPEndPoint? Control { get; set; }

    public SerSeqSetting SerSeq { get; set; } = SerSeqSetting.Read;

    public bool ReadOnly { get; set; }

    /// <summary>iSCSI ImmediateData we allow (AND with the initiator's offer).</summary>
    public bool ImmediateData { get; set; } = true;

    /// <summary>Physical block size of every LUN in bytes (null = the 512-byte logical block).</summary>
    public int? PhysicalBlockSize { get; set; }

    /// <summary>
    /// File I/O on the calling thread (pread/pwrite) rather than a thread-pool hop: faster while the backing file sits in
    /// the page cache (measured with scripts/bench-vs-tgt), but a slow disk then stalls the connection that issued it.
    /// </summary>
    public bool InlineIo { get; set; } = true;

    public string? ChapUser { get; set; }

    public string? ChapSecret { get; set; }

    public string? MutualChapUser { get; set; }

    public string? MutualChapSecret { get; set; }

    /// <summary>Heartbeat silence after which the peer is declared dead.</summary>
    public TimeSpan PeerDeadAfter { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Time the cluster manager needs to promote after a peer loss (with PeerDeadAfter: RTPG implicit transition time).</summary>
    public TimeSpan PromotionTime { get; set; } = TimeSpan.FromSeconds(10);

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Portals.Count == 0)
        {
            errors.Add("no --portal given (e.g. --portal 127.0.0.1:3260)");
        }
        if (Luns.Count == 0)
        {
            errors.Add("no --lun given (e.g. --lun ./lun0.img:256M)");
        }
        if (!IsIqn(Target))
        {
            errors.Add($"--target '{Target}' is not an iqn. or eui. name (RFC 7143 §4.2.7)");
        }
        if (HaId is < 0 or > 2)
        {
            errors.Add($"--ha-id {HaId} is out of range: 0 (no HA), 1 or 2");
        }
        if (HaId == 0 && (Peer is not null || Mode != HaModeSetting.Unavailable))
        {
            errors.Add("--peer and --mode other than unavailable need --ha-id 1 or 2");
        }
        if (Mode == HaModeSetting.Unavailable && Peer is not null)
        {
            errors.Add("--mode unavailable means no interlink: drop --peer or choose standby, shared or proxy");
        }
        if (Mode != HaModeSetting.Unavailable && Peer is null)
        {
            errors.Add($"--mode {Mode.ToString().ToLowerInvariant()} needs --peer listen:ADDR:PORT or connect:ADDR:PORT");
        }
        if (Peer is not null && PskFile is null && !AllowUnauthenticated)
        {
            errors.Add("the interlink needs --psk-file FILE (or, for a lab, --allow-unauthenticated)");
        }
        if (PskFile is not null && !File.Exists(PskFile))
        {
            errors.Add($"--psk-file '{PskFile}' does not exist");
        }
        if ((ChapUser is null) != (ChapSecret is null))
        {
            errors.Add("CHAP needs both a user and a secret");
        }
        if (ChapSecret is { Length: < 12 or > 16 })
        {
            errors.Add("the CHAP secret must be 12 to 16 characters (RFC 7143 §12.1.3, as initiators enforce)");
        }
        if (PhysicalBlockSize is { } pbs && (pbs < 512 || pbs > 512 << 15 || !int.IsPow2(pbs)))
        {
            errors.Add($"--physical-block-size {pbs} must be a power of two from 512 to {512 << 15} bytes (e.g. 4096)");
        }
        for (int i = 0; i < Luns.Count; i++)
        {
            var lun = Luns[i];
            if (lun.SizeBytes is null && !File.Exists(lun.Path))
            {
                errors.Add($"LUN {i}: '{lun.Path}' does not exist and no size was given (PATH:SIZE, e.g. {lun.Path}:256M)");
            }
        }
        return errors;
    }

    private static bool IsIqn(string name) =>
        (name.StartsWith("iqn.", StringComparison.Ordinal) || name.StartsWith("eui.", StringComparison.Ordinal) ||
         name.StartsWith("naa.", StringComparison.Ordinal)) &&
        name.Length <= 223 && !name.Any(char.IsWhiteSpace);

    /// <summary>Parses "ADDR:PORT" ("[::1]:3260" for IPv6).</summary>
    public static IPEndPoint ParseEndPoint(string text, string what)
    {
        if (IPEndPoint.TryParse(text, out var ep) && ep.Port != 0 && text.Contains(':', StringComparison.Ordinal))
        {
            return ep;
        }
        throw new SettingsException($"{what} '{text}' is not ADDR:PORT (e.g. 127.0.0.1:3260)");
    }

    /// <summary>Parses "listen:ADDR:PORT" or "connect:ADDR:PORT" with <see cref="InterlinkEndpoint.Parse"/>; port 0 is refused on both sides.</summary>
    public static InterlinkEndpoint ParsePeer(string text)
    {
        InterlinkEndpoint peer;
        try
        {
            peer = InterlinkEndpoint.Parse(text);
        }
        catch (FormatException e)
        {
            throw new SettingsException($"--{e.Message}");
        }
        return peer.EndPoint.Port != 0 ? peer : throw new SettingsException($"--peer '{text}' has no valid ADDR:PORT (port 0)");
    }

    /// <summary>Parses "PATH[:SIZE]" where SIZE is bytes with an optional K/M/G/T suffix (powers of 1024).</summary>
    public static LunSetting ParseLun(string text)
    {
        int colon = text.LastIndexOf(':');
        if (colon > 0 && colon < text.Length - 1 && TryParseSize(text[(colon + 1)..], out long size))
        {
            return new LunSetting(text[..colon], size);
        }
        if (colon > 0 && colon == text.Length - 1)
        {
            throw new SettingsException($"--lun '{text}' has an empty size");
        }
        if (colon > 0 && !text[..colon].Contains('/', StringComparison.Ordinal) && !File.Exists(text))
        {
            throw new SettingsException($"--lun '{text}': '{text[(colon + 1)..]}' is not a size (e.g. 256M, 1G)");
        }
        return new LunSetting(text, null);
    }

    public static long ParseSize(string text, string what) =>
        TryParseSize(text, out long v) ? v : throw new SettingsException($"{what} '{text}' is not a size (e.g. 512, 64M, 1G)");

    public static bool TryParseSize(string text, out long bytes)
    {
        bytes = 0;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }
        long mult = char.ToUpperInvariant(text[^1]) switch
        {
            'K' => 1L << 10,
            'M' => 1L << 20,
            'G' => 1L << 30,
            'T' => 1L << 40,
            _ => 1,
        };
        string digits = mult == 1 ? text : text[..^1];
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n <= 0 || n > long.MaxValue / mult)
        {
            return false;
        }
        bytes = n * mult;
        return true;
    }
}

/// <summary>A bad setting, reported to the operator as one line, exit code 2.</summary>
public sealed class SettingsException(string message) : Exception(message);

using System.Globalization;
using System.Net;
using CtlHa.Wire;

namespace CtlHa.Interlink;

/// <summary>Which end of the interlink TCP connection this node is, and where (DESIGN.md <c>--peer</c>).</summary>
/// <param name="Side">Listen (accept one peer at a time) or connect (reconnect with back-off).</param>
/// <param name="EndPoint">Address to bind or to connect to.</param>
public sealed record InterlinkEndpoint(InterlinkSide Side, IPEndPoint EndPoint)
{
    /// <summary>Parses <c>listen:ADDR:PORT</c> or <c>connect:ADDR:PORT</c> (IPv4, or [IPv6]:PORT).</summary>
    public static InterlinkEndpoint Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var side = colon < 0 ? string.Empty : text[..colon];
        var address = colon < 0 ? string.Empty : text[(colon + 1)..];
        var parsedSide = side switch
        {
            "listen" => InterlinkSide.Listen,
            "connect" => InterlinkSide.Connect,
            _ => throw new FormatException($"peer '{text}' must be listen:ADDR:PORT or connect:ADDR:PORT"),
        };
        if (!IPEndPoint.TryParse(address, out var endPoint) || endPoint.Port == 0 && parsedSide == InterlinkSide.Connect)
        {
            throw new FormatException($"peer '{text}' has no valid ADDR:PORT");
        }

        return new InterlinkEndpoint(parsedSide, endPoint);
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{(Side == InterlinkSide.Listen ? "listen" : "connect")}:{EndPoint}");
}

/// <summary>The two ends of the link (spec LinkSide without None).</summary>
public enum InterlinkSide
{
    Listen,
    Connect,
}

/// <summary>Configuration of one node's interlink (spec/PROTOCOL.md §4, §5). Validate with <see cref="Validate"/>.</summary>
public sealed class InterlinkOptions
{
    /// <summary>This node's position, 1 or 2 (<c>--ha-id</c>).</summary>
    public byte NodeId { get; set; }

    /// <summary>HA mode (<c>--mode</c>); must equal the peer's.</summary>
    public HaMode Mode { get; set; } = HaMode.Proxy;

    /// <summary>Cluster name; must equal the peer's. 1..64 of [A-Za-z0-9._-].</summary>
    public string ClusterName { get; set; } = "ctlha";

    /// <summary>Max LUNs (CTL default 1024); must equal the peer's.</summary>
    public uint MaxLuns { get; set; } = 1024;

    /// <summary>Max ports (CTL main default 1024); must equal the peer's.</summary>
    public uint MaxPorts { get; set; } = 1024;

    /// <summary>Max initiators per port (CTL 2048); must equal the peer's.</summary>
    public uint MaxInitiatorsPerPort { get; set; } = WireLimits.MaxInitiatorsPerPortLimit;

    /// <summary>Where to listen or connect; null = unconfigured (link Offline).</summary>
    public InterlinkEndpoint? Peer { get; set; }

    /// <summary>Pre-shared key (16..1024 bytes). Null only with <see cref="AllowUnauthenticated"/>.</summary>
    public byte[]? Psk { get; set; }

    /// <summary>Link without a key if the peer has none either; a warning is logged at every link-up.</summary>
    public bool AllowUnauthenticated { get; set; }

    public TimeSpan HeartbeatInterval { get; set; } = InterlinkTiming.DefaultHeartbeatInterval;

    public TimeSpan DeadAfter { get; set; } = InterlinkTiming.DefaultDeadAfter;

    public TimeSpan HandshakeTimeout { get; set; } = InterlinkTiming.DefaultHandshakeTimeout;

    public TimeSpan BackoffInitial { get; set; } = InterlinkTiming.DefaultBackoffInitial;

    public TimeSpan BackoffMax { get; set; } = InterlinkTiming.DefaultBackoffMax;

    /// <summary>Largest frame this node accepts once logged in (announced in Login).</summary>
    public int MaxFrameLength { get; set; } = WireLimits.MaxFrameLength;

    /// <summary>Frames that may wait in the send queue; <see cref="InterlinkLink.SendAsync"/> waits beyond it.</summary>
    public int SendQueueCapacity { get; set; } = 64;

    /// <summary>Socket send and receive buffer size (CTL: 1 MiB).</summary>
    public int SocketBufferSize { get; set; } = 1024 * 1024;

    /// <summary>Shown to the peer in Login, for its logs.</summary>
    public string SoftwareVersion { get; set; } = "ctlha";

    /// <summary>The Login this node announces.</summary>
    public Login ToLogin() =>
        new(WireLimits.ProtocolVersion, Mode, NodeId, ClusterName, MaxLuns, MaxPorts, MaxInitiatorsPerPort, (uint)MaxFrameLength, SoftwareVersion);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (ToLogin().CheckOwnConfiguration() is { } problem)
        {
            throw new ArgumentException("interlink: " + problem);
        }

        if (Psk is null && !AllowUnauthenticated)
        {
            throw new ArgumentException("interlink: a pre-shared key is required (or allow unauthenticated links explicitly)");
        }

        if (Psk is { Length: < InterlinkAuth.MinKeyLength or > InterlinkAuth.MaxKeyLength })
        {
            throw new ArgumentException($"interlink: the pre-shared key must be {InterlinkAuth.MinKeyLength}..{InterlinkAuth.MaxKeyLength} bytes");
        }

        if (HeartbeatInterval <= TimeSpan.Zero || DeadAfter < 2 * HeartbeatInterval)
        {
            throw new ArgumentException("interlink: dead-after must be at least twice the heartbeat interval");
        }

        if (HandshakeTimeout <= TimeSpan.Zero || BackoffInitial <= TimeSpan.Zero || BackoffInitial > TimeSpan.FromSeconds(0.5) || BackoffMax < BackoffInitial)
        {
            throw new ArgumentException("interlink: need handshake timeout > 0 and 0 < first back-off ≤ 0.5 s ≤ … ≤ back-off cap");
        }

        if (SendQueueCapacity < 1)
        {
            throw new ArgumentException("interlink: send queue capacity must be at least 1");
        }
    }
}

namespace CtlHa.Wire;

/// <summary>Default timings of the interlink contract (PROTOCOL.md §5). Nodes may configure others.</summary>
public static class InterlinkTiming
{
    /// <summary>A node sends a Heartbeat at least this often once authenticated.</summary>
    public static readonly TimeSpan DefaultHeartbeatInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>Silence (no frame received, or a send blocked) for this long means the peer is dead (CTL: ~6 s keepalive).</summary>
    public static readonly TimeSpan DefaultDeadAfter = TimeSpan.FromSeconds(1);

    /// <summary>TCP connect → Login accepted must complete within this.</summary>
    public static readonly TimeSpan DefaultHandshakeTimeout = TimeSpan.FromSeconds(5);

    /// <summary>First reconnect delay of the connect side (CTL: fixed 0.5 s).</summary>
    public static readonly TimeSpan DefaultBackoffInitial = TimeSpan.FromMilliseconds(250);

    /// <summary>Reconnect delay cap; the delay doubles per failure up to this, ±20 % jitter.</summary>
    public static readonly TimeSpan DefaultBackoffMax = TimeSpan.FromSeconds(4);
}

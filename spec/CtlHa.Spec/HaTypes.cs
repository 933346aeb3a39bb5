namespace CtlHa.Spec;

/// <summary>
/// The four HA modes an operator chooses (DESIGN.md "The four HA modes"; ctl-ha.md §5.1, §5.6).
/// </summary>
public enum HaMode
{
    /// <summary>CTL with HA id set and no interlink (<c>ha_peer</c> empty): the link is always <see cref="LinkState.Offline"/>.</summary>
    Unavailable,

    /// <summary>CTL <c>ha_mode=0</c> ACT_STBY: a secondary answers discovery and reservations only.</summary>
    Standby,

    /// <summary>CTL <c>ha_mode=1</c> SER_ONLY: both nodes use the shared store, ordered through the primary.</summary>
    Shared,

    /// <summary>CTL <c>ha_mode=2</c> XFER: a secondary proxies every command to the primary.</summary>
    Proxy,
}

/// <summary>The interlink state one node sees (ctl-ha.md §2.2, <c>kern.cam.ctl.ha_link</c>).</summary>
public enum LinkState
{
    /// <summary>No interlink configured (CTL <c>CTL_HA_LINK_OFFLINE</c> = 0).</summary>
    Offline,

    /// <summary>Configured but not (yet) online (CTL <c>CTL_HA_LINK_UNKNOWN</c> = 1).</summary>
    Connecting,

    /// <summary>Connected, authenticated and logged in (CTL <c>CTL_HA_LINK_ONLINE</c> = 2).</summary>
    Online,
}

/// <summary>The role of one node for one LUN (CTL <c>CTL_LUN_PRIMARY_SC</c>).</summary>
public enum HaRole
{
    Primary,
    Secondary,
}

/// <summary>SPC-5 6.37 asymmetric access state codes, as RTPG reports them (ctl-ha.md §5.5).</summary>
public enum AccessState : byte
{
    ActiveOptimized = 0,
    ActiveNonOptimized = 1,
    Standby = 2,
    Unavailable = 3,
    Transitioning = 0xF,
}

/// <summary>
/// What one node knows about one LUN: its own role, whether the peer has announced itself primary
/// (CTL <c>CTL_LUN_PEER_SC_PRIMARY</c>), the link state, and the (cluster-wide) mode.
/// </summary>
/// <remarks>
/// A view is consistent when <see cref="PeerPrimary"/> implies <see cref="Link"/> = Online (CTL clears
/// PEER_SC_PRIMARY at link down, §7.1) and mode <see cref="HaMode.Unavailable"/> implies Link = Offline
/// (no interlink exists in that mode, §5.6). The tables reject inconsistent views with
/// <see cref="ArgumentException"/>: they cannot arise, so meeting one is a caller bug.
/// </remarks>
public sealed record LunHaView(int NodeId, HaRole LocalRole, bool PeerPrimary, LinkState Link, HaMode Mode)
{
    /// <summary>True when the view can arise (see the remarks on the type).</summary>
    public bool IsConsistent =>
        NodeId is 1 or 2
        && (!PeerPrimary || Link == LinkState.Online)
        && (Mode != HaMode.Unavailable || Link == LinkState.Offline);

    /// <summary>The other node's id (1 ↔ 2).</summary>
    public int PeerNodeId => 3 - NodeId;

    /// <summary>Both nodes primary for this LUN while the link is up (CTL: undetected split brain, §12.2 item 12).</summary>
    public bool IsSplitBrain => LocalRole == HaRole.Primary && PeerPrimary;

    /// <summary>
    /// Whether this node has the backing store open for the LUN (§5.1, requirement 17): the primary always;
    /// a secondary only in shared mode, where both nodes keep it open.
    /// </summary>
    public bool HasBackingStore => LocalRole == HaRole.Primary || Mode == HaMode.Shared;

    internal void EnsureConsistent()
    {
        if (!IsConsistent)
        {
            throw new ArgumentException(
                $"Inconsistent LUN HA view {this}: node id must be 1 or 2, PeerPrimary needs an online link, "
                + "and mode Unavailable has no link.");
        }
    }
}

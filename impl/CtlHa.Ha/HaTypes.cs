using CtlHa.Core;

namespace CtlHa.Ha;

/// <summary>The four HA modes (DESIGN.md; ctl-ha.md §5.1, §5.6). Names match spec <c>CtlHa.Spec.HaMode</c>.</summary>
public enum HaMode
{
    /// <summary>No interlink: the secondary's group is Unavailable, media commands get 02/04/0C.</summary>
    Unavailable,

    /// <summary>CTL ACT_STBY: a secondary answers discovery and reservations only (02/04/0B otherwise).</summary>
    Standby,

    /// <summary>CTL SER_ONLY: the secondary orders each command through the primary and executes it itself.</summary>
    Shared,

    /// <summary>CTL XFER: the secondary forwards every command; the primary executes it and moves the data over the link.</summary>
    Proxy,
}

/// <summary>The role of this node for one LUN (CTL <c>CTL_LUN_PRIMARY_SC</c>). Names match spec <c>HaRole</c>.</summary>
public enum HaRole
{
    Primary,
    Secondary,
}

/// <summary>The link as the ALUA tables see it (ctl-ha.md §2.2). Names match spec <c>LinkState</c>.</summary>
public enum HaLinkState
{
    /// <summary>No interlink configured (mode unavailable).</summary>
    Offline,

    /// <summary>Configured, not Online.</summary>
    Connecting,

    /// <summary>Authenticated and logged in.</summary>
    Online,
}

/// <summary>What this node knows about one LUN (spec <c>LunHaView</c>).</summary>
public sealed record HaLunView(int NodeId, HaRole LocalRole, bool PeerPrimary, HaLinkState Link, HaMode Mode)
{
    public int PeerNodeId => 3 - NodeId;
}

/// <summary>The result of a role change request.</summary>
/// <param name="Changed">LUNs whose role changed.</param>
/// <param name="Refused">LUNs left alone, with the reason (two primaries while linked).</param>
public sealed record HaRoleResult(IReadOnlyList<int> Changed, IReadOnlyList<(int Lun, string Reason)> Refused)
{
    public bool Succeeded => Refused.Count == 0;
}

/// <summary>One target port group as <c>ctlha status</c> shows it.</summary>
public sealed record HaGroupStatus(ushort GroupId, AluaState State, IReadOnlyList<ushort> RelativeTargetPortIds);

/// <summary>One LUN as <c>ctlha status</c> shows it.</summary>
public sealed record HaLunStatus(int Lun, HaRole Role, bool PeerPrimary, bool? PeerRolePrimary, IReadOnlyList<HaGroupStatus> Groups, string? Conflict);

/// <summary>A snapshot of the HA layer for <c>ctlha status</c> and the control API.</summary>
public sealed record HaStatus(
    int NodeId,
    HaMode Mode,
    HaLinkState Link,
    string LinkPhase,
    string? LastRejection,
    int? PeerNodeId,
    IReadOnlyList<HaLunStatus> Luns,
    long ForwardedCommands,
    long PeerCommandsExecuted);

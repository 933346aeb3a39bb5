namespace CtlHa.Spec;

/// <summary>
/// ctl-ha.md §5.5: the asymmetric access states REPORT TARGET PORT GROUPS reports, computed from the
/// answering node's <see cref="LunHaView"/>. Group ids are absolute: TPG 2 holds node 1's ports and
/// TPG 3 node 2's (TPG 1 is the optional shared group, which takes the answering node's own state).
/// </summary>
/// <remarks>
/// One deliberate difference from CTL: when both nodes are primary while the link is up (split brain,
/// which CTL neither detects nor prevents, §12.2 item 12), CTL reports the peer's group as
/// Standby/Non-optimized on each node, so the two nodes contradict each other. CtlHa reports both groups
/// Active/Optimized on both nodes: the truth, and the same answer down every path.
/// </remarks>
public static class AluaTable
{
    /// <summary>TPG 1: the shared group (ports with <c>ha_shared</c>; §5.5).</summary>
    public const ushort SharedGroupId = 1;

    /// <summary>State of the answering node's own group ("ts" in §5.5).</summary>
    public static AccessState OwnGroupState(LunHaView v)
    {
        ArgumentNullException.ThrowIfNull(v);
        v.EnsureConsistent();
        if (v.LocalRole == HaRole.Primary)
        {
            return AccessState.ActiveOptimized;
        }

        if (v.PeerPrimary)
        {
            // §5.5 rows "peer primary": Standby in ACT_STBY, Non-optimized in SER_ONLY / XFER.
            return v.Mode == HaMode.Standby ? AccessState.Standby : AccessState.ActiveNonOptimized;
        }

        // §5.5 rows "neither known primary".
        return v.Link == LinkState.Offline ? AccessState.Unavailable : AccessState.Transitioning;
    }

    /// <summary>State of the other node's group ("os" in §5.5).</summary>
    public static AccessState PeerGroupState(LunHaView v)
    {
        ArgumentNullException.ThrowIfNull(v);
        v.EnsureConsistent();
        if (v.LocalRole == HaRole.Primary)
        {
            if (v.PeerPrimary)
            {
                // Split brain: see the type remarks (CtlHa differs from CTL here on purpose).
                return AccessState.ActiveOptimized;
            }

            return v.Link switch
            {
                LinkState.Online => v.Mode == HaMode.Standby ? AccessState.Standby : AccessState.ActiveNonOptimized,
                LinkState.Connecting => AccessState.Transitioning,
                _ => AccessState.Unavailable,
            };
        }

        if (v.PeerPrimary)
        {
            return AccessState.ActiveOptimized;
        }

        // Neither known primary: with the link up both sides know nobody is primary (Transitioning);
        // with the link down the peer might be primary, so its group is reported AO.
        return v.Link == LinkState.Online ? AccessState.Transitioning : AccessState.ActiveOptimized;
    }

    /// <summary>The node groups TPG 2 and TPG 3 with their states, ordered by group id (§5.5, requirement 25).</summary>
    public static IReadOnlyList<(ushort GroupId, AccessState State)> Groups(LunHaView v) => Groups(v, sharedGroupPresent: false);

    /// <summary>
    /// As <see cref="Groups(LunHaView)"/>, plus TPG 1 (state = the answering node's own state) when an online
    /// port mapping the LUN has <c>ha_shared</c> set (§5.5).
    /// </summary>
    public static IReadOnlyList<(ushort GroupId, AccessState State)> Groups(LunHaView v, bool sharedGroupPresent)
    {
        ArgumentNullException.ThrowIfNull(v);
        var own = OwnGroupState(v);
        var peer = PeerGroupState(v);
        var list = new List<(ushort, AccessState)>(3);
        if (sharedGroupPresent)
        {
            list.Add((SharedGroupId, own));
        }

        var node1 = v.NodeId == 1 ? own : peer;
        var node2 = v.NodeId == 2 ? own : peer;
        list.Add((GroupIdOfNode(1), node1));
        list.Add((GroupIdOfNode(2), node2));
        return list;
    }

    /// <summary>TPG id of a node's (non-shared) ports: 2 for node 1, 3 for node 2 (§5.5; VPD 0x83 type 5h, §15 req 28).</summary>
    /// <summary>
    /// RTPG extended header IMPLICIT TRANSITION TIME (SPC-5 §6.37) of an HA node: after a peer loss the secondary's group
    /// is Transitioning until the peer is declared dead and the survivor promoted, so an initiator should allow the
    /// dead-peer interval plus the promotion time, rounded up to whole seconds, within 1..255. (CTL reports 0, as if
    /// transitions were instant.) A single-group target, which never transitions, reports 0.
    /// </summary>
    public static byte ImplicitTransitionTimeSeconds(TimeSpan deadPeerAfter, TimeSpan promotionTime) =>
        (byte)Math.Clamp(Math.Ceiling((deadPeerAfter + promotionTime).TotalSeconds), 1, 255);

    public static ushort GroupIdOfNode(int nodeId) => nodeId switch
    {
        1 => 2,
        2 => 3,
        _ => throw new ArgumentOutOfRangeException(nameof(nodeId), nodeId, "HA node ids are 1 and 2."),
    };

    /// <summary>
    /// Standard INQUIRY peripheral qualifier (§5.5, requirement 23): 001b ("not connected") only when the LUN
    /// is not primary here and there is no interlink; otherwise 000b.
    /// </summary>
    public static byte PeripheralQualifier(LunHaView v)
    {
        ArgumentNullException.ThrowIfNull(v);
        v.EnsureConsistent();
        return v.LocalRole != HaRole.Primary && v.Link == LinkState.Offline ? (byte)1 : (byte)0;
    }

    /// <summary>
    /// REQUEST SENSE (always local) returns 05/25/00 LOGICAL UNIT NOT SUPPORTED as data, with GOOD status,
    /// on a LUN not primary here while there is no interlink (§5.5, requirement 29).
    /// </summary>
    public static bool RequestSenseReportsLunNotSupported(LunHaView v) => PeripheralQualifier(v) == 1;

    /// <summary>
    /// Whether this node can execute media commands for the LUN itself: exactly when its own group is
    /// Active/Optimized (the primary; §5.1, §5.2).
    /// </summary>
    public static bool ServesMedia(LunHaView v) => OwnGroupState(v) == AccessState.ActiveOptimized;
}

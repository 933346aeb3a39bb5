namespace CtlHa.Spec;

/// <summary>
/// What must hold between the two nodes' views of one LUN. Conformance reads both nodes' status (or RTPG
/// down both paths) and checks these; the spec's own properties check them over every reachable pair.
/// </summary>
public static class PairInvariants
{
    /// <summary>
    /// Whether RTPG must give the same answer down both nodes' paths: when the link is up on both (role
    /// knowledge is synced), or equally down on both with exactly one primary. With the link down and no
    /// primary (or two), each node only knows itself and the §5.5 answers legitimately differ.
    /// </summary>
    public static bool RtpgMustAgree(LunHaView node1, LunHaView node2)
    {
        ArgumentNullException.ThrowIfNull(node1);
        ArgumentNullException.ThrowIfNull(node2);
        var exactlyOnePrimary = (node1.LocalRole == HaRole.Primary) != (node2.LocalRole == HaRole.Primary);
        return (node1.Link == LinkState.Online && node2.Link == LinkState.Online)
            || (node1.Link == node2.Link && exactlyOnePrimary);
    }

    /// <summary>
    /// The violated invariants of a pair of settled views (no LUN_SYNC in flight), as readable lines; empty
    /// when the pair is fine. Checks: ids 1 and 2, consistent views, the same mode, the link Online on both
    /// or on neither, synced PeerPrimary knowledge while Online, and equal RTPG answers where they must agree.
    /// </summary>
    public static IReadOnlyList<string> Violations(LunHaView node1, LunHaView node2)
    {
        ArgumentNullException.ThrowIfNull(node1);
        ArgumentNullException.ThrowIfNull(node2);
        var problems = new List<string>();
        if (node1.NodeId != 1 || node2.NodeId != 2)
        {
            problems.Add($"node ids are {node1.NodeId} and {node2.NodeId}, expected 1 and 2");
        }

        if (!node1.IsConsistent || !node2.IsConsistent)
        {
            problems.Add($"inconsistent view: {(node1.IsConsistent ? node2 : node1)}");
            return problems;
        }

        if (node1.Mode != node2.Mode)
        {
            problems.Add($"modes differ: {node1.Mode} vs {node2.Mode}");
        }

        if ((node1.Link == LinkState.Online) != (node2.Link == LinkState.Online))
        {
            problems.Add($"link Online on one node only: {node1.Link} vs {node2.Link}");
        }

        if (node1.Link == LinkState.Online && node2.Link == LinkState.Online)
        {
            if (node1.PeerPrimary != (node2.LocalRole == HaRole.Primary))
            {
                problems.Add($"node 1 believes peer primary = {node1.PeerPrimary}, node 2 is {node2.LocalRole}");
            }

            if (node2.PeerPrimary != (node1.LocalRole == HaRole.Primary))
            {
                problems.Add($"node 2 believes peer primary = {node2.PeerPrimary}, node 1 is {node1.LocalRole}");
            }
        }

        if (problems.Count == 0 && RtpgMustAgree(node1, node2))
        {
            var g1 = AluaTable.Groups(node1);
            var g2 = AluaTable.Groups(node2);
            if (!g1.SequenceEqual(g2))
            {
                problems.Add($"RTPG differs by path: node 1 [{string.Join(", ", g1)}], node 2 [{string.Join(", ", g2)}]");
            }
        }

        return problems;
    }

    /// <summary>
    /// The <see cref="LunRoleSpec"/> triggers a node fires for each LUN when its link state changes
    /// (the bridge from <see cref="LinkLifecycleSpec.LinkState"/> edges to the LUN machines).
    /// </summary>
    public static IReadOnlyList<LunRoleTrigger> LunTriggersForLinkChange(LinkState before, LinkState after) => (before, after) switch
    {
        _ when before == after => [],
        (LinkState.Offline, LinkState.Connecting) => [LunRoleTrigger.Configure],
        (LinkState.Offline, LinkState.Online) => [LunRoleTrigger.Configure, LunRoleTrigger.LinkUp],
        (LinkState.Connecting, LinkState.Online) => [LunRoleTrigger.LinkUp],
        (LinkState.Online, LinkState.Connecting) => [LunRoleTrigger.LinkDown],
        (_, LinkState.Offline) => [LunRoleTrigger.Unconfigure],
        _ => throw new ArgumentOutOfRangeException(nameof(after), $"{before} → {after}"),
    };
}

namespace CtlHa.Spec;

/// <summary>
/// What each node sends in its interlink Login (DESIGN.md "Interlink essentials"; CTL LOGIN, ctl-ha.md §3.2,
/// §4.2, plus the cluster name CtlHa adds).
/// </summary>
public sealed record LoginParameters(
    int ProtocolVersion,
    HaMode Mode,
    int NodeId,
    string Cluster,
    int MaxLuns,
    int MaxPorts,
    int MaxInitiatorsPerPort);

/// <summary>
/// "Compatible iff": the pure Login comparison both nodes run (ctl-ha.md §4.2, requirement 8, extended with
/// the cluster name and a node-id range check CTL lacks). It is symmetric: Compare(a, b) == Compare(b, a).
/// </summary>
public static class LoginValidation
{
    /// <summary>The mismatch triggers, in the order <see cref="Compare"/> checks them.</summary>
    public static IReadOnlyList<LinkTrigger> MismatchOrder { get; } =
    [
        LinkTrigger.VersionMismatch,
        LinkTrigger.ModeMismatch,
        LinkTrigger.SameNodeId,
        LinkTrigger.InvalidNodeId,
        LinkTrigger.ClusterMismatch,
        LinkTrigger.MaxLunsMismatch,
        LinkTrigger.MaxPortsMismatch,
        LinkTrigger.MaxInitiatorsMismatch,
    ];

    /// <summary>
    /// <see cref="LinkTrigger.LoginMatched"/> when the two sides may link, else the first mismatch in the order
    /// version, mode, equal node ids, a node id outside {1, 2} (either side), cluster (ordinal), max LUNs,
    /// max ports, max initiators per port.
    /// </summary>
    public static LinkTrigger Compare(LoginParameters local, LoginParameters peer)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(peer);
        if (local.ProtocolVersion != peer.ProtocolVersion)
        {
            return LinkTrigger.VersionMismatch;
        }

        if (local.Mode != peer.Mode)
        {
            return LinkTrigger.ModeMismatch;
        }

        if (local.NodeId == peer.NodeId)
        {
            return LinkTrigger.SameNodeId;
        }

        if (local.NodeId is not (1 or 2) || peer.NodeId is not (1 or 2))
        {
            return LinkTrigger.InvalidNodeId;
        }

        if (!string.Equals(local.Cluster, peer.Cluster, StringComparison.Ordinal))
        {
            return LinkTrigger.ClusterMismatch;
        }

        if (local.MaxLuns != peer.MaxLuns)
        {
            return LinkTrigger.MaxLunsMismatch;
        }

        if (local.MaxPorts != peer.MaxPorts)
        {
            return LinkTrigger.MaxPortsMismatch;
        }

        return local.MaxInitiatorsPerPort != peer.MaxInitiatorsPerPort
            ? LinkTrigger.MaxInitiatorsMismatch
            : LinkTrigger.LoginMatched;
    }

    /// <summary>True for the eight Login mismatch triggers.</summary>
    public static bool IsMismatch(LinkTrigger trigger) => MismatchOrder.Contains(trigger);

    /// <summary>The Login field a mismatch is about (for logs and <c>ctlha status</c>).</summary>
    public static string FieldName(LinkTrigger mismatch) => mismatch switch
    {
        LinkTrigger.VersionMismatch => "protocol version",
        LinkTrigger.ModeMismatch => "HA mode",
        LinkTrigger.SameNodeId or LinkTrigger.InvalidNodeId => "node id",
        LinkTrigger.ClusterMismatch => "cluster",
        LinkTrigger.MaxLunsMismatch => "max LUNs",
        LinkTrigger.MaxPortsMismatch => "max ports",
        LinkTrigger.MaxInitiatorsMismatch => "max initiators per port",
        _ => throw new ArgumentOutOfRangeException(nameof(mismatch), mismatch, "Not a Login mismatch."),
    };

    /// <summary>
    /// A one-line reason naming the field and both values, as both sides must log and report it
    /// (DESIGN.md: "which field and both values"), e.g. <c>HA mode differs: local Proxy, peer Standby</c>.
    /// </summary>
    public static string Describe(LinkTrigger mismatch, LoginParameters local, LoginParameters peer)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(peer);
        return mismatch switch
        {
            LinkTrigger.VersionMismatch => $"protocol version differs: local {local.ProtocolVersion}, peer {peer.ProtocolVersion}",
            LinkTrigger.ModeMismatch => $"HA mode differs: local {local.Mode}, peer {peer.Mode}",
            LinkTrigger.SameNodeId => $"node id is the same on both sides: local {local.NodeId}, peer {peer.NodeId}",
            LinkTrigger.InvalidNodeId => $"node id must be 1 or 2: local {local.NodeId}, peer {peer.NodeId}",
            LinkTrigger.ClusterMismatch => $"cluster differs: local '{local.Cluster}', peer '{peer.Cluster}'",
            LinkTrigger.MaxLunsMismatch => $"max LUNs differs: local {local.MaxLuns}, peer {peer.MaxLuns}",
            LinkTrigger.MaxPortsMismatch => $"max ports differs: local {local.MaxPorts}, peer {peer.MaxPorts}",
            LinkTrigger.MaxInitiatorsMismatch => $"max initiators per port differs: local {local.MaxInitiatorsPerPort}, peer {peer.MaxInitiatorsPerPort}",
            _ => throw new ArgumentOutOfRangeException(nameof(mismatch), mismatch, "Not a Login mismatch."),
        };
    }
}

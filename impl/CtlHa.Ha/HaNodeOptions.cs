using CtlHa.Interlink;

namespace CtlHa.Ha;

/// <summary>Configuration of one HA node (the <c>ctlha node</c> flags).</summary>
public sealed class HaNodeOptions
{
    /// <summary>1 or 2 (<c>--ha-id</c>).</summary>
    public byte NodeId { get; init; } = 1;

    /// <summary><c>--mode</c>; must equal the peer's (Login).</summary>
    public HaMode Mode { get; init; } = HaMode.Proxy;

    /// <summary>Role of every LUN without an entry in <see cref="LunRoles"/> (<c>--role</c>; CTL default: secondary).</summary>
    public HaRole DefaultRole { get; init; } = HaRole.Secondary;

    /// <summary>Per-LUN role overrides (CTL LUN option <c>ha_role</c>).</summary>
    public IReadOnlyDictionary<int, HaRole>? LunRoles { get; init; }

    /// <summary>
    /// The interlink. Null means no peer: the node then runs in mode <see cref="HaMode.Unavailable"/> whatever
    /// <see cref="Mode"/> says (ctl-ha.md §5.6). Its NodeId and Mode are set from this object.
    /// </summary>
    public InterlinkOptions? Interlink { get; init; }

    /// <summary>
    /// Relative target port ids of this node's iSCSI ports (ITNexus.RelativeTargetPortId of its sessions). Null =
    /// the single port <see cref="HaPorts.FirstRelativePort"/>(NodeId): 1 on node 1, 257 on node 2.
    /// </summary>
    public IReadOnlyList<ushort>? LocalPorts { get; init; }

    /// <summary>The iSCSI target name this node serves (sent in PortSync).</summary>
    public string TargetName { get; init; } = "iqn.2026-01.org.ctlha:target";

    /// <summary>
    /// How long the cluster manager (or operator) takes to promote the survivor after the peer is declared dead. With
    /// the dead-peer interval it makes the RTPG implicit transition time: what a secondary in Transitioning asks
    /// initiators to wait before they give up on the path.
    /// </summary>
    public TimeSpan PromotionTime { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a forwarded command waits for the primary before BUSY (never in normal operation).</summary>
    public TimeSpan ForwardTimeout { get; init; } = TimeSpan.FromSeconds(60);

    internal void Validate()
    {
        if (NodeId is not (1 or 2))
        {
            throw new ArgumentException("HA node id must be 1 or 2.");
        }
        foreach (var port in LocalPorts ?? [])
        {
            if (HaPorts.NodeOfRelativePort(port) != NodeId)
            {
                throw new ArgumentException($"Relative target port {port} belongs to node {HaPorts.NodeOfRelativePort(port)}, not {NodeId}.");
            }
        }
    }
}

/// <summary>
/// Relative target port id ranges (impl/README.md): node 1 uses 1..256, node 2 uses 257..512. Never 0 (CTL reports
/// port 0 as relative port 0, ctl-ha.md §12.2 item 11) and never colliding between the nodes.
/// </summary>
public static class HaPorts
{
    public const int PortsPerNode = 256;

    public static ushort FirstRelativePort(int nodeId) => (ushort)(((nodeId - 1) * PortsPerNode) + 1);

    /// <summary>The node owning a relative target port id (0 for an id outside both ranges).</summary>
    public static int NodeOfRelativePort(ushort relativeTargetPortId) => relativeTargetPortId switch
    {
        >= 1 and <= PortsPerNode => 1,
        > PortsPerNode and <= 2 * PortsPerNode => 2,
        _ => 0,
    };

    /// <summary>TPG of a node's ports: 2 for node 1, 3 for node 2 (ctl-ha.md §5.5).</summary>
    public static ushort GroupIdOfNode(int nodeId) => (ushort)(nodeId + 1);
}

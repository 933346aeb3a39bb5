using CtlHa.Core;
using CtlHa.Scsi;
using CtlHa.Scsi.Alua;
using CtlHa.Scsi.Commands;

namespace CtlHa.Ha;

/// <summary>
/// The engine's ALUA hook on an HA node (ctl-ha.md §5.5): TPG 2 = node 1's ports, TPG 3 = node 2's ports, states from
/// <see cref="HaAlua"/>, supported states 0x8F and status 02h, identical whichever node answers.
/// </summary>
internal sealed class HaAluaProvider : IAluaProvider
{
    private HaNode? _node;

    internal void Attach(HaNode node) => _node = node;

    private HaNode Node => _node ?? throw new InvalidOperationException("The ALUA provider is not attached to an HA node.");

    public IReadOnlyList<TargetPortGroup> GetTargetPortGroups(LogicalUnit lun, ITNexus nexus)
    {
        var node = Node;
        var (node1, node2) = HaAlua.NodeGroupStates(node.ViewOf(lun.LunId));
        return
        [
            new TargetPortGroup(HaPorts.GroupIdOfNode(1), node1, node.PortsOfNode(1)),
            new TargetPortGroup(HaPorts.GroupIdOfNode(2), node2, node.PortsOfNode(2)),
        ];
    }

    public ushort GetTargetPortGroupId(LogicalUnit lun, ITNexus nexus)
    {
        int owner = HaPorts.NodeOfRelativePort(nexus.RelativeTargetPortId);
        return HaPorts.GroupIdOfNode(owner == 0 ? Node.NodeId : owner);
    }

    public bool IsConnected(LogicalUnit lun) => HaAlua.IsConnected(Node.ViewOf(lun.LunId));

    /// <summary>Dead-peer detection plus promotion, rounded up to whole seconds (1..255).</summary>
    public byte ImplicitTransitionTimeSeconds => Node.ImplicitTransitionTimeSeconds;

    public ScsiOutcome? CheckAccess(CommandContext ctx, CommandDescriptor command)
    {
        var view = Node.ViewOf(ctx.LogicalUnit.LunId);
        var (action, sense) = HaAlua.Evaluate(view, command.Flags);
        switch (action)
        {
            case HaGateAction.Reject:
                return ctx.Check(sense!.Value);
            case HaGateAction.ForwardToPrimary when view.Mode == HaMode.Proxy:
                // Only reached when the role changed between the HA layer's decision and the engine: this node has no
                // backing store in proxy mode, so let the initiator retry (it will be forwarded then).
                return new ScsiOutcome(ScsiStatus.Busy);
            default:
                return null;
        }
    }
}

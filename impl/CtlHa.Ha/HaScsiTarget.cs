using CtlHa.Core;
using CtlHa.Scsi.Commands;

namespace CtlHa.Ha;

/// <summary>
/// The HA pipeline in front of the local engine (impl/README.md "HA layer plan"; ctl-ha.md §5.2, §5.3, §9):
/// REPORT LUNS and REQUEST SENSE run here; a pending UA of the local nexus is reported here; then the ALUA gate; then
/// execute here (primary, or the peer is not primary) or forward to the primary.
/// </summary>
public sealed class HaScsiTarget : IScsiTarget
{
    private readonly HaNode _node;

    internal HaScsiTarget(HaNode node) => _node = node;

    public void NexusCreated(ITNexus nexus)
    {
        ArgumentNullException.ThrowIfNull(nexus);
        _node.Engine.NexusCreated(nexus);
        if (_node.IsLinked)
        {
            _ = _node.AnnounceInitiatorAsync(nexus, CancellationToken.None).AsTask();
        }
    }

    public void NexusLost(ITNexus nexus)
    {
        ArgumentNullException.ThrowIfNull(nexus);
        _node.Engine.NexusLost(nexus);
        _ = _node.ReplicateTaskManagementAsync(new TaskManagementRequest(nexus, TaskManagementFunction.ITNexusReset, 0, 0), CancellationToken.None).AsTask();
    }

    public async ValueTask<ScsiOutcome> ExecuteAsync(ScsiTask task, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(task);
        var engine = _node.Engine;
        int lunId = LunAddress.Decode(task.Lun);
        var lun = engine.FindLogicalUnit(lunId);
        var command = lun is null ? null : engine.Commands.Lookup(task.Cdb.Span);
        if (lun is null || command is null)
        {
            return await engine.ExecuteAsync(task, cancellationToken).ConfigureAwait(false);
        }
        var view = _node.ViewOf(lunId);
        if (command.Opcode == 0x03 && !HaAlua.IsConnected(view) && task.Cdb.Length >= 6)
        {
            // §5.5 / requirement 29: REQUEST SENSE on a LUN this node cannot reach returns 05/25/00 as data, GOOD.
            var cdb = task.Cdb.Span;
            byte[] data = HaAlua.LunNotSupportedSense.ToArray((cdb[1] & 0x01) != 0);
            int length = Math.Min(data.Length, cdb[4]);
            if (length > 0)
            {
                await task.Channel.SendDataInAsync(data.AsMemory(0, length), 0, true, cancellationToken).ConfigureAwait(false);
            }
            return ScsiOutcome.Good;
        }
        if ((command.Flags & CommandFlags.RunHere) != 0 || view.LocalRole == HaRole.Primary || !view.PeerPrimary)
        {
            // UA, then the gate (the engine's ALUA hook), then execution, all here.
            var outcome = await engine.ExecuteAsync(task, cancellationToken).ConfigureAwait(false);
            await _node.AfterExecutionAsync(task, lunId, outcome, CancellationToken.None).ConfigureAwait(false);
            return outcome;
        }
        if (engine.CheckBeforeForwarding(task) is { } early)
        {
            return early;
        }
        var (action, sense) = HaAlua.Evaluate(view, command.Flags);
        switch (action)
        {
            case HaGateAction.Reject:
                return ScsiOutcome.Check(sense!.Value, lun.Mode.DescriptorSense);
            case HaGateAction.ExecuteLocally:
                return await engine.ExecuteWithoutUnitAttentionAsync(task, cancellationToken).ConfigureAwait(false);
            default:
                return await _node.ForwardAsync(task, lunId, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask<TaskManagementResponse> TaskManagementAsync(TaskManagementRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var response = await _node.Engine.TaskManagementAsync(request, cancellationToken).ConfigureAwait(false);
        await _node.ReplicateTaskManagementAsync(request, cancellationToken).ConfigureAwait(false);
        return response;
    }
}

using CtlHa.Core;
using CtlHa.Scsi.Commands;

namespace CtlHa.Scsi;

public sealed partial class ScsiEngine
{
    /// <summary>SAM-5 §7 task management (CTL <c>ctl_run_task</c>).</summary>
    public ValueTask<TaskManagementResponse> TaskManagementAsync(TaskManagementRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var nexus = request.Nexus;
        int slot = GetNexus(nexus).Slot;
        int lunId = LunAddress.Decode(request.Lun);
        var lun = FindLogicalUnit(lunId);
        TaskManagementResponse response;
        switch (request.Function)
        {
            case TaskManagementFunction.TargetWarmReset:
            case TaskManagementFunction.TargetColdReset:
                foreach (var l in _luns)
                {
                    ResetLogicalUnit(l, nexus, UnitAttention.TargetReset);
                }
                response = TaskManagementResponse.FunctionComplete;
                break;
            case TaskManagementFunction.ITNexusReset:
                ResetNexus(nexus, slot);
                response = TaskManagementResponse.FunctionComplete;
                break;
            default:
                if (lun is null)
                {
                    response = TaskManagementResponse.LunDoesNotExist;
                    break;
                }
                response = LunTaskManagement(lun, request);
                break;
        }
        Log.TaskManagement(_logger, request.Function, lunId, nexus, response);
        return ValueTask.FromResult(response);
    }

    private static TaskManagementResponse LunTaskManagement(LogicalUnit lun, TaskManagementRequest request)
    {
        var nexus = request.Nexus;
        switch (request.Function)
        {
            case TaskManagementFunction.AbortTask:
                // RFC 7143 §11.5.1: a task that is not (or no longer) there still gets FUNCTION COMPLETE.
                lun.AbortTasks(n => n.Id == nexus.Id, nexus, request.ReferencedTag);
                return TaskManagementResponse.FunctionComplete;
            case TaskManagementFunction.AbortTaskSet:
                lun.AbortTasks(n => n.Id == nexus.Id, nexus);
                return TaskManagementResponse.FunctionComplete;
            case TaskManagementFunction.ClearTaskSet:
                lun.AbortTasks(static _ => true, nexus);
                return TaskManagementResponse.FunctionComplete;
            case TaskManagementFunction.LogicalUnitReset:
                ResetLogicalUnit(lun, nexus, UnitAttention.LunReset);
                return TaskManagementResponse.FunctionComplete;
            case TaskManagementFunction.QueryTask:
                return lun.FindTasks(c => c.Nexus.Id == nexus.Id && c.Task.Tag == request.ReferencedTag && !c.IsAborted).Count > 0
                    ? TaskManagementResponse.FunctionSucceeded
                    : TaskManagementResponse.FunctionComplete;
            case TaskManagementFunction.QueryTaskSet:
                return lun.FindTasks(c => c.Nexus.Id == nexus.Id && !c.IsAborted).Count > 0
                    ? TaskManagementResponse.FunctionSucceeded
                    : TaskManagementResponse.FunctionComplete;
            case TaskManagementFunction.QueryAsynchronousEvent:
                return lun.PendingUnitAttentions(nexus) != UnitAttention.None
                    ? TaskManagementResponse.FunctionSucceeded
                    : TaskManagementResponse.FunctionComplete;
            case TaskManagementFunction.ClearAca:
            case TaskManagementFunction.TaskReassign:
            default:
                return TaskManagementResponse.NotSupported;
        }
    }

    /// <summary>
    /// CTL <c>ctl_do_lun_reset</c>: abort every task, release SCSI-2 reservations, and set the reset UA for every
    /// I_T nexus, the requester's included (SAM-5 §6.3.2: the reset is a unit attention condition for all I_T nexuses;
    /// CTL <c>ctl_est_ua_all(lun, -1, …)</c>; libiscsi MultipathIO.Reset checks every path).
    /// </summary>
    private static void ResetLogicalUnit(LogicalUnit lun, ITNexus requester, UnitAttention ua)
    {
        lun.AbortTasks(static _ => true, requester);
        lun.Reservations?.OnLogicalUnitReset();
        lun.EstablishUnitAttentionForAll(ua);
    }
}

using CtlHa.Core;
using CtlHa.Iscsi.Negotiation;
using CtlHa.Iscsi.Pdus;

namespace CtlHa.Iscsi;

internal sealed partial class IscsiConnection
{
    /// <summary>
    /// RFC 7143 §11.5: map the function to <see cref="IScsiTarget.TaskManagementAsync"/>, and answer only after every task it
    /// affects on this connection has finished (§4.2.3.3, §11.5.1: no response or data of an aborted task may follow).
    /// </summary>
    private void HandleTaskManagement(in IscsiFrame frame)
    {
        TaskManagementRequestPdu pdu = TaskManagementRequestPdu.Parse(frame.Header);
        IscsiSession session = Session!;
        if (session.Type != SessionType.Normal)
        {
            throw new IscsiProtocolException(RejectReason.ProtocolError, "Task Management in a discovery session", frame.HeaderCopy, fatal: false);
        }
        if (!AcceptCmdSN(frame, pdu.CmdSN, occupiesSlot: false))
        {
            return;
        }

        IscsiCommand[] affected;
        TaskManagementResponse? immediate = null;
        switch (pdu.Function)
        {
            case (byte)TaskManagementFunction.AbortTask:
            case (byte)TaskManagementFunction.QueryTask:
            {
                IscsiCommand? command;
                lock (_commandsLock)
                {
                    _commands.TryGetValue(pdu.ReferencedTaskTag, out command);
                }
                if (command is null)
                {
                    // §11.5.1 a/b: a task never received whose RefCmdSN is still in the window is treated as received and
                    // aborted ("Function complete"); otherwise it does not exist (it completed or never was).
                    immediate = pdu.Function == (byte)TaskManagementFunction.AbortTask && session.IsPendingBefore(pdu.RefCmdSN, pdu.CmdSN)
                        ? TaskManagementResponse.FunctionComplete
                        : TaskManagementResponse.TaskDoesNotExist;
                    affected = [];
                }
                else
                {
                    affected = pdu.Function == (byte)TaskManagementFunction.AbortTask ? [command] : [];
                }
                break;
            }
            case (byte)TaskManagementFunction.AbortTaskSet:
            case (byte)TaskManagementFunction.ClearTaskSet:
            case (byte)TaskManagementFunction.LogicalUnitReset:
                affected = SnapshotCommands().Where(c => c.Lun == pdu.Lun).ToArray();
                break;
            case (byte)TaskManagementFunction.TargetWarmReset:
            case (byte)TaskManagementFunction.TargetColdReset:
                affected = SnapshotCommands();
                break;
            case (byte)TaskManagementFunction.ClearAca:
            case (byte)TaskManagementFunction.QueryTaskSet:
            case (byte)TaskManagementFunction.QueryAsynchronousEvent:
                affected = [];
                break;
            case (byte)TaskManagementFunction.TaskReassign:
                // ErrorRecoveryLevel=0 (RFC 7143 §11.5.1).
                affected = [];
                immediate = TaskManagementResponse.ReassignmentNotSupported;
                break;
            default:
                affected = [];
                immediate = TaskManagementResponse.FunctionRejected;
                break;
        }

        if (immediate is { } response)
        {
            SendTaskManagementResponse(response, pdu.InitiatorTaskTag, close: false);
            return;
        }
        _ = TaskManagementAsync(pdu, affected, session.Nexus!);
    }

    private async Task TaskManagementAsync(TaskManagementRequestPdu pdu, IscsiCommand[] affected, ITNexus nexus)
    {
        var function = (TaskManagementFunction)pdu.Function;
        TaskManagementResponse response;
        try
        {
            response = await _target.TaskManagementAsync(new TaskManagementRequest(nexus, function, pdu.Lun, pdu.ReferencedTaskTag), Token)
                .ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (Token.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex)
        {
            Log.ExecutorFault(_logger, Id, $"TMF {function}", ex);
            response = TaskManagementResponse.FunctionRejected;
        }

        if (response == TaskManagementResponse.FunctionComplete && affected.Length > 0)
        {
            // An aborted task may still wait for Data-Out that will never come.
            var aborted = new OperationCanceledException($"task aborted by {function}");
            foreach (IscsiCommand command in affected)
            {
                command.Fail(aborted);
            }
            try
            {
                await Task.WhenAll(affected.Select(c => c.Completion)).WaitAsync(_options.DrainTimeout, Token).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                Log.Warning(_logger, Id, $"{function}: affected tasks still running after {_options.DrainTimeout.TotalSeconds:0.#} s; responding anyway");
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
        if (function == TaskManagementFunction.AbortTask && response == TaskManagementResponse.FunctionComplete
            && affected is [{ CompletedUnaborted: true }])
        {
            // The task finished before the abort reached it (e.g. on the HA peer): its response went out, so it was not
            // aborted; answering FUNCTION COMPLETE too would tell the initiator both.
            response = TaskManagementResponse.TaskDoesNotExist;
        }
        // TARGET COLD RESET: the target drops its connections after the response (RFC 7143 §11.5.1).
        SendTaskManagementResponse(response, pdu.InitiatorTaskTag, close: function == TaskManagementFunction.TargetColdReset);
    }

    private void SendTaskManagementResponse(TaskManagementResponse response, uint tag, bool close)
    {
        var pdu = new OutgoingPdu
        {
            StatSN = StatSNMode.Advance,
            Action = close ? OutgoingAction.Close : OutgoingAction.None,
            CloseReason = close ? "target cold reset" : null,
        };
        new TaskManagementResponsePdu(response, tag).Write(pdu.Header);
        Enqueue(ref pdu);
    }
}

using CtlHa.Initiator.Pdus;
using CtlHa.Initiator.Scsi;

namespace CtlHa.Initiator;

public sealed partial class IscsiInitiatorSession
{
    public Task<TaskManagementResponse> AbortTaskAsync(RunningCommand command, CancellationToken cancellationToken) =>
        TaskManagementAsync(TaskManagementFunction.AbortTask, command.Lun, command.Itt, cancellationToken);

    public Task<TaskManagementResponse> AbortTaskAsync(int lun, uint referencedTaskTag, CancellationToken cancellationToken) =>
        TaskManagementAsync(TaskManagementFunction.AbortTask, ScsiLun.Encode(lun), referencedTaskTag, cancellationToken);

    public Task<TaskManagementResponse> AbortTaskSetAsync(int lun, CancellationToken cancellationToken) =>
        TaskManagementAsync(TaskManagementFunction.AbortTaskSet, ScsiLun.Encode(lun), IscsiPdu.ReservedTag, cancellationToken);

    public Task<TaskManagementResponse> ClearTaskSetAsync(int lun, CancellationToken cancellationToken) =>
        TaskManagementAsync(TaskManagementFunction.ClearTaskSet, ScsiLun.Encode(lun), IscsiPdu.ReservedTag, cancellationToken);

    public Task<TaskManagementResponse> ClearAcaAsync(int lun, CancellationToken cancellationToken) =>
        TaskManagementAsync(TaskManagementFunction.ClearAca, ScsiLun.Encode(lun), IscsiPdu.ReservedTag, cancellationToken);

    public Task<TaskManagementResponse> LunResetAsync(int lun, CancellationToken cancellationToken) =>
        TaskManagementAsync(TaskManagementFunction.LogicalUnitReset, ScsiLun.Encode(lun), IscsiPdu.ReservedTag, cancellationToken);

    public Task<TaskManagementResponse> TargetWarmResetAsync(CancellationToken cancellationToken) =>
        TaskManagementAsync(TaskManagementFunction.TargetWarmReset, 0, IscsiPdu.ReservedTag, cancellationToken);

    public Task<TaskManagementResponse> TargetColdResetAsync(CancellationToken cancellationToken) =>
        TaskManagementAsync(TaskManagementFunction.TargetColdReset, 0, IscsiPdu.ReservedTag, cancellationToken);

    /// <summary>I_T NEXUS RESET, RFC 7144 §4.1 (function 11); targets without RFC 7144 answer FunctionNotSupported.</summary>
    public Task<TaskManagementResponse> ITNexusResetAsync(CancellationToken cancellationToken) =>
        TaskManagementAsync(TaskManagementFunction.ITNexusReset, 0, IscsiPdu.ReservedTag, cancellationToken);

    /// <summary>
    /// Task Management Function Request, RFC 7143 §11.5: immediate; byte1 = 0x80 | Function; 8 LUN; 16 ITT;
    /// 20 Referenced Task Tag; 24 CmdSN; 28 ExpStatSN; 32 RefCmdSN; 36 ExpDataSN.
    /// On success the tasks the function ended are failed locally with <see cref="IscsiTaskAbortedException"/>,
    /// because the target sends no status for the tasks a TMF terminates (RFC 7143 §11.5.1).
    /// </summary>
    public async Task<TaskManagementResponse> TaskManagementAsync(TaskManagementFunction function, ulong lunField, uint referencedTaskTag,
        CancellationToken cancellationToken)
    {
        using var deadline = Deadline(cancellationToken, _options.TaskManagementTimeout);
        var referenced = referencedTaskTag != IscsiPdu.ReservedTag && _pending.TryGetValue(referencedTaskTag, out var found)
            ? found as PendingCommand
            : null;
        // Tasks sent before the TMF: only these can have been ended by it.
        var before = _pending.Values.OfType<PendingCommand>().ToList();
        var waiter = new PendingPdu(NextItt(), lunField, IscsiOpcode.TaskManagementResponse);
        var pdu = new IscsiPdu(IscsiOpcode.TaskManagementRequest, immediate: true)
        {
            Flags = (byte)(0x80 | ((byte)function & 0x7F)),
            Lun = lunField,
            InitiatorTaskTag = waiter.Itt,
            Dword20 = referencedTaskTag,
            Dword32 = referenced?.CmdSN ?? 0,
        };
        var response = await SendImmediateAndWaitAsync(pdu, waiter, function.ToString(), deadline.Token, cancellationToken);
        var result = (TaskManagementResponse)response.Byte2;

        var ended = function switch
        {
            TaskManagementFunction.AbortTask when result is TaskManagementResponse.FunctionComplete or TaskManagementResponse.TaskDoesNotExist =>
                before.Where(c => c.Itt == referencedTaskTag),
            TaskManagementFunction.AbortTaskSet or TaskManagementFunction.ClearTaskSet or TaskManagementFunction.LogicalUnitReset
                when result == TaskManagementResponse.FunctionComplete => before.Where(c => c.Lun == lunField),
            TaskManagementFunction.TargetWarmReset or TaskManagementFunction.TargetColdReset or TaskManagementFunction.ITNexusReset
                when result == TaskManagementResponse.FunctionComplete => before,
            _ => [],
        };
        foreach (var command in ended)
        {
            if (_pending.TryRemove(command.Itt, out _))
            {
                command.Fail(new IscsiTaskAbortedException($"Task 0x{command.Itt:X8} ended by {function}."));
            }
        }

        return result;
    }
}

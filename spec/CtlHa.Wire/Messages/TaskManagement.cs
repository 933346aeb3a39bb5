using MessagePack;

namespace CtlHa.Wire;

/// <summary>
/// A task management function received on the sender, replayed on the receiver (CTL_MSG_MANAGE_TASKS,
/// ctl-ha.md §8.6). Union key 22. The sender's TMF response never waits for the peer.
/// LUN/target/bus reset: the receiver resets and sets 29/00 (LUN), 29/03 (target), 29/02 (bus) for its own
/// initiators on the affected LUNs. I_T nexus reset: it aborts that initiator's shadow commands, no UA.
/// Abort task / abort task set / clear task set: it aborts the matching shadows.
/// </summary>
/// <param name="Nexus">The I_T_L nexus the TMF arrived on (Lun = 0 for target, bus and I_T nexus reset).</param>
/// <param name="Function">The TMF; ClearAca is never sent (local only) and is rejected.</param>
/// <param name="ReferencedTag">AbortTask: the task tag to abort. Otherwise 0.</param>
/// <param name="OriginatorHandle">AbortTask: the originator's handle of that command if known, else 0.</param>
[MessagePackObject]
public sealed record TaskManagement(
    [property: Key(0)] Nexus Nexus,
    [property: Key(1)] TaskManagementFunction Function,
    [property: Key(2)] ulong ReferencedTag,
    [property: Key(3)] ulong OriginatorHandle) : InterlinkMessage
{
    public override void Validate()
    {
        Nexus.Validate(Nexus, "TaskManagement.Nexus");
        WireCheck.Defined(Function, "TaskManagement.Function");
        if (Function == TaskManagementFunction.ClearAca)
        {
            WireCheck.Fail(InterlinkErrorKind.OutOfRange, "TaskManagement.Function=ClearAca is local only");
        }

        if (Function != TaskManagementFunction.AbortTask)
        {
            WireCheck.Range(ReferencedTag, 0, 0, "TaskManagement.ReferencedTag");
            WireCheck.Range(OriginatorHandle, 0, 0, "TaskManagement.OriginatorHandle");
        }
    }
}

using CtlHa.Core;
using CtlHa.Scsi.Reservations;

// The namespace is the engine's, not the folder's: this file is the Reservations/ half of the partial LogicalUnit
// (engine README "Plug-in contract").
namespace CtlHa.Scsi;

public sealed partial class LogicalUnit
{
    /// <summary>Persistent and SCSI-2 reservations of this LU.</summary>
    public LogicalUnitReservations ReservationState { get; } = new();

    partial void AttachReservations() => Reservations = new ReservationChecker(this);

    /// <summary>
    /// HA peer side: replays a PERSISTENT RESERVE OUT the other node executed (its <see cref="PrOutResult.Replicate"/>),
    /// then establishes the resulting UAs for the nexuses connected to this node and aborts their tasks for
    /// PREEMPT AND ABORT. Both nodes run the same effect code, so their states stay identical (ctl-ha.md §15 item 49).
    /// </summary>
    public PrOutResult ApplyReplicatedPersistentReserveOut(PrNexus requester, PrOutRequest request)
    {
        var result = ReservationState.Persistent.Apply(requester, request);
        PostReservationEffects(result, requester: null);
        return result;
    }

    /// <summary>Establishes the UAs of a PR OUT for the connected nexuses they name, and performs its task aborts.</summary>
    internal void PostReservationEffects(PrOutResult result, ITNexus? requester)
    {
        if (Engine is not { } engine || (result.UnitAttentions.Count == 0 && result.AbortTasksOf.Count == 0))
        {
            return;
        }
        var nexuses = engine.Nexuses.ToList();
        foreach (var ua in result.UnitAttentions)
        {
            var flag = (ua.Asc, ua.Ascq) switch
            {
                (0x2A, 0x03) => UnitAttention.ReservationsPreempted,
                (0x2A, 0x04) => UnitAttention.ReservationsReleased,
                (0x2A, 0x05) => UnitAttention.RegistrationsPreempted,
                _ => UnitAttention.None,
            };
            if (flag == UnitAttention.None)
            {
                continue;
            }
            foreach (var n in nexuses)
            {
                if (ua.Nexus.Matches(n))
                {
                    EstablishUnitAttention(n, flag);
                }
            }
        }
        if (result.AbortTasksOf.Count > 0)
        {
            var victims = result.AbortTasksOf;
            AbortTasks(n => victims.Any(v => v.Matches(n)), requester);
        }
    }
}

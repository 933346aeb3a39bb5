using CtlHa.Core;
using CtlHa.Scsi.Commands;

namespace CtlHa.Scsi.Reservations;

/// <summary>
/// The engine's reservation gate for one LU (<see cref="IReservationChecker"/>). Persistent reservations are checked
/// with <see cref="ReservationClassifier.Classify"/> (SPC-5 Table 69 / SBC-4 Table 13, CDB-aware for START STOP UNIT
/// and PREVENT ALLOW MEDIUM REMOVAL) rather than the descriptor's coarse class; SCSI-2 reservations use the built-in
/// list widened by the descriptor's <see cref="CommandFlags.AllowOnScsi2Reserve"/>.
/// </summary>
public sealed class ReservationChecker(LogicalUnit lun) : IReservationChecker
{
    private static readonly ScsiOutcome Conflict = new(ScsiStatus.ReservationConflict);

    public ScsiOutcome? CheckAccess(CommandContext ctx, CommandDescriptor command)
    {
        var state = lun.ReservationState;
        var nexus = PrNexus.From(ctx.Nexus);
        var cdb = ctx.Cdb;
        if (state.Scsi2.Conflicts(nexus, cdb, (command.Flags & CommandFlags.AllowOnScsi2Reserve) != 0))
        {
            return Conflict;
        }
        return state.Persistent.CheckAccess(nexus, ReservationClassifier.Classify(cdb)) ? Conflict : null;
    }

    public void OnLogicalUnitReset()
    {
        lun.ReservationState.Reset();
        // Copy/ keeps no lifecycle hook of its own: held copy results also go with a LUN reset (SPC-4 §5.16.4.3).
        lun.CopyState.Reset();
    }

    public void OnNexusLoss(ITNexus nexus)
    {
        lun.ReservationState.NexusLost(nexus);
        lun.CopyState.NexusLost(nexus.Id);
    }
}

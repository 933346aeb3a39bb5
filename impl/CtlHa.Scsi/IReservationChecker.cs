using CtlHa.Core;
using CtlHa.Scsi.Commands;

namespace CtlHa.Scsi;

/// <summary>
/// The reservation state of one logical unit as the engine sees it (implemented in Reservations/).
/// The engine calls <see cref="CheckAccess"/> before serializing every command (after unit attentions,
/// as CTL's <c>ctl_scsiio_lun_check</c>) and the lifecycle hooks on resets and nexus loss.
/// All methods may be called concurrently.
/// </summary>
public interface IReservationChecker
{
    /// <summary>Returns null when the command may run, else its outcome (normally RESERVATION CONFLICT).</summary>
    ScsiOutcome? CheckAccess(CommandContext ctx, CommandDescriptor command);

    /// <summary>LUN RESET / target reset: SCSI-2 reservations are released (SPC-2 §5.5.1); PRs survive.</summary>
    void OnLogicalUnitReset();

    /// <summary>I_T nexus loss or I_T NEXUS RESET: a SCSI-2 reservation held by that nexus is released.</summary>
    void OnNexusLoss(ITNexus nexus);
}

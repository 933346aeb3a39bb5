using CtlHa.Core;
using CtlHa.Scsi.Commands;

namespace CtlHa.Scsi;

public sealed partial class ScsiEngine
{
    /// <summary>
    /// A command addressed to a LUN that does not exist (CTL: lun == NULL). Only commands flagged
    /// <see cref="CommandFlags.NoLun"/> answer: INQUIRY with peripheral qualifier 011b / type 1Fh, REQUEST SENSE with
    /// 25/00 as its data, REPORT LUNS; everything else is ILLEGAL REQUEST 25/00 LOGICAL UNIT NOT SUPPORTED.
    /// </summary>
    private async ValueTask<ScsiOutcome> ExecuteWithoutLunAsync(ScsiTask task, CommandDescriptor? command, CancellationToken cancellationToken)
    {
        var notSupported = new Sense(SenseKey.IllegalRequest, 0x25, 0x00);
        if (command is null || (command.Flags & CommandFlags.NoLun) == 0)
        {
            return ScsiOutcome.Check(notSupported);
        }
        var cdb = task.Cdb.Span;
        if (ValidateCdb(cdb, command) is { } invalid)
        {
            return ScsiOutcome.Check(invalid);
        }
        switch (command.Opcode)
        {
            case 0x12: // INQUIRY
                if ((cdb[1] & 0x01) != 0 || cdb[2] != 0)
                {
                    return ScsiOutcome.Check(notSupported);
                }
                byte[] inquiry = PrimaryCommandsBridge.StandardInquiry(0x7F);
                return await PrimaryCommandsBridge.SendAsync(task, inquiry, (uint)(cdb[3] << 8 | cdb[4]), cancellationToken).ConfigureAwait(false);
            case 0x03: // REQUEST SENSE
                return await PrimaryCommandsBridge.SendAsync(task, notSupported.ToArray((cdb[1] & 0x01) != 0), cdb[4], cancellationToken).ConfigureAwait(false);
            case 0xA0: // REPORT LUNS
                return await PrimaryCommandsBridge.ReportLunsAsync(this, task, GetNexus(task.Nexus).Slot).ConfigureAwait(false);
            default:
                return ScsiOutcome.Check(notSupported);
        }
    }
}

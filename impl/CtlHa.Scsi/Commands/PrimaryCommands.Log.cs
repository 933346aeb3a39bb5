using System.Buffers.Binary;
using CtlHa.Core;

namespace CtlHa.Scsi.Commands;

internal static partial class PrimaryCommands
{
    /// <summary>
    /// LOG SENSE, SPC-5 §6.7: SP byte 1 bit 0 (no saved parameters: 24/00), PC|PAGE CODE @2, SUBPAGE @3, PARAMETER
    /// POINTER @5, ALLOCATION LENGTH @7. Pages: 00h Supported Log Pages (00h, 0Ch) and, on a thin LU, 0Ch Logical Block
    /// Provisioning (SBC-4 §6.4.5): 0001h available and 0002h used LBA mapping resource counts, in units of
    /// 2^<see cref="LogicalUnit.ThresholdExponent"/> blocks (as the LBP mode page's thresholds), scope 01b (dedicated to
    /// this LU). Parameters are binary lists (control 03h) from the code at PARAMETER POINTER on.
    /// </summary>
    private static async ValueTask<ScsiOutcome> LogSenseAsync(CommandContext ctx)
    {
        var cdb = ctx.Cdb;
        var lun = ctx.LogicalUnit;
        if ((cdb[1] & 0x01) != 0)
        {
            return ctx.IllegalField(1, 0);
        }
        byte page = (byte)(cdb[2] & 0x3F);
        byte subpage = cdb[3];
        ushort pointer = Cdb.U16(cdb, 5);
        uint allocationLength = Cdb.U16(cdb, 7);
        bool thin = lun.Backend.IsThin;
        if (subpage != 0)
        {
            return ctx.IllegalField(3);
        }
        byte[] data;
        switch (page)
        {
            case 0x00:
                data = thin ? [0x00, 0, 0, 2, 0x00, 0x0C] : [0x00, 0, 0, 1, 0x00];
                break;
            case 0x0C when thin:
                var (used, available) = await lun.GetProvisioningUsageAsync(ctx.CancellationToken).ConfigureAwait(false);
                var parameters = new List<byte>();
                foreach (var (code, value) in new[] { ((ushort)0x0001, available), ((ushort)0x0002, used) })
                {
                    if (code < pointer)
                    {
                        continue;
                    }
                    byte[] p = new byte[12];
                    BinaryPrimitives.WriteUInt16BigEndian(p, code);
                    p[2] = 0x03; // FORMAT AND LINKING: binary list
                    p[3] = 8;
                    BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(4), (uint)Math.Min(uint.MaxValue, value >> LogicalUnit.ThresholdExponent));
                    p[8] = 0x01; // SCOPE: dedicated to this LU
                    parameters.AddRange(p);
                }
                data = [0x0C, 0, (byte)(parameters.Count >> 8), (byte)parameters.Count, .. parameters];
                break;
            default:
                return ctx.IllegalField(2, 5);
        }
        return await ctx.SendDataInAsync(data, allocationLength).ConfigureAwait(false);
    }
}

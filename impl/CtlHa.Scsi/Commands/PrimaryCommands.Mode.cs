using System.Buffers.Binary;
using CtlHa.Core;

namespace CtlHa.Scsi.Commands;

internal static partial class PrimaryCommands
{
    /// <summary>
    /// MODE SENSE(6/10), SPC-5 §6.13/6.14. (6): DBD byte 1 bit 3, PC|PAGE CODE @2, SUBPAGE @3, ALLOCATION @4;
    /// (10): + LLBAA byte 1 bit 4, ALLOCATION @7. Header: (6) 4 bytes, (10) 8 bytes; DEVICE-SPECIFIC PARAMETER WP 0x80
    /// (read-only or SWP) | DPOFUA 0x10. Block descriptor: short 8 bytes or, with LLBAA, long 16 bytes.
    /// </summary>
    private static ValueTask<ScsiOutcome> ModeSenseAsync(CommandContext ctx)
    {
        var cdb = ctx.Cdb;
        var lun = ctx.LogicalUnit;
        bool ten = cdb[0] == 0x5A;
        bool dbd = (cdb[1] & 0x08) != 0;
        bool llbaa = ten && (cdb[1] & 0x10) != 0;
        int pc = cdb[2] >> 6;
        byte code = (byte)(cdb[2] & 0x3F);
        byte subpage = cdb[3];
        uint allocationLength = ten ? Cdb.U16(cdb, 7) : cdb[4];

        var pages = new List<ModePage>();
        bool codeKnown = false;
        foreach (var p in lun.Mode.Pages)
        {
            bool codeMatch = code == 0x3F || p.Code == code;
            codeKnown |= codeMatch;
            if (!codeMatch)
            {
                continue;
            }
            if (subpage == 0xFF || p.Subpage == subpage)
            {
                pages.Add(p);
            }
        }
        if (pages.Count == 0)
        {
            return ValueTask.FromResult(codeKnown ? ctx.IllegalField(3) : ctx.IllegalField(2, 5));
        }

        int header = ten ? 8 : 4;
        int blockDescriptor = dbd ? 0 : llbaa ? 16 : 8;
        int length = header + blockDescriptor;
        foreach (var p in pages)
        {
            length += p.Length;
        }
        byte[] d = new byte[length];
        byte deviceSpecific = (byte)(0x10 | (lun.ReadOnly || lun.Mode.SoftwareWriteProtect ? 0x80 : 0));
        if (ten)
        {
            BinaryPrimitives.WriteUInt16BigEndian(d, (ushort)(length - 2));
            d[3] = deviceSpecific;
            d[4] = (byte)(llbaa && !dbd ? 0x01 : 0);
            BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(6), (ushort)blockDescriptor);
        }
        else
        {
            d[0] = (byte)(length - 1);
            d[2] = deviceSpecific;
            d[3] = (byte)blockDescriptor;
        }
        int off = header;
        if (blockDescriptor == 8)
        {
            // Short LBA mode parameter block descriptor (SBC-4 §6.4.2): NUMBER OF LOGICAL BLOCKS @0, BLOCK LENGTH @5.
            BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(off), lun.BlockCount > uint.MaxValue ? uint.MaxValue : (uint)lun.BlockCount);
            d[off + 5] = (byte)(lun.BlockSize >> 16);
            d[off + 6] = (byte)(lun.BlockSize >> 8);
            d[off + 7] = (byte)lun.BlockSize;
        }
        else if (blockDescriptor == 16)
        {
            // Long LBA descriptor (SBC-4 §6.4.3): NUMBER OF LOGICAL BLOCKS @0 (8 bytes), LOGICAL BLOCK LENGTH @12.
            BinaryPrimitives.WriteUInt64BigEndian(d.AsSpan(off), (ulong)lun.BlockCount);
            BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(off + 12), (uint)lun.BlockSize);
        }
        off += blockDescriptor;
        foreach (var p in pages)
        {
            lun.Mode.CopyImage(p, pc, d.AsSpan(off, p.Length));
            off += p.Length;
        }
        return ctx.SendDataInAsync(d, allocationLength);
    }

    /// <summary>
    /// MODE SELECT(6/10), SPC-5 §6.11/6.12 with CTL's rules (ctl-ha.md §13.2): RTD with data is invalid; short lists are
    /// 1A/00; each page must exist, have a select handler and its exact length, and change only changeable bits
    /// (26/00 with the field pointer at the page, its length byte or the offending byte and bit). Pages are applied in
    /// order; a real change of a current page sets 2A/01 for every other I_T nexus.
    /// </summary>
    private static async ValueTask<ScsiOutcome> ModeSelectAsync(CommandContext ctx)
    {
        var lun = ctx.LogicalUnit;
        bool ten = ctx.Cdb[0] == 0x55;
        bool rtd = (ctx.Cdb[1] & 0x02) != 0;
        int length = ten ? Cdb.U16(ctx.Cdb, 7) : ctx.Cdb[4];
        if (rtd && length != 0)
        {
            return ctx.IllegalField(1, 1);
        }
        if (length == 0)
        {
            return ScsiOutcome.Good;
        }
        byte[] data = new byte[length];
        await ctx.ReceiveDataOutAsync(data).ConfigureAwait(false);
        int header = ten ? 8 : 4;
        if (length < header)
        {
            return ctx.ParameterListLengthError();
        }
        int blockDescriptorLength = ten ? BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(6)) : data[3];
        if (length < header + blockDescriptorLength)
        {
            return ctx.ParameterListLengthError();
        }
        bool changed = false;
        ScsiOutcome? error = null;
        int off = header + blockDescriptorLength;
        var mode = lun.Mode;
        lock (mode.SyncRoot)
        {
            while (off < length)
            {
                if (length - off < 2)
                {
                    error = ctx.ParameterListLengthError();
                    break;
                }
                byte code = (byte)(data[off] & 0x3F);
                bool spf = (data[off] & 0x40) != 0;
                byte subpage = 0;
                int pageLength;
                int pageHeader;
                if (spf)
                {
                    if (length - off < 4)
                    {
                        error = ctx.ParameterListLengthError();
                        break;
                    }
                    subpage = data[off + 1];
                    pageLength = BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(off + 2));
                    pageHeader = 4;
                }
                else
                {
                    pageLength = data[off + 1];
                    pageHeader = 2;
                }
                var page = mode.Find(code, subpage);
                if (page is null || !page.Selectable || page.SubpageFormat != spf)
                {
                    error = ctx.InvalidParameter(off);
                    break;
                }
                if (pageLength + pageHeader != page.Length)
                {
                    error = ctx.InvalidParameter(off + (spf ? 2 : 1));
                    break;
                }
                if (off + page.Length > length)
                {
                    error = ctx.ParameterListLengthError();
                    break;
                }
                var current = page.Current;
                var mask = page.Changeable;
                for (int i = pageHeader; i < page.Length; i++)
                {
                    int diff = (data[off + i] ^ current[i]) & ~mask[i];
                    if (diff != 0)
                    {
                        error = ctx.InvalidParameter(off + i, 31 - System.Numerics.BitOperations.LeadingZeroCount((uint)diff));
                        break;
                    }
                }
                if (error is not null)
                {
                    break;
                }
                for (int i = pageHeader; i < page.Length; i++)
                {
                    byte value = (byte)((current[i] & ~mask[i]) | (data[off + i] & mask[i]));
                    if (value != current[i])
                    {
                        Volatile.Write(ref current[i], value);
                        changed = true;
                    }
                }
                off += page.Length;
            }
        }
        if (changed)
        {
            lun.EstablishUnitAttentionForAll(UnitAttention.ModeChange, except: ctx.Nexus);
            lun.OnModePagesChanged();
        }
        return error ?? ScsiOutcome.Good;
    }
}

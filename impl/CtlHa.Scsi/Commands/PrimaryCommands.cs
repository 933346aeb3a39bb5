using System.Buffers.Binary;
using CtlHa.Core;

namespace CtlHa.Scsi.Commands;

/// <summary>SPC-5 commands of the engine: TUR, REQUEST SENSE, REPORT LUNS, START STOP, PREVENT ALLOW, MAINTENANCE IN, LOG SENSE.</summary>
internal static partial class PrimaryCommands
{
    private const byte C = 0x07;

    public static void Register(CommandTable t)
    {
        const CommandFlags Unavail = CommandFlags.OkOnUnavailable | CommandFlags.OkOnStandby;
        t.Register(new CommandDescriptor
        {
            Opcode = 0x00, Name = "TEST UNIT READY", Handler = static _ => ValueTask.FromResult(ScsiOutcome.Good),
            Serialization = SerializationClass.TestUnitReady, Reservation = ReservationAccess.Allowed, CdbUsage = [0x00, 0, 0, 0, 0, C],
        });
        t.Register(new CommandDescriptor
        {
            Opcode = 0x03, Name = "REQUEST SENSE", Handler = RequestSenseAsync, Serialization = SerializationClass.RequestSense,
            Reservation = ReservationAccess.Allowed,
            Flags = CommandFlags.NoUnitAttention | Unavail | CommandFlags.RunHere | CommandFlags.NoLun | CommandFlags.AllowOnScsi2Reserve,
            CdbUsage = [0x03, 0x01, 0, 0, 0xFF, C],
        });
        t.Register(new CommandDescriptor
        {
            Opcode = 0x12, Name = "INQUIRY", Handler = InquiryAsync, Serialization = SerializationClass.Inquiry,
            Reservation = ReservationAccess.Allowed,
            Flags = CommandFlags.NoUnitAttention | Unavail | CommandFlags.NoLun | CommandFlags.AllowOnScsi2Reserve,
            CdbUsage = [0x12, 0x01, 0xFF, 0xFF, 0xFF, C],
        });
        t.Register(new CommandDescriptor
        {
            Opcode = 0xA0, Name = "REPORT LUNS", Handler = ReportLunsAsync, Serialization = SerializationClass.Inquiry,
            Reservation = ReservationAccess.Allowed,
            Flags = CommandFlags.NoUnitAttention | Unavail | CommandFlags.RunHere | CommandFlags.NoLun | CommandFlags.AllowOnScsi2Reserve,
            CdbUsage = [0xA0, 0, 0xFF, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, C],
        });
        t.Register(new CommandDescriptor
        {
            Opcode = 0x15, Name = "MODE SELECT(6)", Handler = ModeSelectAsync, Serialization = SerializationClass.ModeSelect,
            Reservation = ReservationAccess.Write, Flags = CommandFlags.OkOnStandby, CdbUsage = [0x15, 0x13, 0, 0, 0xFF, C],
        });
        t.Register(new CommandDescriptor
        {
            Opcode = 0x55, Name = "MODE SELECT(10)", Handler = ModeSelectAsync, Serialization = SerializationClass.ModeSelect,
            Reservation = ReservationAccess.Write, Flags = CommandFlags.OkOnStandby, CdbUsage = [0x55, 0x13, 0, 0, 0, 0, 0, 0xFF, 0xFF, C],
        });
        t.Register(new CommandDescriptor
        {
            Opcode = 0x1A, Name = "MODE SENSE(6)", Handler = ModeSenseAsync, Serialization = SerializationClass.ModeSense,
            Reservation = ReservationAccess.Read, Flags = CommandFlags.OkOnStandby, CdbUsage = [0x1A, 0x08, 0xFF, 0xFF, 0xFF, C],
        });
        t.Register(new CommandDescriptor
        {
            Opcode = 0x5A, Name = "MODE SENSE(10)", Handler = ModeSenseAsync, Serialization = SerializationClass.ModeSense,
            Reservation = ReservationAccess.Read, Flags = CommandFlags.OkOnStandby, CdbUsage = [0x5A, 0x18, 0xFF, 0xFF, 0, 0, 0, 0xFF, 0xFF, C],
        });
        // LOG SENSE: byte 1 SP; PC|PAGE CODE; SUBPAGE; PARAMETER POINTER; ALLOCATION LENGTH. Not on a standby path (the
        // LBP page measures the store, closed there); in proxy mode it is forwarded to the primary.
        t.Register(new CommandDescriptor
        {
            Opcode = 0x4D, Name = "LOG SENSE", Handler = LogSenseAsync, Serialization = SerializationClass.LogSense,
            Reservation = ReservationAccess.Allowed, CdbUsage = [0x4D, 0x01, 0xFF, 0xFF, 0, 0xFF, 0xFF, 0xFF, 0xFF, C],
        });
        // START STOP UNIT byte 1 IMMED; byte 3 POWER CONDITION MODIFIER; byte 4 POWER CONDITION, NO_FLUSH, LOEJ, START.
        t.Register(new CommandDescriptor
        {
            Opcode = 0x1B, Name = "START STOP UNIT", Handler = StartStopUnitAsync, Serialization = SerializationClass.Start,
            Reservation = ReservationAccess.Write, CdbUsage = [0x1B, 0x01, 0, 0x0F, 0xF7, C],
        });
        t.Register(new CommandDescriptor
        {
            Opcode = 0x1E, Name = "PREVENT ALLOW MEDIUM REMOVAL", Handler = static _ => ValueTask.FromResult(ScsiOutcome.Good),
            Serialization = SerializationClass.Start, Reservation = ReservationAccess.Write, CdbUsage = [0x1E, 0, 0, 0, 0x03, C],
        });
        // MAINTENANCE IN (A3h) service actions.
        t.Register(new CommandDescriptor
        {
            Opcode = 0xA3, ServiceAction = 0x0A, Name = "REPORT TARGET PORT GROUPS", Handler = ReportTargetPortGroupsAsync,
            Serialization = SerializationClass.Inquiry, Reservation = ReservationAccess.Allowed, Flags = Unavail | CommandFlags.AllowOnScsi2Reserve,
            CdbUsage = [0xA3, 0xEA, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, C], // PDF | SA
        });
        t.Register(new CommandDescriptor
        {
            Opcode = 0xA3, ServiceAction = 0x0C, Name = "REPORT SUPPORTED OPERATION CODES", Handler = ReportSupportedOperationCodesAsync,
            Serialization = SerializationClass.Inquiry, Reservation = ReservationAccess.Allowed, Flags = Unavail | CommandFlags.AllowOnScsi2Reserve,
            CdbUsage = [0xA3, 0x0C, 0x87, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, C],
        });
        t.Register(new CommandDescriptor
        {
            Opcode = 0xA3, ServiceAction = 0x0D, Name = "REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS", Handler = ReportSupportedTmfAsync,
            Serialization = SerializationClass.Inquiry, Reservation = ReservationAccess.Allowed, Flags = Unavail | CommandFlags.AllowOnScsi2Reserve,
            CdbUsage = [0xA3, 0x0D, 0x80, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, C],
        });
    }

    // ---- REQUEST SENSE --------------------------------------------------------------------------------------

    /// <summary>
    /// REQUEST SENSE, SPC-5 §6.39: the pending unit attention (lowest first, cleared by the report) as sense data with
    /// GOOD status, else NO SENSE. DESC (byte 1 bit 0) selects descriptor format.
    /// </summary>
    private static ValueTask<ScsiOutcome> RequestSenseAsync(CommandContext ctx)
    {
        bool desc = (ctx.Cdb[1] & 0x01) != 0;
        var engine = ctx.Engine;
        int slot = engine.SlotOfContext(ctx);
        var ua = ctx.LogicalUnit.TakeUnitAttention(slot);
        Sense sense;
        if (ua == UnitAttention.None)
        {
            sense = new Sense(SenseKey.NoSense, 0, 0);
        }
        else
        {
            if (ua == UnitAttention.LunChange)
            {
                engine.ClearLunChange(slot);
            }
            sense = ctx.LogicalUnit.UnitAttentionSense(ua);
        }
        return ctx.SendDataInAsync(sense.ToArray(desc), ctx.Cdb[4]);
    }

    // ---- REPORT LUNS --------------------------------------------------------------------------------------------

    private static ValueTask<ScsiOutcome> ReportLunsAsync(CommandContext ctx) =>
        ReportLuns(ctx.Engine, ctx.Task, ctx.DescriptorSense, ctx.Engine.SlotOfContext(ctx), clearLunChange: true);

    /// <summary>
    /// REPORT LUNS, SPC-5 §6.33: LUN LIST LENGTH @0, 8 reserved, then 8-byte LUNs. SELECT REPORT 00h/02h: all LUNs,
    /// 01h: well-known LUNs (none). ALLOCATION LENGTH @6 must be at least 16. Clears 3F/0E on every LUN for the
    /// requester when the addressed LUN exists (ctl-ha.md §9).
    /// </summary>
    internal static ValueTask<ScsiOutcome> ReportLuns(ScsiEngine engine, ScsiTask task, bool descriptorSense, int slot, bool clearLunChange)
    {
        var cdb = task.Cdb.Span;
        byte select = cdb[2];
        uint allocationLength = Cdb.U32(cdb, 6);
        if (select is not (0x00 or 0x01 or 0x02))
        {
            return ValueTask.FromResult(ScsiOutcome.Check(new Sense(SenseKey.IllegalRequest, 0x24, 0).WithSks(Sense.FieldPointer(true, 2)), descriptorSense));
        }
        if (allocationLength < 16)
        {
            return ValueTask.FromResult(ScsiOutcome.Check(new Sense(SenseKey.IllegalRequest, 0x24, 0).WithSks(Sense.FieldPointer(true, 6)), descriptorSense));
        }
        var luns = select == 0x01 ? [] : engine.LogicalUnits;
        byte[] data = new byte[8 + 8 * luns.Count];
        BinaryPrimitives.WriteUInt32BigEndian(data, (uint)(8 * luns.Count));
        for (int i = 0; i < luns.Count; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(data.AsSpan(8 + 8 * i), LunAddress.Encode(luns[i].LunId));
        }
        if (clearLunChange)
        {
            engine.ClearLunChange(slot);
        }
        return PrimaryCommandsBridge.SendAsync(task, data, allocationLength, CancellationToken.None);
    }

    // ---- START STOP UNIT ----------------------------------------------------------------------------------------

    /// <summary>START STOP UNIT, SBC-4 §5.25: accepted as a no-op (as CTL); LOEJ on a non-removable LU is invalid.</summary>
    private static ValueTask<ScsiOutcome> StartStopUnitAsync(CommandContext ctx)
    {
        byte how = ctx.Cdb[4];
        if ((how & 0xF0) == 0 && (how & 0x02) != 0)
        {
            return ValueTask.FromResult(ctx.IllegalField(4, 1));
        }
        return ValueTask.FromResult(ScsiOutcome.Good);
    }

    // ---- REPORT TARGET PORT GROUPS ------------------------------------------------------------------------------

    /// <summary>
    /// REPORT TARGET PORT GROUPS, SPC-5 §6.37. PARAMETER DATA FORMAT (byte 1 bits 7-5): 000b length-only header
    /// (RETURN DATA LENGTH, 4 bytes), 001b extended header (+ FORMAT TYPE 10h, IMPLICIT TRANSITION TIME, 8 bytes).
    /// Descriptor: state (| PREF 0x80), supported states, TPG id @2, STATUS CODE @5, port count @7, 4 bytes per port.
    /// </summary>
    private static ValueTask<ScsiOutcome> ReportTargetPortGroupsAsync(CommandContext ctx)
    {
        int pdf = ctx.Cdb[1] >> 5;
        if (pdf > 1)
        {
            return ValueTask.FromResult(ctx.IllegalField(1, 7));
        }
        var groups = ctx.Engine.Alua.GetTargetPortGroups(ctx.LogicalUnit, ctx.Nexus);
        int header = pdf == 1 ? 8 : 4;
        int length = header;
        foreach (var g in groups)
        {
            length += 8 + 4 * g.RelativeTargetPortIds.Count;
        }
        byte[] data = new byte[length];
        BinaryPrimitives.WriteUInt32BigEndian(data, (uint)(length - 4));
        if (pdf == 1)
        {
            data[4] = 0x10; // FORMAT TYPE 001b
            data[5] = ctx.Engine.Alua.ImplicitTransitionTimeSeconds;
        }
        int off = header;
        foreach (var g in groups)
        {
            data[off] = (byte)((g.Preferred ? 0x80 : 0) | (byte)g.State);
            data[off + 1] = g.SupportedStates;
            BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(off + 2), g.Id);
            data[off + 5] = g.StatusCode;
            data[off + 7] = (byte)g.RelativeTargetPortIds.Count;
            off += 8;
            foreach (ushort port in g.RelativeTargetPortIds)
            {
                BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(off + 2), port);
                off += 4;
            }
        }
        return ctx.SendDataInAsync(data, Cdb.U32(ctx.Cdb, 6));
    }

    // ---- REPORT SUPPORTED OPERATION CODES -----------------------------------------------------------------------

    /// <summary>
    /// REPORT SUPPORTED OPERATION CODES, SPC-5 §6.35. REPORTING OPTIONS (byte 2 bits 2-0): 000b all commands
    /// (8-byte descriptors: opcode, SA @2, flags @5 CTDP|SERVACTV, CDB LENGTH @6); 001b one opcode without SA;
    /// 010b one opcode + SA; 011b either. One-command data: SUPPORT @1 (011b/001b) | CTDP 0x80, CDB SIZE @2,
    /// usage data @4. RCTD (byte 2 bit 7) appends 12-byte timeouts descriptors.
    /// </summary>
    private static ValueTask<ScsiOutcome> ReportSupportedOperationCodesAsync(CommandContext ctx)
    {
        var cdb = ctx.Cdb;
        bool rctd = (cdb[2] & 0x80) != 0;
        int options = cdb[2] & 0x07;
        byte opcode = cdb[3];
        int serviceAction = Cdb.U16(cdb, 4);
        uint allocationLength = Cdb.U32(cdb, 6);
        var table = ctx.Engine.Commands;
        byte[] data;
        switch (options)
        {
            case 0:
            {
                var all = table.All;
                int each = 8 + (rctd ? 12 : 0);
                data = new byte[4 + each * all.Count];
                BinaryPrimitives.WriteUInt32BigEndian(data, (uint)(data.Length - 4));
                int off = 4;
                foreach (var d in all)
                {
                    data[off] = d.Opcode;
                    if (d.HasServiceAction)
                    {
                        BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(off + 2), (ushort)d.ServiceAction);
                    }
                    data[off + 5] = (byte)((rctd ? 0x02 : 0) | (d.HasServiceAction ? 0x01 : 0));
                    BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(off + 6), (ushort)d.CdbLength);
                    if (rctd)
                    {
                        WriteTimeouts(data.AsSpan(off + 8), d);
                    }
                    off += each;
                }
                break;
            }
            case 1:
            case 2:
            case 3:
            {
                bool usesSa = table.UsesServiceAction(opcode);
                if ((options == 1 && usesSa) || (options == 2 && !usesSa && table.Find(opcode, -1) is not null))
                {
                    return ValueTask.FromResult(ctx.IllegalField(2, 2));
                }
                var d = usesSa && options != 1 ? table.Find(opcode, serviceAction) : table.Find(opcode, -1);
                if (d is null)
                {
                    data = new byte[4];
                    data[1] = 0x01; // not supported
                    break;
                }
                data = new byte[4 + d.CdbLength + (rctd ? 12 : 0)];
                data[1] = (byte)((rctd ? 0x80 : 0) | 0x03);
                BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(2), (ushort)d.CdbLength);
                d.CdbUsage.CopyTo(data, 4);
                if (rctd)
                {
                    WriteTimeouts(data.AsSpan(4 + d.CdbLength), d);
                }
                break;
            }
            default:
                return ValueTask.FromResult(ctx.IllegalField(2, 2));
        }
        return ctx.SendDataInAsync(data, allocationLength);
    }

    /// <summary>Command timeouts descriptor, SPC-5 §6.35.4: DESCRIPTOR LENGTH 000Ah, NOMINAL @4, RECOMMENDED @8.</summary>
    private static void WriteTimeouts(Span<byte> dest, CommandDescriptor d)
    {
        BinaryPrimitives.WriteUInt16BigEndian(dest, 0x000A);
        BinaryPrimitives.WriteUInt32BigEndian(dest[4..], d.NominalTimeoutSeconds);
        BinaryPrimitives.WriteUInt32BigEndian(dest[8..], d.RecommendedTimeoutSeconds);
    }

    // ---- REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS -------------------------------------------------------------

    /// <summary>
    /// SPC-5 §6.36: byte 0 ATS|ATSS|CTSS|LURS|QTS|TRS, byte 1 QAES|QTSS|ITNRS; REPTD (byte 2 bit 7) selects the
    /// 16-byte extended format (ADDITIONAL DATA LENGTH 0Ch).
    /// </summary>
    private static ValueTask<ScsiOutcome> ReportSupportedTmfAsync(CommandContext ctx)
    {
        bool extended = (ctx.Cdb[2] & 0x80) != 0;
        byte[] data = new byte[extended ? 16 : 4];
        data[0] = 0x80 | 0x40 | 0x10 | 0x08 | 0x04 | 0x02;
        data[1] = 0x04 | 0x02 | 0x01;
        if (extended)
        {
            data[3] = 0x0C;
        }
        return ctx.SendDataInAsync(data, Cdb.U32(ctx.Cdb, 6));
    }
}

/// <summary>Entry points of <see cref="PrimaryCommands"/> used by the engine for commands without a logical unit.</summary>
internal static class PrimaryCommandsBridge
{
    public static byte[] StandardInquiry(byte peripheral) => PrimaryCommands.StandardInquiry(null, peripheral);

    public static async ValueTask<ScsiOutcome> SendAsync(ScsiTask task, byte[] data, uint allocationLength, CancellationToken cancellationToken)
    {
        int n = (int)Math.Min(data.Length, allocationLength);
        if (n > 0)
        {
            await task.Channel.SendDataInAsync(data.AsMemory(0, n), 0, true, cancellationToken).ConfigureAwait(false);
        }
        return ScsiOutcome.Good;
    }

    // A LUN that does not exist does not clear 3F/0E (ctl-ha.md §9: only when the addressed LUN exists).
    public static ValueTask<ScsiOutcome> ReportLunsAsync(ScsiEngine engine, ScsiTask task, int slot) =>
        PrimaryCommands.ReportLuns(engine, task, descriptorSense: false, slot, clearLunChange: false);
}

using CtlHa.Core;
using CtlHa.Scsi.Reservations;

// The Reservations/ half of the partial CommandTable (engine README "Plug-in contract").
namespace CtlHa.Scsi.Commands;

public sealed partial class CommandTable
{
    private const byte ReservationControl = 0x07;

    /// <summary>
    /// PERSISTENT RESERVE IN (5Eh, service actions 00h–03h), PERSISTENT RESERVE OUT (5Fh, 00h–06h), RESERVE(6)/(10),
    /// RELEASE(6)/(10). All pass a standby path (ctl-ha.md §5.4 OK_ON_STANDBY).
    /// </summary>
    static partial void RegisterReservationCommands(CommandTable table)
    {
        const byte C = ReservationControl;
        for (int sa = 0; sa <= (int)PrInServiceAction.ReadFullStatus; sa++)
        {
            var action = (PrInServiceAction)sa;
            table.Register(new CommandDescriptor
            {
                Opcode = PrInData.OpCode, ServiceAction = sa, Name = $"PERSISTENT RESERVE IN {PrInName(action)}",
                Handler = ReservationHandlers.PersistentReserveInAsync,
                Serialization = action is PrInServiceAction.ReportCapabilities or PrInServiceAction.ReadFullStatus
                    ? SerializationClass.Inquiry : SerializationClass.Reservation,
                Reservation = Commands.ReservationAccess.Allowed,
                Flags = CommandFlags.OkOnStandby,
                // SPC-5 §6.16.1: 1 SERVICE ACTION; 7..8 ALLOCATION LENGTH.
                CdbUsage = [0x5E, 0x1F, 0, 0, 0, 0, 0, 0xFF, 0xFF, C],
            });
        }
        for (int sa = 0; sa <= (int)PrOutServiceAction.RegisterAndIgnoreExistingKey; sa++)
        {
            table.Register(new CommandDescriptor
            {
                Opcode = PrOutRequest.OpCode, ServiceAction = sa, Name = $"PERSISTENT RESERVE OUT {PrOutName((PrOutServiceAction)sa)}",
                Handler = ReservationHandlers.PersistentReserveOutAsync,
                Serialization = SerializationClass.Reservation,
                Reservation = Commands.ReservationAccess.Allowed,
                Flags = CommandFlags.OkOnStandby,
                // SPC-5 §6.17.1: 1 SERVICE ACTION; 2 SCOPE/TYPE; 5..8 PARAMETER LIST LENGTH.
                CdbUsage = [0x5F, 0x1F, 0xFF, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, C],
            });
        }
        // SPC-2 §7.21/§7.17: RESERVE(6)/RELEASE(6) have no fields we use (extents and third-party are obsolete);
        // RESERVE(10)/RELEASE(10) 3RDPTY and LONGID are rejected by the handler with a precise pointer.
        table.Register(Scsi2(0x16, "RESERVE(6)", ReservationHandlers.ReserveAsync, [0x16, 0, 0, 0, 0, C]));
        table.Register(Scsi2(0x17, "RELEASE(6)", ReservationHandlers.ReleaseAsync, [0x17, 0, 0, 0, 0, C], allowOnReserve: true));
        table.Register(Scsi2(0x56, "RESERVE(10)", ReservationHandlers.ReserveAsync, [0x56, 0x12, 0, 0, 0, 0, 0, 0, 0, C]));
        table.Register(Scsi2(0x57, "RELEASE(10)", ReservationHandlers.ReleaseAsync, [0x57, 0x12, 0, 0, 0, 0, 0, 0, 0, C], allowOnReserve: true));
    }

    private static CommandDescriptor Scsi2(byte opcode, string name, CommandHandler handler, byte[] usage, bool allowOnReserve = false) => new()
    {
        Opcode = opcode, Name = name, Handler = handler, Serialization = SerializationClass.Reservation,
        Reservation = Commands.ReservationAccess.Allowed,
        Flags = CommandFlags.OkOnStandby | (allowOnReserve ? CommandFlags.AllowOnScsi2Reserve : CommandFlags.None),
        CdbUsage = usage,
    };

    private static string PrInName(PrInServiceAction action) => action switch
    {
        PrInServiceAction.ReadKeys => "READ KEYS",
        PrInServiceAction.ReadReservation => "READ RESERVATION",
        PrInServiceAction.ReportCapabilities => "REPORT CAPABILITIES",
        _ => "READ FULL STATUS",
    };

    private static string PrOutName(PrOutServiceAction action) => action switch
    {
        PrOutServiceAction.Register => "REGISTER",
        PrOutServiceAction.Reserve => "RESERVE",
        PrOutServiceAction.Release => "RELEASE",
        PrOutServiceAction.Clear => "CLEAR",
        PrOutServiceAction.Preempt => "PREEMPT",
        PrOutServiceAction.PreemptAndAbort => "PREEMPT AND ABORT",
        _ => "REGISTER AND IGNORE EXISTING KEY",
    };
}

/// <summary>Command handlers for the reservation commands: move data, call the pure state, post side effects.</summary>
internal static class ReservationHandlers
{
    public static ValueTask<ScsiOutcome> PersistentReserveInAsync(CommandContext ctx)
    {
        var result = ctx.LogicalUnit.ReservationState.PersistentReserveIn(ctx.Cdb);
        if (result.Outcome.Status != ScsiStatus.Good)
        {
            return ValueTask.FromResult(Rewrap(ctx, result.Outcome));
        }
        return ctx.SendDataInAsync(result.Data, (uint)PrInData.AllocationLength(ctx.Cdb));
    }

    public static async ValueTask<ScsiOutcome> PersistentReserveOutAsync(CommandContext ctx)
    {
        if (PrOutRequest.CheckCdb(ctx.Cdb) is { } invalid)
        {
            return ctx.Check(invalid);
        }
        var parameters = new byte[PrOutRequest.BasicParameterListLength];
        await ctx.ReceiveDataOutAsync(parameters).ConfigureAwait(false);
        var lun = ctx.LogicalUnit;
        var state = lun.ReservationState;
        var result = state.PersistentReserveOut(ctx.Nexus, ctx.Task.Cdb.Span, parameters);
        if (result.Replicate is { } replicated)
        {
            lun.PostReservationEffects(result, ctx.Nexus);
            if (state.ReplicateAsync is { } replicate)
            {
                await replicate(PrNexus.From(ctx.Nexus), replicated, ctx.CancellationToken).ConfigureAwait(false);
            }
        }
        return Rewrap(ctx, result.Outcome);
    }

    public static ValueTask<ScsiOutcome> ReserveAsync(CommandContext ctx) =>
        ValueTask.FromResult(Rewrap(ctx, ctx.LogicalUnit.ReservationState.Reserve(ctx.Nexus, ctx.Cdb)));

    public static ValueTask<ScsiOutcome> ReleaseAsync(CommandContext ctx) =>
        ValueTask.FromResult(Rewrap(ctx, ctx.LogicalUnit.ReservationState.Release(ctx.Nexus, ctx.Cdb)));

    /// <summary>The pure code builds fixed-format sense; the LU's D_SENSE decides the format sent.</summary>
    private static ScsiOutcome Rewrap(CommandContext ctx, ScsiOutcome outcome) =>
        outcome.Sense is { } sense ? ctx.Check(sense) : outcome;
}

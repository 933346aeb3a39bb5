using CtlHa.Core;
using CtlHa.Scsi.Copy;

// The Copy/ half of the partial CommandTable (engine README "Plug-in contract").
namespace CtlHa.Scsi.Commands;

public sealed partial class CommandTable
{
    /// <summary>
    /// EXTENDED COPY (LID1, 83h/00h) and RECEIVE COPY RESULTS (84h: 00h COPY STATUS, 03h OPERATING PARAMETERS,
    /// 04h FAILED SEGMENT DETAILS), SPC-4 §6.4 and §6.18. RECEIVE DATA (01h) is not offered: no held data.
    /// </summary>
    static partial void RegisterCopyCommands(CommandTable table)
    {
        const byte C = 0x07;
        table.Register(new CommandDescriptor
        {
            Opcode = CopyResultsData.ExtendedCopyOpCode, ServiceAction = 0x00, Name = "EXTENDED COPY(LID1)",
            Handler = CopyHandlers.ExtendedCopyAsync, Serialization = SerializationClass.ReadCapacity,
            Reservation = Commands.ReservationAccess.Write,
            // SPC-4 §6.4.1: 10..13 PARAMETER LIST LENGTH.
            CdbUsage = [0x83, 0x1F, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, C],
            NominalTimeoutSeconds = 10, RecommendedTimeoutSeconds = 60,
        });
        foreach (byte sa in (ReadOnlySpan<byte>)[0x00, 0x03, 0x04])
        {
            table.Register(new CommandDescriptor
            {
                Opcode = CopyResultsData.ReceiveCopyResultsOpCode, ServiceAction = sa,
                Name = sa switch { 0x00 => "RECEIVE COPY STATUS(LID1)", 0x03 => "RECEIVE COPY OPERATING PARAMETERS", _ => "RECEIVE COPY FAILURE DETAILS(LID1)" },
                Handler = CopyHandlers.ReceiveCopyResultsAsync, Serialization = SerializationClass.ReadCapacity,
                Reservation = Commands.ReservationAccess.Read,
                Flags = sa == 0x03 ? CommandFlags.OkOnStandby : CommandFlags.None,
                // SPC-4 §6.18.1: 2 LIST IDENTIFIER; 10..13 ALLOCATION LENGTH.
                CdbUsage = [0x84, 0x1F, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, C],
            });
        }
    }
}

/// <summary>Handlers for EXTENDED COPY and RECEIVE COPY RESULTS.</summary>
internal static class CopyHandlers
{
    public static async ValueTask<ScsiOutcome> ExtendedCopyAsync(CommandContext ctx)
    {
        uint length = ExtendedCopyParameters.ParameterListLength(ctx.Cdb);
        if (length == 0)
        {
            // SPC-4 §6.4.1: a zero PARAMETER LIST LENGTH is not an error; nothing is copied.
            return ScsiOutcome.Good;
        }
        if (length < ExtendedCopyParameters.HeaderLength || length > ExtendedCopyParameters.MaxParameterListLength)
        {
            return ctx.ParameterListLengthError();
        }
        var data = new byte[length];
        await ctx.ReceiveDataOutAsync(data).ConfigureAwait(false);
        if (!ExtendedCopyParameters.TryParse(data, out var list, out var sense))
        {
            return ctx.Check(sense);
        }
        var engine = ctx.Engine;
        var nexus = ctx.Nexus;
        return await ctx.LogicalUnit.CopyState.ExecuteAsync(nexus.Id, list, d => Resolve(engine, nexus, d), ctx.DescriptorSense, ctx.CancellationToken)
            .ConfigureAwait(false);
    }

    public static ValueTask<ScsiOutcome> ReceiveCopyResultsAsync(CommandContext ctx)
    {
        var cdb = ctx.Cdb;
        byte sa = (byte)(cdb[1] & 0x1F);
        byte listId = cdb[2];
        uint allocationLength = CopyResultsData.AllocationLength(cdb);
        var lun = ctx.LogicalUnit;
        if (sa == 0x03)
        {
            return ctx.SendDataInAsync(CopyResultsData.OperatingParameters(lun.BlockSize), allocationLength);
        }
        // SPC-4 §6.18.3: a list identifier with no held results is an invalid field (CDB byte 2).
        if (lun.CopyState.Find(ctx.Nexus.Id, listId) is not { } result)
        {
            return ValueTask.FromResult(ctx.IllegalField(2));
        }
        byte[] data = sa == 0x00 ? CopyResultsData.CopyStatus(result) : CopyResultsData.FailedSegmentDetails(result);
        return ctx.SendDataInAsync(data, allocationLength);
    }

    /// <summary>
    /// An identification descriptor CSCD names an LU of this node by the NAA or EUI-64 designator of its VPD 83h page
    /// (association 0, logical unit), which is <see cref="LogicalUnit.DeviceId"/>. Only block devices (type 0) qualify.
    /// </summary>
    private static ICopyTarget? Resolve(ScsiEngine engine, ITNexus nexus, CscdDescriptor d)
    {
        if (d.PeripheralDeviceType != 0 || d.Association != 0 || d.DesignatorType is not (2 or 3))
        {
            return null;
        }
        foreach (var lun in engine.LogicalUnits)
        {
            if (lun.DeviceId.AsSpan().SequenceEqual(d.Designator))
            {
                return new LogicalUnitCopyTarget(lun, nexus);
            }
        }
        return null;
    }

    /// <summary>Reads and writes an LU's backend directly, as CTL's TPC does through its internal I/Os.</summary>
    private sealed class LogicalUnitCopyTarget(LogicalUnit lun, ITNexus nexus) : ICopyTarget
    {
        private static readonly byte[] s_read16 = [0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        private static readonly byte[] s_write16 = [0x8A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

        public int BlockSize => lun.BlockSize;

        public long BlockCount => lun.BlockCount;

        public bool ReadOnly => lun.ReadOnly || lun.Mode.SoftwareWriteProtect;

        public bool ReservationConflict(bool write) => lun.ReservationState.Conflicts(nexus, write ? s_write16 : s_read16);

        public ValueTask ReadAsync(long lba, Memory<byte> destination, CancellationToken cancellationToken) =>
            lun.Backend.ReadAsync(lba * lun.BlockSize, destination, cancellationToken);

        public ValueTask WriteAsync(long lba, ReadOnlyMemory<byte> source, CancellationToken cancellationToken) =>
            lun.Backend.WriteAsync(lba * lun.BlockSize, source, forceUnitAccess: false, cancellationToken);
    }
}

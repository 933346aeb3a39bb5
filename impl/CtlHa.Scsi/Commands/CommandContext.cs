using CtlHa.Core;

namespace CtlHa.Scsi.Commands;

/// <summary>
/// One command in flight on a logical unit: what a <see cref="CommandHandler"/> gets. It carries the task, the LU,
/// the nexus and the parsed command entry, builds sense values in the LU's current sense format, and moves data.
/// It is also the command's entry in the LU's order-of-arrival (OOA) queue.
/// </summary>
public sealed class CommandContext
{
    private readonly CancellationTokenSource _cts;

    internal CommandContext(ScsiEngine engine, LogicalUnit lun, ScsiTask task, CommandDescriptor command, CancellationTokenSource cts)
    {
        Engine = engine;
        LogicalUnit = lun;
        Task = task;
        Command = command;
        _cts = cts;
        Attribute = task.Attribute;
        if (command.Extent is { } parser && parser(task.Cdb.Span, out ulong lba, out ulong blocks))
        {
            HasExtent = true;
            Lba = lba;
            Blocks = blocks;
        }
    }

    public ScsiEngine Engine { get; }

    public LogicalUnit LogicalUnit { get; }

    public ScsiTask Task { get; }

    public ITNexus Nexus => Task.Nexus;

    public CommandDescriptor Command { get; }

    public ReadOnlySpan<byte> Cdb => Task.Cdb.Span;

    /// <summary>Cancelled when the task is aborted (task management) or the transport goes away.</summary>
    public CancellationToken CancellationToken => _cts.Token;

    /// <summary>Sense in descriptor format: control mode page D_SENSE (SPC-5 §7.5.8).</summary>
    public bool DescriptorSense => LogicalUnit.Mode.DescriptorSense;

    /// <summary>The task was aborted by a task management function.</summary>
    public bool IsAborted => Volatile.Read(ref _aborted) != 0;

    // ---- sense builders -------------------------------------------------------------------------------------

    public ScsiOutcome Check(SenseKey key, byte asc, byte ascq) =>
        ScsiOutcome.Check(new Sense(key, asc, ascq), DescriptorSense);

    public ScsiOutcome Check(Sense sense) => ScsiOutcome.Check(sense, DescriptorSense);

    /// <summary>ILLEGAL REQUEST 24/00 INVALID FIELD IN CDB with the SKS field pointer (C/D=1) at the byte (and bit).</summary>
    public ScsiOutcome IllegalField(int byteOffset, int bit = -1) =>
        Check(new Sense(SenseKey.IllegalRequest, 0x24, 0x00).WithSks(Sense.FieldPointer(true, (ushort)byteOffset, bit)));

    /// <summary>ILLEGAL REQUEST 26/00 INVALID FIELD IN PARAMETER LIST, field pointer (C/D=0) into the parameter data.</summary>
    public ScsiOutcome InvalidParameter(int byteOffset, int bit = -1) =>
        Check(new Sense(SenseKey.IllegalRequest, 0x26, 0x00).WithSks(Sense.FieldPointer(false, (ushort)byteOffset, bit)));

    /// <summary>ILLEGAL REQUEST 1A/00 PARAMETER LIST LENGTH ERROR.</summary>
    public ScsiOutcome ParameterListLengthError() => Check(SenseKey.IllegalRequest, 0x1A, 0x00);

    /// <summary>ILLEGAL REQUEST 21/00 LOGICAL BLOCK ADDRESS OUT OF RANGE.</summary>
    public ScsiOutcome LbaOutOfRange() => Check(SenseKey.IllegalRequest, 0x21, 0x00);

    /// <summary>ILLEGAL REQUEST 20/00 INVALID COMMAND OPERATION CODE.</summary>
    public ScsiOutcome InvalidOpcode() => Check(SenseKey.IllegalRequest, 0x20, 0x00);

    // ---- data movement --------------------------------------------------------------------------------------

    /// <summary>
    /// Sends a command's whole parameter data clipped to <paramref name="allocationLength"/> (SPC-5 §4.2.5.6) as the
    /// final Data-In, and returns GOOD.
    /// </summary>
    public async ValueTask<ScsiOutcome> SendDataInAsync(ReadOnlyMemory<byte> data, uint allocationLength)
    {
        if (data.Length > allocationLength)
        {
            data = data[..(int)allocationLength];
        }
        if (!data.IsEmpty)
        {
            await Task.Channel.SendDataInAsync(data, 0, true, CancellationToken).ConfigureAwait(false);
        }
        return ScsiOutcome.Good;
    }

    /// <summary>Sends Data-In at an offset (for commands that stream data in pieces).</summary>
    public ValueTask SendDataInAsync(ReadOnlyMemory<byte> data, uint bufferOffset, bool finalWithGoodStatus) =>
        Task.Channel.SendDataInAsync(data, bufferOffset, finalWithGoodStatus, CancellationToken);

    /// <summary>Receives Data-Out (parameter list or write data) at an offset.</summary>
    public ValueTask ReceiveDataOutAsync(Memory<byte> destination, uint bufferOffset = 0) =>
        Task.Channel.ReceiveDataOutAsync(destination, bufferOffset, CancellationToken);

    // ---- OOA queue ------------------------------------------------------------------------------------------

    /// <summary>
    /// The final media read of a READ is done (CTL <c>ctl_serseq_done</c>): adjacent younger READs may start even though
    /// this command's data is still being sent. Call it right after the backend read, before Data-In.
    /// </summary>
    public void MarkSerSeqDone() => LogicalUnit.Ooa.SerSeqDone(this);

    /// <summary>
    /// UNMAP: the ranges are known now (its parameter data arrived). Younger READ/WRITE commands that were blocked
    /// behind this UNMAP as "whole disk" are re-checked against the actual ranges.
    /// </summary>
    public void SetUnmapRanges(IReadOnlyList<(ulong Lba, ulong Blocks)> ranges) => LogicalUnit.Ooa.SetUnmapRanges(this, ranges);

    internal TaskAttribute Attribute { get; }

    internal bool HasExtent { get; }

    internal ulong Lba { get; }

    internal ulong Blocks { get; }

    // Guarded by the OOA queue lock.
    internal bool SerSeqDoneFlag;
    internal IReadOnlyList<(ulong Lba, ulong Blocks)>? UnmapRanges;
    internal CommandContext? BlockedBy;
    internal TaskCompletionSource? Waiter;

    private int _aborted;

    internal bool ReportAborted { get; private set; }

    /// <summary>Marks aborted and cancels; returns false if it already was.</summary>
    internal bool MarkAborted(bool report)
    {
        if (Interlocked.Exchange(ref _aborted, 1) != 0)
        {
            return false;
        }
        ReportAborted = report;
        return true;
    }

    internal void CancelIo()
    {
        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // completed meanwhile
        }
    }

    public override string ToString() => $"{Command.Name} {Task}";
}

namespace CtlHa.Core;

/// <summary>
/// The seam between a transport frontend (iSCSI) and whatever executes SCSI commands
/// (the local engine, or the HA layer in front of it). One instance serves every session.
/// </summary>
public interface IScsiTarget
{
    /// <summary>A new I_T nexus exists (iSCSI: a session's leading login completed).</summary>
    void NexusCreated(ITNexus nexus);

    /// <summary>
    /// The I_T nexus is gone (session closed, dropped or reinstated). SAM-5 §6.3.4 I_T nexus loss:
    /// the target aborts the nexus's tasks and sets 29/07 for it.
    /// </summary>
    void NexusLost(ITNexus nexus);

    /// <summary>
    /// Executes one SCSI command. Data moves through <see cref="ScsiTask.Channel"/>. Completes when
    /// the command is done; the returned outcome carries the status and sense to send, unless the
    /// status was already sent collapsed with the last Data-In (then the outcome is GOOD).
    /// Never throws for SCSI errors; an <see cref="OperationCanceledException"/> only when the transport is gone.
    /// </summary>
    ValueTask<ScsiOutcome> ExecuteAsync(ScsiTask task, CancellationToken cancellationToken);

    /// <summary>Performs a task management function (SAM-5 §7). Tasks it aborts complete with <see cref="ScsiOutcome.IsAborted"/>.</summary>
    ValueTask<TaskManagementResponse> TaskManagementAsync(TaskManagementRequest request, CancellationToken cancellationToken);
}

/// <summary>A task management request as the frontend received it.</summary>
/// <param name="ReferencedTag">For ABORT TASK / QUERY TASK: the Initiator Task Tag of the referenced task.</param>
public sealed record TaskManagementRequest(ITNexus Nexus, TaskManagementFunction Function, ulong Lun, uint ReferencedTag);

/// <summary>Data direction(s) the initiator declared (iSCSI R and W bits).</summary>
[Flags]
public enum DataDirection : byte
{
    None = 0,
    Write = 1,
    Read = 2,
}

/// <summary>
/// One SCSI command (task) as received by a frontend. Created per command by the frontend;
/// the executor reads it and moves data through <see cref="Channel"/>.
/// </summary>
public sealed class ScsiTask
{
    public required ITNexus Nexus { get; init; }

    /// <summary>The raw 8-byte LUN field (decode with <see cref="LunAddress.Decode"/>).</summary>
    public required ulong Lun { get; init; }

    /// <summary>The CDB (6 to 16 bytes, or longer with AHS).</summary>
    public required ReadOnlyMemory<byte> Cdb { get; init; }

    /// <summary>Initiator Task Tag.</summary>
    public required uint Tag { get; init; }

    public TaskAttribute Attribute { get; init; } = TaskAttribute.Simple;

    /// <summary>Expected Data Transfer Length declared by the initiator.</summary>
    public required uint ExpectedDataTransferLength { get; init; }

    public DataDirection Direction { get; init; }

    /// <summary>Moves data between the executor and the initiator.</summary>
    public required IScsiDataChannel Channel { get; init; }

    public override string ToString() => $"tag 0x{Tag:x8} op 0x{(Cdb.IsEmpty ? 0 : Cdb.Span[0]):x2} lun {LunAddress.Decode(Lun)} {Nexus}";
}

/// <summary>
/// Data transfer for one command, implemented by the frontend (CTL's "datamove").
/// Offsets are relative to the start of the command's data buffer; each direction's calls
/// come in increasing offset order and never overlap. The frontend clips transfers to the
/// Expected Data Transfer Length and computes residuals from what was actually moved.
/// </summary>
public interface IScsiDataChannel
{
    /// <summary>
    /// Fills <paramref name="destination"/> with Data-Out bytes starting at <paramref name="bufferOffset"/>
    /// (immediate/unsolicited data first, then R2T-solicited data). Bytes beyond the EDTL read as zero, but an
    /// executor must not store them: when the CDB's transfer length exceeds the EDTL (iSCSI residual overflow,
    /// RFC 7143 §11.4.5.1), only the first EDTL bytes are written and the command completes GOOD; the frontend
    /// reports the overflow residual (libiscsi iSCSIResiduals.Write* expects exactly this).
    /// </summary>
    ValueTask ReceiveDataOutAsync(Memory<byte> destination, uint bufferOffset, CancellationToken cancellationToken);

    /// <summary>
    /// Sends Data-In bytes at <paramref name="bufferOffset"/>. When <paramref name="finalWithGoodStatus"/> is true this is
    /// the last data of a command that completes with GOOD, and the frontend may collapse the status into the last
    /// Data-In PDU (RFC 7143 §11.7.4). Completes when the data is handed to the transport: a slow initiator slows it.
    /// </summary>
    ValueTask SendDataInAsync(ReadOnlyMemory<byte> source, uint bufferOffset, bool finalWithGoodStatus, CancellationToken cancellationToken);
}

/// <summary>How a command ended.</summary>
public readonly record struct ScsiOutcome(ScsiStatus Status, Sense? Sense = null)
{
    public static ScsiOutcome Good => new(ScsiStatus.Good);

    /// <summary>The task was aborted; the frontend sends no response unless <see cref="ReportTaskAborted"/> (TAS=1, another nexus's TMF).</summary>
    public bool IsAborted { get; init; }

    /// <summary>Send status TASK ABORTED (0x40) for an aborted task.</summary>
    public bool ReportTaskAborted { get; init; }

    /// <summary>Sense data in descriptor format (D_SENSE=1) rather than fixed format.</summary>
    public bool DescriptorSense { get; init; }

    public static ScsiOutcome Check(Sense sense, bool descriptor = false) => new(ScsiStatus.CheckCondition, sense) { DescriptorSense = descriptor };

    public static ScsiOutcome Aborted(bool report) => new(ScsiStatus.TaskAborted) { IsAborted = true, ReportTaskAborted = report };

    public override string ToString() => Sense is { } s ? $"{Status} {s}" : Status.ToString();
}

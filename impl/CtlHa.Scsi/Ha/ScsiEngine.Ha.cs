using System.Runtime.CompilerServices;
using CtlHa.Core;
using CtlHa.Scsi.Commands;
using CtlHa.Scsi.Ordering;

// The namespace is the engine's, not the folder's: this file is the HA half of the partial ScsiEngine
// (impl/README.md "HA layer plan": pre-check, execution without UA reporting, shadow OOA entries).
namespace CtlHa.Scsi;

public sealed partial class ScsiEngine
{
    /// <summary>
    /// The checks a node makes itself before it forwards a command to the HA primary (ctl-ha.md §5.2, §9): the command
    /// must be supported with a valid CDB, then a pending unit attention of the (local) nexus is reported here, because
    /// UA state lives on the node that owns the nexus. Null = forward it.
    /// </summary>
    public ScsiOutcome? CheckBeforeForwarding(ScsiTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        var cdb = task.Cdb.Span;
        var lun = FindLogicalUnit(LunAddress.Decode(task.Lun));
        var command = Commands.Lookup(cdb);
        if (lun is null || command is null)
        {
            return ScsiOutcome.Check(new Sense(SenseKey.IllegalRequest, 0x25, 0x00));
        }
        bool descriptorSense = lun.Mode.DescriptorSense;
        if (ValidateCdb(cdb, command) is { } invalid)
        {
            return ScsiOutcome.Check(invalid, descriptorSense);
        }
        return TakeUnitAttention(lun, GetNexus(task.Nexus), command, descriptorSense);
    }

    /// <summary>
    /// The unit attention now pending for the task's nexus on its LUN, as the task's outcome (and gone); null if none
    /// or the command ignores UAs. For an originator whose forwarded command was refused without effect (RESERVATION
    /// CONFLICT) after commands ahead of it on the primary queued a UA for it: answered as if it arrived after them.
    /// </summary>
    public ScsiOutcome? TakePendingUnitAttention(ScsiTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        var lun = FindLogicalUnit(LunAddress.Decode(task.Lun));
        var command = Commands.Lookup(task.Cdb.Span);
        return lun is null || command is null ? null : TakeUnitAttention(lun, GetNexus(task.Nexus), command, lun.Mode.DescriptorSense);
    }

    /// <summary>
    /// Executes a command without reporting unit attentions: a command of the peer's nexus on the primary (proxy mode;
    /// the originating node reported its UAs), or a command this node already checked before it was serialized by the
    /// primary (standby/shared after ReadyToRun). Otherwise exactly <see cref="ExecuteAsync"/> (the same core).
    /// </summary>
    public ValueTask<ScsiOutcome> ExecuteWithoutUnitAttentionAsync(ScsiTask task, CancellationToken cancellationToken) =>
        ExecuteCoreAsync(task, reportUnitAttention: false, cancellationToken);

    /// <summary>
    /// Places a shadow of a command the HA peer will execute itself (standby/shared, ctl-ha.md §6.1) in the LU's OOA
    /// queue and waits until no older command blocks it. The primary's queue is then the single ordering point of both
    /// nodes. Returns the entry to <see cref="ReleaseShadow"/> when the peer reports FinishIo (or the link drops), or the
    /// failure to send back (overlapped tag 4D/xx, overlapped command 4E/00, unknown LUN or opcode).
    /// </summary>
    public async ValueTask<(ShadowEntry? Entry, ScsiOutcome Failure)> AdmitShadowAsync(ScsiTask task, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(task);
        var lun = FindLogicalUnit(LunAddress.Decode(task.Lun));
        var command = Commands.Lookup(task.Cdb.Span);
        if (lun is null || command is null)
        {
            return (null, ScsiOutcome.Check(new Sense(SenseKey.IllegalRequest, 0x25, 0x00)));
        }
        GetNexus(task.Nexus);
        var cts = new CancellationTokenSource();
        var ctx = new CommandContext(this, lun, task, command, cts);
        switch (lun.Ooa.Admit(ctx))
        {
            case OoaAdmission.Overlap:
                cts.Dispose();
                return (null, ctx.Check(SenseKey.IllegalRequest, 0x4E, 0x00));
            case OoaAdmission.OverlapTag:
                cts.Dispose();
                return (null, ctx.Check(SenseKey.IllegalRequest, 0x4D, (byte)task.Tag));
            case OoaAdmission.Blocked:
                try
                {
                    await ctx.Waiter!.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    lun.Ooa.Complete(ctx);
                    cts.Dispose();
                    throw;
                }
                break;
        }
        if (ctx.IsAborted)
        {
            lun.Ooa.Complete(ctx);
            cts.Dispose();
            return (null, ScsiOutcome.Aborted(ctx.ReportAborted));
        }
        return (new ShadowEntry(ctx, cts), default);
    }

    /// <summary>Removes a shadow entry and releases whatever waited for it (FinishIo, failover).</summary>
    public static void ReleaseShadow(ShadowEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        entry.Release();
    }
}

/// <summary>A shadow of a peer's command in this node's OOA queue (CTL: an I/O flagged FROM_OTHER_SC).</summary>
public sealed class ShadowEntry
{
    private readonly CommandContext _context;
    private readonly CancellationTokenSource _cts;
    private int _released;

    internal ShadowEntry(CommandContext context, CancellationTokenSource cts)
    {
        _context = context;
        _cts = cts;
    }

    public ITNexus Nexus => _context.Nexus;

    public bool IsAborted => _context.IsAborted;

    internal void Release()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }
        _context.LogicalUnit.Ooa.Complete(_context);
        _cts.Dispose();
    }
}

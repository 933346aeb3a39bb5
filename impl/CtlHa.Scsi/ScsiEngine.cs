using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using CtlHa.Core;
using CtlHa.Scsi.Alua;
using CtlHa.Scsi.Backends;
using CtlHa.Scsi.Commands;
using CtlHa.Scsi.Ordering;
using Microsoft.Extensions.Logging;

namespace CtlHa.Scsi;

/// <summary>
/// The local SCSI block target (CTL's core + block backend): dispatches each command to its logical unit, reports unit
/// attentions, checks ALUA gates and reservations, orders commands in the LU's OOA queue and runs the handler.
/// </summary>
public sealed partial class ScsiEngine : IScsiTarget
{
    private readonly LogicalUnit?[] _lunById;
    private readonly List<LogicalUnit> _luns;
    private readonly ConcurrentDictionary<long, NexusState> _nexuses = new();
    private readonly Lock _slotLock = new();
    private readonly Dictionary<(string InitiatorPort, ushort RelativeTargetPort), int> _slots = [];
    private readonly ILogger _logger;
    private int _slotCount;

    public ScsiEngine(IEnumerable<LogicalUnit> luns, ScsiEngineOptions options, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(luns);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        Options = options;
        Alua = options.Alua ?? SingleGroupAluaProvider.Instance;
        Commands = CommandTable.Default;
        _logger = loggerFactory.CreateLogger<ScsiEngine>();
        _luns = [.. luns];
        _luns.Sort(static (a, b) => a.LunId.CompareTo(b.LunId));
        int max = _luns.Count == 0 ? 0 : _luns[^1].LunId;
        _lunById = new LogicalUnit?[max + 1];
        foreach (var lun in _luns)
        {
            if (_lunById[lun.LunId] is not null)
            {
                throw new ArgumentException($"Duplicate LUN {lun.LunId}.", nameof(luns));
            }
            if (lun.Engine is not null)
            {
                throw new ArgumentException($"LUN {lun.LunId} already belongs to an engine.", nameof(luns));
            }
            lun.Engine = this;
            _lunById[lun.LunId] = lun;
        }
    }

    public ScsiEngineOptions Options { get; }

    public IAluaProvider Alua { get; }

    public CommandTable Commands { get; }

    /// <summary>Logical units in LUN order.</summary>
    public IReadOnlyList<LogicalUnit> LogicalUnits => _luns;

    /// <summary>I_T nexuses that currently exist.</summary>
    public IEnumerable<ITNexus> Nexuses
    {
        get
        {
            foreach (var kv in _nexuses)
            {
                yield return kv.Value.Nexus;
            }
        }
    }

    public LogicalUnit? FindLogicalUnit(int lunId) => lunId >= 0 && lunId < _lunById.Length ? _lunById[lunId] : null;

    internal int SlotCount => Volatile.Read(ref _slotCount);

    /// <summary>
    /// The UA slot of an I_T nexus: keyed by initiator port name and relative target port, so a reinstated session of
    /// the same initiator port finds the UAs (29/07) its predecessor left.
    /// </summary>
    internal int SlotOf(ITNexus nexus)
    {
        if (_nexuses.TryGetValue(nexus.Id, out var state))
        {
            return state.Slot;
        }
        lock (_slotLock)
        {
            var key = (nexus.InitiatorPortName, nexus.RelativeTargetPortId);
            if (!_slots.TryGetValue(key, out int slot))
            {
                slot = _slotCount;
                _slots.Add(key, slot);
                Volatile.Write(ref _slotCount, slot + 1);
            }
            return slot;
        }
    }

    private NexusState GetNexus(ITNexus nexus)
    {
        if (_nexuses.TryGetValue(nexus.Id, out var state))
        {
            return state;
        }
        return _nexuses.GetOrAdd(nexus.Id, static (_, arg) => new NexusState(arg.nexus, arg.engine.SlotOf(arg.nexus)), (nexus, engine: this));
    }

    public void NexusCreated(ITNexus nexus)
    {
        ArgumentNullException.ThrowIfNull(nexus);
        GetNexus(nexus);
        Log.NexusCreated(_logger, nexus);
    }

    public void NexusLost(ITNexus nexus)
    {
        ArgumentNullException.ThrowIfNull(nexus);
        Log.NexusLost(_logger, nexus);
        int slot = SlotOf(nexus);
        ResetNexus(nexus, slot);
        _nexuses.TryRemove(nexus.Id, out _);
    }

    /// <summary>SAM-5 §6.3.4 I_T nexus loss: abort the nexus's tasks, release its SCSI-2 reservations, set 29/07.</summary>
    private void ResetNexus(ITNexus nexus, int slot)
    {
        foreach (var lun in _luns)
        {
            lun.AbortTasks(n => n.Id == nexus.Id, requester: null);
            lun.Reservations?.OnNexusLoss(nexus);
            lun.SetUnitAttentionSlot(slot, UnitAttention.ITNexusLoss);
        }
    }

    public ValueTask<ScsiOutcome> ExecuteAsync(ScsiTask task, CancellationToken cancellationToken) =>
        ExecuteCoreAsync(task, reportUnitAttention: true, cancellationToken);

    /// <summary>
    /// The one execution path: CDB checks, pending UA (unless <paramref name="reportUnitAttention"/> is false: the HA
    /// layer's commands of the peer's nexus, or commands already checked before the primary serialized them), ALUA gate,
    /// write protection, reservations, this LU's OOA queue, handler.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ScsiOutcome> ExecuteCoreAsync(ScsiTask task, bool reportUnitAttention, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(task);
        var cdb = task.Cdb.Span;
        var nexus = GetNexus(task.Nexus);
        var command = Commands.Lookup(cdb);
        int lunId = LunAddress.Decode(task.Lun);
        var lun = FindLogicalUnit(lunId);

        if (lun is null)
        {
            return await ExecuteWithoutLunAsync(task, command, cancellationToken).ConfigureAwait(false);
        }
        bool descriptorSense = lun.Mode.DescriptorSense;
        if (command is null)
        {
            // SPC-5 §4.2.5.1: an unsupported service action of a supported opcode is an invalid field (byte 1, bit 4),
            // not an invalid opcode (CTL ctl_validate_command).
            return Commands.UsesServiceAction(cdb.IsEmpty ? (byte)0 : cdb[0])
                ? ScsiOutcome.Check(new Sense(SenseKey.IllegalRequest, 0x24, 0x00).WithSks(Sense.FieldPointer(true, 1, 4)), descriptorSense)
                : ScsiOutcome.Check(new Sense(SenseKey.IllegalRequest, 0x20, 0x00), descriptorSense);
        }
        if (ValidateCdb(cdb, command) is { } invalid)
        {
            return ScsiOutcome.Check(invalid, descriptorSense);
        }

        // Unit attentions are reported before anything else except for INQUIRY, REPORT LUNS, REQUEST SENSE.
        if (reportUnitAttention && TakeUnitAttention(lun, nexus, command, descriptorSense) is { } pending)
        {
            return pending;
        }

        var cts = new CancellationTokenSource();
        var ctx = new CommandContext(this, lun, task, command, cts);
        CancellationTokenRegistration transportGone = default;
        if (cancellationToken.CanBeCanceled)
        {
            transportGone = cancellationToken.UnsafeRegister(static s => ((CommandContext)s!).CancelIo(), ctx);
        }
        try
        {
            if (Alua.CheckAccess(ctx, command) is { } gate)
            {
                return gate;
            }
            // Write protection before reservation conflicts: CTL ctl_scsiio_lun_check order, as the CtlHa model.
            if ((command.Flags & CommandFlags.WritesMedium) != 0)
            {
                if (lun.ReadOnly)
                {
                    return ctx.Check(SenseKey.DataProtect, 0x27, 0x01); // hardware write protected
                }
                if (lun.Mode.SoftwareWriteProtect)
                {
                    return ctx.Check(SenseKey.DataProtect, 0x27, 0x02); // software write protected
                }
            }
            if (lun.Reservations?.CheckAccess(ctx, command) is { } conflict)
            {
                return conflict;
            }

            var admission = lun.Ooa.Admit(ctx);
            switch (admission)
            {
                case OoaAdmission.Overlap:
                    return ctx.Check(SenseKey.IllegalRequest, 0x4E, 0x00);
                case OoaAdmission.OverlapTag:
                    return ctx.Check(SenseKey.IllegalRequest, 0x4D, (byte)task.Tag);
                case OoaAdmission.Blocked:
                    try
                    {
                        await ctx.Waiter!.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        lun.Ooa.Complete(ctx);
                        throw;
                    }
                    break;
            }

            try
            {
                if (ctx.IsAborted)
                {
                    return ScsiOutcome.Aborted(ctx.ReportAborted);
                }
                if (admission == OoaAdmission.Blocked && RecheckAfterBlocking(ctx, lun, nexus, command, reportUnitAttention, descriptorSense) is { } changed)
                {
                    return changed;
                }
                var outcome = await command.Handler(ctx).ConfigureAwait(false);
                return ctx.IsAborted ? ScsiOutcome.Aborted(ctx.ReportAborted) : outcome;
            }
            catch (OperationCanceledException) when (ctx.IsAborted)
            {
                return ScsiOutcome.Aborted(ctx.ReportAborted);
            }
            catch (BackendDetachedException)
            {
                // Passed the ALUA gate just before this node was demoted: the state is in transition.
                return ctx.Check(SenseKey.NotReady, 0x04, 0x0A);
            }
            catch (IOException e)
            {
                // The backing store failed (EIO, ENOSPC, ...): a medium error for this command, never a dropped session.
                Log.MediumError(_logger, lun.LunId, e.Message);
                return (command.Flags & CommandFlags.WritesMedium) != 0
                    ? ctx.Check(SenseKey.MediumError, 0x0C, 0x00) // WRITE ERROR
                    : ctx.Check(SenseKey.MediumError, 0x11, 0x00); // UNRECOVERED READ ERROR
            }
            finally
            {
                lun.Ooa.Complete(ctx);
            }
        }
        finally
        {
            transportGone.Dispose();
            cts.Dispose();
        }
    }

    /// <summary>
    /// A command that waited in the OOA queue runs after the commands ahead of it, which may have changed what it was
    /// checked against on arrival — a PREEMPT that removed its registration and queued 2A/05 for it, a RESERVE by
    /// another nexus. Check again before it runs (CTL re-runs its LUN checks when it unblocks an I/O; CtlHa also
    /// reports a unit attention that arrived meanwhile, so the command is answered as if it arrived after them).
    /// </summary>
    private ScsiOutcome? RecheckAfterBlocking(CommandContext ctx, LogicalUnit lun, NexusState nexus, CommandDescriptor command, bool reportUnitAttention, bool descriptorSense) =>
        (reportUnitAttention ? TakeUnitAttention(lun, nexus, command, descriptorSense) : null) ?? lun.Reservations?.CheckAccess(ctx, command);

    /// <summary>The nexus's pending unit attention as the command's outcome (and gone), unless the command ignores UAs.</summary>
    private ScsiOutcome? TakeUnitAttention(LogicalUnit lun, NexusState nexus, CommandDescriptor command, bool descriptorSense)
    {
        if ((command.Flags & CommandFlags.NoUnitAttention) != 0)
        {
            return null;
        }
        var ua = lun.TakeUnitAttention(nexus.Slot);
        if (ua == UnitAttention.None)
        {
            return null;
        }
        if (ua == UnitAttention.LunChange)
        {
            ClearLunChange(nexus.Slot);
        }
        return ScsiOutcome.Check(lun.UnitAttentionSense(ua), descriptorSense);
    }

    /// <summary>
    /// CTL <c>ctl_validate_command</c>: CDB length and every bit outside the command's usage mask (SPC-5 §6.35.3).
    /// </summary>
    public static Sense? ValidateCdb(ReadOnlySpan<byte> cdb, CommandDescriptor command)
    {
        var usage = command.CdbUsage;
        if (cdb.Length < usage.Length)
        {
            return new Sense(SenseKey.IllegalRequest, 0x24, 0x00).WithSks(Sense.FieldPointer(true, 0));
        }
        for (int i = 1; i < usage.Length; i++)
        {
            int diff = cdb[i] & ~usage[i];
            if (diff != 0)
            {
                int bit = 31 - System.Numerics.BitOperations.LeadingZeroCount((uint)diff);
                return new Sense(SenseKey.IllegalRequest, 0x24, 0x00).WithSks(Sense.FieldPointer(true, (ushort)i, bit));
            }
        }
        return null;
    }

    /// <summary>3F/0E clears on every LUN for that initiator when reported once (ctl-ha.md §10).</summary>
    internal void ClearLunChange(int slot)
    {
        foreach (var lun in _luns)
        {
            lun.ClearUnitAttentionSlot(slot, UnitAttention.LunChange);
        }
    }

    internal int SlotOfContext(CommandContext ctx) => GetNexus(ctx.Nexus).Slot;

    private sealed record NexusState(ITNexus Nexus, int Slot);

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "I_T nexus created: {Nexus}")]
        public static partial void NexusCreated(ILogger logger, ITNexus nexus);

        [LoggerMessage(EventId = 4, Level = LogLevel.Error, Message = "LUN {Lun}: backing store I/O failed: {Error}")]
        public static partial void MediumError(ILogger logger, int lun, string error);

        [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "I_T nexus lost: {Nexus}")]
        public static partial void NexusLost(ILogger logger, ITNexus nexus);

        [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "Task management {Function} on LUN {Lun} from {Nexus}: {Response}")]
        public static partial void TaskManagement(ILogger logger, TaskManagementFunction function, int lun, ITNexus nexus, TaskManagementResponse response);
    }
}

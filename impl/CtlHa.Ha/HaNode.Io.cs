using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using CtlHa.Core;
using CtlHa.Scsi;
using Microsoft.Extensions.Logging;
using W = CtlHa.Wire;

namespace CtlHa.Ha;

// The I/O path between the nodes (ctl-ha.md §4.4, §6, §7.2): the originator's forwarded commands, the primary's
// executions and shadows on behalf of the peer, and the proxy data channel. Handles are counters, never pointers; a
// message naming a handle this node never issued drops the link, one naming a finished command is answered or ignored.
public sealed partial class HaNode
{
    private readonly ConcurrentDictionary<ulong, Forwarded> _forwarded = new();
    private readonly ConcurrentDictionary<ulong, PeerExecution> _peerExecutions = new();
    private readonly ConcurrentDictionary<ulong, ShadowEntry> _shadows = new();
    private readonly ConcurrentDictionary<ulong, Transfer> _transfers = new();
    private long _nextOriginatorHandle;
    private long _nextPrimaryHandle;
    private long _nextTransferHandle;
    private long _forwardedCount;
    private long _peerExecutedCount;

    private static ScsiOutcome Busy => new(ScsiStatus.Busy);

    // ---- originator -------------------------------------------------------------------------------------------

    /// <summary>
    /// Forwards a command to the primary peer (§5.3) and returns its outcome: in proxy mode the primary executes it;
    /// otherwise it is executed here once the primary's queue lets it pass (ReadyToRun). BUSY when the link drops.
    /// </summary>
    internal async ValueTask<ScsiOutcome> ForwardAsync(ScsiTask task, int lunId, CancellationToken cancellationToken)
    {
        if (!IsLocalNexus(task.Nexus) || HaPorts.NodeOfRelativePort(task.Nexus.RelativeTargetPortId) != NodeId)
        {
            // The peer would drop the link for a port outside this node's range: a host configuration bug.
            Log.ForeignPort(_logger, task.Nexus.RelativeTargetPortId, NodeId);
            return Busy;
        }
        if (task.Cdb.Length is < W.WireLimits.MinCdbLength or > W.WireLimits.MaxCdbLength)
        {
            // Serialize carries 6..32 CDB bytes; longer (AHS) CDBs are not forwarded.
            return ScsiOutcome.Check(new Sense(SenseKey.IllegalRequest, 0x24, 0x00).WithSks(Sense.FieldPointer(true, 0)));
        }
        uint index = _directory.IndexOfLocal(task.Nexus);
        if (!_announced.ContainsKey(index))
        {
            await AnnounceInitiatorAsync(task.Nexus, cancellationToken).ConfigureAwait(false);
        }
        ulong handle = (ulong)Interlocked.Increment(ref _nextOriginatorHandle);
        var nexus = NexusDirectory.WireNexus(index, lunId);
        // Proxy: what follows the primary's answer is only the response. Standby/shared: the local execution, which
        // may run inline in the receive loop only when it is a short read (no flush, no big write on that thread).
        bool inlineContinuation = _options.Mode == HaMode.Proxy || IsShortRead(task.Direction, task.ExpectedDataTransferLength);
        var forwarded = new Forwarded(handle, task, nexus, inlineContinuation, withMoves: _options.Mode == HaMode.Proxy, cancellationToken);
        _forwarded[handle] = forwarded;
        Interlocked.Increment(ref _forwardedCount);
        try
        {
            var direction = (task.Direction & DataDirection.Write) != 0 ? W.DataDirection.Out
                : (task.Direction & DataDirection.Read) != 0 ? W.DataDirection.In
                : W.DataDirection.None;
            uint expected = direction == W.DataDirection.None ? 0 : Math.Min(task.ExpectedDataTransferLength, W.WireLimits.MaxExpectedDataLength);
            var serialize = new W.Serialize(nexus, task.Tag, (W.TaskAttribute)task.Attribute, 0, task.Cdb.ToArray(), expected, direction, handle);
            if (!IsLinked || !await SendAsync(serialize, cancellationToken).ConfigureAwait(false))
            {
                return Busy;
            }
            // No timer per command: SweepForwardedAsync ends the ones past ForwardTimeout (BUSY) or cancelled.
            var result = await forwarded.Done.Task.ConfigureAwait(false);
            if (result.PrimaryHandle == 0)
            {
                // Proxy: FinishIo may overtake the delivery of a read's data (the primary does not wait for the
                // DataMoveDone of a read's single segment): let the mover deliver every DataMove that came before it.
                if (forwarded.Moves is { } moves && Volatile.Read(ref forwarded.Mover) is { } mover)
                {
                    moves.Writer.TryComplete();
                    await mover.ConfigureAwait(false);
                }
                // Proxy: the primary's status; but a command whose data could not reach or come from the initiator here
                // (aborted by ABORT TASK, or the connection broke) ends without a response, as an aborted task does.
                if (Volatile.Read(ref forwarded.LocalTransferFailed))
                {
                    return ScsiOutcome.Aborted(report: false);
                }
                // Refused without effect after commands ahead of it on the primary (a PREEMPT) queued a UA for this
                // nexus here (UAs were checked on arrival): report that UA instead, as if it arrived after them.
                return result.Outcome.Status == ScsiStatus.ReservationConflict && _engine.TakePendingUnitAttention(task) is { } attention
                    ? attention
                    : result.Outcome;
            }

            // Standby/shared: the primary ordered it; re-check the gates (§6.1 step 3) and execute here.
            var view = ViewOf(lunId);
            var command = _engine.Commands.Lookup(task.Cdb.Span)!;
            var (action, sense) = HaAlua.Evaluate(view, command.Flags);
            ScsiOutcome outcome;
            try
            {
                // With UA reporting: the nexus's UAs were reported on arrival, but the commands the primary ran ahead of
                // this one (a PREEMPT) may have queued new ones, replicated here before ReadyToRun — reported now, as
                // for a command that waited in a local OOA queue.
                outcome = action == HaGateAction.Reject
                    ? ScsiOutcome.Check(sense!.Value, _engine.FindLogicalUnit(lunId)!.Mode.DescriptorSense)
                    : await _engine.ExecuteAsync(task, cancellationToken).ConfigureAwait(false);
                // Sync before FinishIo: the primary must not run the next command in its queue before it has the change.
                await AfterExecutionAsync(task, lunId, outcome, CancellationToken.None).ConfigureAwait(false);
            }
            finally
            {
                await SendAsync(new W.FinishIo(nexus, handle, result.PrimaryHandle, W.ScsiWire.Good, [], W.ResidualKind.None, 0), CancellationToken.None).ConfigureAwait(false);
            }
            return outcome;
        }
        finally
        {
            _forwarded.TryRemove(handle, out _);
            forwarded.Moves?.Writer.TryComplete();
        }
    }

    /// <summary>
    /// Ends forwarded commands the peer has not answered within <see cref="HaNodeOptions.ForwardTimeout"/> with BUSY,
    /// and those whose initiator connection is gone with a cancellation — a few times a timeout, not a timer each.
    /// </summary>
    private async Task SweepForwardedAsync(CancellationToken cancellationToken)
    {
        var timeout = _options.ForwardTimeout;
        var period = TimeSpan.FromTicks(Math.Clamp(timeout.Ticks / 4, TimeSpan.FromMilliseconds(10).Ticks, TimeSpan.FromSeconds(1).Ticks));
        using var timer = new PeriodicTimer(period);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                long now = Stopwatch.GetTimestamp();
                foreach (var f in _forwarded.Values)
                {
                    if (f.CancellationToken.IsCancellationRequested)
                    {
                        f.Done.TrySetCanceled(f.CancellationToken);
                    }
                    else if (Stopwatch.GetElapsedTime(f.StartedAt, now) > timeout)
                    {
                        f.Done.TrySetResult(new ForwardResult(Busy, 0));
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private IEnumerable<Forwarded> ForwardedOf(ITNexus nexus, int lunId, uint? tag)
    {
        foreach (var f in _forwarded.Values)
        {
            if (f.Task.Nexus.Id == nexus.Id && f.Nexus.Lun == (uint)lunId && (tag is null || f.Task.Tag == tag))
            {
                yield return f;
            }
        }
    }

    private Forwarded? FindForwarded(ulong handle, string what)
    {
        if (_forwarded.TryGetValue(handle, out var f))
        {
            return f;
        }
        if (handle == 0 || handle > (ulong)Interlocked.Read(ref _nextOriginatorHandle))
        {
            throw new W.InterlinkProtocolException(W.InterlinkErrorKind.OutOfRange, $"{what} names originator handle {handle}, never issued");
        }
        return null; // finished or given up (BUSY) meanwhile
    }

    private void OnReadyToRun(W.ReadyToRun m)
    {
        if (FindForwarded(m.OriginatorHandle, "ReadyToRun") is { } f)
        {
            f.Done.TrySetResult(new ForwardResult(default, m.PrimaryHandle));
        }
        else
        {
            // Nobody waits any more: release the shadow at once.
            _ = SendAsync(new W.FinishIo(m.Nexus, m.OriginatorHandle, m.PrimaryHandle, W.ScsiWire.Good, [], W.ResidualKind.None, 0)).AsTask();
        }
    }

    private void OnSerializeFailed(W.SerializeFailed m)
    {
        FindForwarded(m.OriginatorHandle, "SerializeFailed")?.Done.TrySetResult(new ForwardResult(Decode(m.ScsiStatus, m.Sense, (int)m.Nexus.Lun), 0));
    }

    private ScsiOutcome Decode(byte status, byte[] sense, int lunId) =>
        SenseBytes.Decode(status, sense, _engine.FindLogicalUnit(lunId)?.Mode.TaskAbortedStatus ?? false);

    private void OnFinishIo(W.FinishIo m)
    {
        if (_options.Mode == HaMode.Proxy)
        {
            FindForwarded(m.OriginatorHandle, "FinishIo")?.Done.TrySetResult(new ForwardResult(Decode(m.ScsiStatus, m.Sense, (int)m.Nexus.Lun), 0));
            return;
        }
        if (_shadows.TryRemove(m.PrimaryHandle, out var shadow))
        {
            ScsiEngine.ReleaseShadow(shadow);
        }
        else if (m.PrimaryHandle > (ulong)Interlocked.Read(ref _nextPrimaryHandle))
        {
            throw new W.InterlinkProtocolException(W.InterlinkErrorKind.OutOfRange, $"FinishIo names primary handle {m.PrimaryHandle}, never issued");
        }
    }

    /// <summary>§6.3 originator side: queue the segment to the command's own mover so a slow initiator never stalls the link.</summary>
    private void OnDataMove(W.DataMove m)
    {
        if (_options.Mode != HaMode.Proxy)
        {
            throw new W.InterlinkProtocolException(W.InterlinkErrorKind.OutOfRange, $"DataMove in mode {_options.Mode}: only proxy moves data over the link");
        }
        var f = FindForwarded(m.OriginatorHandle, "DataMove");
        // No check against the initiator's expected length: the command's own data may exceed it (residual overflow,
        // which the frontend truncates and reports); the wire bounds each field and the queue below bounds memory.
        if (f?.Moves is { } moves)
        {
            if (moves.Reader.Count >= Forwarded.MaxQueuedMoves)
            {
                // A primary waits for each segment's DataMoveDone: more than a few unacknowledged segments of one
                // command is a peer that ignores flow control, and buffering them would let it grow this node's memory.
                throw new W.InterlinkProtocolException(W.InterlinkErrorKind.OutOfRange,
                    $"more than {Forwarded.MaxQueuedMoves} unacknowledged DataMoves for command {m.OriginatorHandle}");
            }
            if (moves.Writer.TryWrite(m))
            {
                if (Interlocked.Exchange(ref f.MoverStarted, 1) == 0)
                {
                    // Starts here and runs until its first wait (usually the initiator connection's queue took the data).
                    Volatile.Write(ref f.Mover, MoveAsync(f));
                }
                return;
            }
        }
        _ = SendAsync(new W.DataMoveDone(m.Nexus, m.OriginatorHandle, m.PrimaryHandle, m.TransferHandle, m.Direction, m.Offset, m.Length,
            W.ScsiWire.PortStatusAborted, [])).AsTask();
    }

    private async Task MoveAsync(Forwarded f)
    {
        await foreach (var m in f.Moves!.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
        {
            uint status = W.ScsiWire.PortStatusGood;
            byte[] data = [];
            try
            {
                if (m.Direction == W.DataDirection.In)
                {
                    await f.Task.Channel.SendDataInAsync(m.Data, m.Offset, m.Last, f.CancellationToken).ConfigureAwait(false);
                }
                else
                {
                    data = new byte[m.Length];
                    await f.Task.Channel.ReceiveDataOutAsync(data, m.Offset, f.CancellationToken).ConfigureAwait(false);
                }
            }
#pragma warning disable CA1031 // a broken initiator transport is reported to the primary as an aborted transfer
            catch (Exception)
#pragma warning restore CA1031
            {
                status = W.ScsiWire.PortStatusAborted;
                data = [];
                Volatile.Write(ref f.LocalTransferFailed, true);
            }
            await SendAsync(new W.DataMoveDone(m.Nexus, m.OriginatorHandle, m.PrimaryHandle, m.TransferHandle, m.Direction, m.Offset, m.Length,
                status, data)).ConfigureAwait(false);
        }
    }

    // ---- primary: commands of the peer ------------------------------------------------------------------------

    private void OnSerialize(W.Serialize m)
    {
        RequirePeerPort(m.Nexus.TargetPort, "Serialize");
        uint index = NexusDirectory.Index(m.Nexus.TargetPort, m.Nexus.InitiatorId);
        if (_directory.RemoteNexus(index) is not { } nexus)
        {
            throw new W.InterlinkProtocolException(W.InterlinkErrorKind.OutOfRange, $"Serialize from initiator {index}, never announced");
        }
        ulong handle = (ulong)Interlocked.Increment(ref _nextPrimaryHandle);
        CancellationToken epoch;
        lock (_lock)
        {
            epoch = _epoch.Token;
        }
        var task = new ScsiTask
        {
            Nexus = nexus,
            Lun = LunAddress.Encode((int)m.Nexus.Lun),
            Cdb = m.Cdb,
            Tag = (uint)m.Tag,
            Attribute = (TaskAttribute)m.Attribute,
            ExpectedDataTransferLength = m.ExpectedDataLength,
            Direction = m.Direction switch
            {
                W.DataDirection.In => DataDirection.Read,
                W.DataDirection.Out => DataDirection.Write,
                _ => DataDirection.None,
            },
            Channel = new RemoteDataChannel(this, m, handle),
        };
        Interlocked.Increment(ref _peerExecutedCount);
        if (_options.Mode != HaMode.Proxy)
        {
            // Admission only: started here, in the receive loop, so the peer's commands enter the OOA queue in the
            // order they were sent; it runs until its first wait (a blocking command ahead of it).
            _ = SerializeForPeerAsync(m, handle, task, epoch);
        }
        else if (IsShortRead(task.Direction, task.ExpectedDataTransferLength))
        {
            // A short read runs here until its data moves (admission in arrival order, no thread hand-off).
            _ = ExecuteForPeerAsync(m, handle, task, epoch);
        }
        else
        {
            // Writes, flushes and long reads must not hold up the receive loop (heartbeats, other commands).
            _ = Task.Run(() => ExecuteForPeerAsync(m, handle, task, epoch));
        }
    }

    /// <summary>§6.2: execute the peer's command here; data moves over the link; status and sense go back in FinishIo.</summary>
    private async Task ExecuteForPeerAsync(W.Serialize m, ulong handle, ScsiTask task, CancellationToken epoch)
    {
        int lunId = (int)m.Nexus.Lun;
        var execution = new PeerExecution(m, handle);
        _peerExecutions[handle] = execution;
        try
        {
            ScsiOutcome outcome;
            if (ViewOf(lunId).LocalRole != HaRole.Primary)
            {
                outcome = ScsiOutcome.Check(HaAlua.TransitioningSense);
                var (st, sn) = SenseBytes.Encode(outcome);
                await SendAsync(new W.SerializeFailed(m.Nexus, m.OriginatorHandle, handle, st, sn), epoch).ConfigureAwait(false);
                return;
            }
            try
            {
                outcome = await _engine.ExecuteWithoutUnitAttentionAsync(task, epoch).ConfigureAwait(false);
            }
            catch (HaTransferException ex)
            {
                // §6.3: a failed transfer ends the command with 04/44/00, retry count = port status.
                outcome = ScsiOutcome.Check(new Sense(SenseKey.HardwareError, 0x44, 0x00).WithSks(0x800000u | (ex.PortStatus & 0xFFFF)));
            }
            catch (OperationCanceledException) when (epoch.IsCancellationRequested)
            {
                return; // the link is gone; the originator answered BUSY
            }
            // No fence: the originator answers its initiator only on FinishIo, which follows the sync on the link.
            await AfterExecutionAsync(task, lunId, outcome, epoch, fence: false).ConfigureAwait(false);
            var (status, sense) = SenseBytes.Encode(outcome);
            await SendAsync(new W.FinishIo(m.Nexus, m.OriginatorHandle, handle, status, sense, W.ResidualKind.None, 0), epoch).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // a bug in one command must not take the link down
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.PeerCommandFailed(_logger, ex);
            var (status, sense) = SenseBytes.Encode(ScsiOutcome.Check(new Sense(SenseKey.HardwareError, 0x44, 0x00)));
            await SendAsync(new W.FinishIo(m.Nexus, m.OriginatorHandle, handle, status, sense, W.ResidualKind.None, 0), epoch).ConfigureAwait(false);
        }
        finally
        {
            _peerExecutions.TryRemove(handle, out _);
        }
    }

    /// <summary>§6.1: place a shadow in this LU's OOA queue; ReadyToRun once it may run, SerializeFailed otherwise.</summary>
    private async Task SerializeForPeerAsync(W.Serialize m, ulong handle, ScsiTask task, CancellationToken epoch)
    {
        try
        {
            if (ViewOf((int)m.Nexus.Lun).LocalRole != HaRole.Primary)
            {
                var (st, sn) = SenseBytes.Encode(ScsiOutcome.Check(HaAlua.TransitioningSense));
                await SendAsync(new W.SerializeFailed(m.Nexus, m.OriginatorHandle, handle, st, sn), epoch).ConfigureAwait(false);
                return;
            }
            var (entry, failure) = await _engine.AdmitShadowAsync(task, epoch).ConfigureAwait(false);
            if (entry is null)
            {
                var (st, sn) = SenseBytes.Encode(failure);
                await SendAsync(new W.SerializeFailed(m.Nexus, m.OriginatorHandle, handle, st, sn), epoch).ConfigureAwait(false);
                return;
            }
            _shadows[handle] = entry;
            if (epoch.IsCancellationRequested || !await SendAsync(new W.ReadyToRun(m.Nexus, m.OriginatorHandle, handle), epoch).ConfigureAwait(false))
            {
                if (_shadows.TryRemove(handle, out var gone))
                {
                    ScsiEngine.ReleaseShadow(gone);
                }
            }
        }
        catch (OperationCanceledException) when (epoch.IsCancellationRequested)
        {
        }
    }

    private void OnDataMoveDone(W.DataMoveDone m)
    {
        if (!_transfers.TryRemove(m.TransferHandle, out var transfer))
        {
            if (m.TransferHandle > (ulong)Interlocked.Read(ref _nextTransferHandle))
            {
                throw new W.InterlinkProtocolException(W.InterlinkErrorKind.OutOfRange, $"DataMoveDone names transfer {m.TransferHandle}, never issued");
            }
            return;
        }
        if (m.PrimaryHandle != transfer.PrimaryHandle || m.OriginatorHandle != transfer.OriginatorHandle || m.Direction != transfer.Direction
            || m.Offset != transfer.Offset || m.Length != transfer.Length)
        {
            transfer.Done.TrySetException(new HaTransferException(W.ScsiWire.PortStatusAborted));
            throw new W.InterlinkProtocolException(W.InterlinkErrorKind.OutOfRange, $"DataMoveDone for transfer {m.TransferHandle} does not match its DataMove");
        }
        transfer.Done.TrySetResult(m);
    }

    /// <summary>
    /// A read's only segment (§6.3, pipelined): sent without waiting for its DataMoveDone, so FinishIo follows in the
    /// same write. The originator delivers the data before it answers (it drains its mover on FinishIo) and reports a
    /// failed delivery itself; the DataMoveDone, when it comes, is still checked against the DataMove.
    /// </summary>
    internal async ValueTask SendFinalSegmentAsync(W.Serialize origin, ulong primaryHandle, uint offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
        await SendDataMoveAsync(origin, primaryHandle, W.DataDirection.In, offset, data, (uint)data.Length, last: true, pipelined: true, cancellationToken).ConfigureAwait(false);

    internal async ValueTask<W.DataMoveDone> MoveSegmentAsync(W.Serialize origin, ulong primaryHandle, W.DataDirection direction, uint offset, ReadOnlyMemory<byte> data, uint length, bool last, CancellationToken cancellationToken)
    {
        var (transferHandle, transfer) = await SendDataMoveAsync(origin, primaryHandle, direction, offset, data, length, last, pipelined: false, cancellationToken).ConfigureAwait(false);
        try
        {
            var done = await transfer.Done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (done.PortStatus != W.ScsiWire.PortStatusGood)
            {
                throw new HaTransferException(done.PortStatus);
            }
            return done;
        }
        finally
        {
            _transfers.TryRemove(transferHandle, out _);
        }
    }

    /// <summary>Registers a transfer and sends its DataMove; a link that cannot take it forgets it and fails the move.</summary>
    private async ValueTask<(ulong Handle, Transfer Transfer)> SendDataMoveAsync(W.Serialize origin, ulong primaryHandle, W.DataDirection direction, uint offset,
        ReadOnlyMemory<byte> data, uint length, bool last, bool pipelined, CancellationToken cancellationToken)
    {
        ulong transferHandle = (ulong)Interlocked.Increment(ref _nextTransferHandle);
        var transfer = new Transfer(primaryHandle, origin.OriginatorHandle, direction, offset, length, pipelined);
        _transfers[transferHandle] = transfer;
        bool sent = false;
        try
        {
            var move = new W.DataMove(origin.Nexus, origin.OriginatorHandle, primaryHandle, transferHandle, direction, offset, length,
                direction == W.DataDirection.In ? data.ToArray() : [], last);
            sent = IsLinked && await SendAsync(move, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (!sent)
            {
                _transfers.TryRemove(transferHandle, out _);
            }
        }
        return sent ? (transferHandle, transfer) : throw new HaTransferException(W.ScsiWire.PortStatusSendFailed);
    }

    /// <summary>
    /// §7.2 at link loss: waiting originators get BUSY, transfers fail, shadows leave the OOA queue; and the SCSI-2
    /// reservations held through the peer's ports go (SAM-5 §6.3.4: the peer's sessions are lost with it).
    /// </summary>
    private void FailInFlight()
    {
        ReleasePeerScsi2Reservations();
        foreach (var f in _forwarded.Values)
        {
            f.Done.TrySetResult(new ForwardResult(Busy, 0));
        }
        foreach (var (handle, transfer) in _transfers)
        {
            if (!transfer.Pipelined)
            {
                transfer.Done.TrySetException(new HaTransferException(W.ScsiWire.PortStatusFailoverDuringMove));
            }
            _transfers.TryRemove(handle, out _);
        }
        foreach (var handle in _shadows.Keys)
        {
            if (_shadows.TryRemove(handle, out var shadow))
            {
                ScsiEngine.ReleaseShadow(shadow);
            }
        }
    }

    /// <summary>
    /// A SCSI-2 reservation belongs to one I_T nexus and ends with it. Without the link, this node can no longer know
    /// the peer's sessions — if the peer died they died with it, and a reservation kept here would lock every initiator
    /// out of the LUN after failover. If the link only broke, the peer cannot serve media commands meanwhile, and at
    /// relink the primary's LunSync carries the holder again (its view wins).
    /// </summary>
    private void ReleasePeerScsi2Reservations()
    {
        foreach (var lun in _engine.LogicalUnits)
        {
            if (lun.ReservationState.Scsi2.Holder is { } holder && HaPorts.NodeOfRelativePort(holder.RelativeTargetPortId) != NodeId)
            {
                lun.ReservationState.Scsi2.NexusLost(holder);
                Log.PeerReservationReleased(_logger, lun.LunId, holder.InitiatorName);
            }
        }
    }

    /// <summary>
    /// Live sync after a command executed on this node (§8.3, §8.5): MODE SELECT → the pages with the requester as
    /// originator (the peer's initiators get 2A/01, the requester does not); RESERVE/RELEASE → the SCSI-2 holder.
    /// PR OUT is replicated from inside the engine (ReplicateAsync). Then a sync fence: the status goes back only once
    /// the peer has applied all of it, so the requester's next command through the other node sees the change.
    /// Not for a command executed for the peer (proxy): there the peer answers, on FinishIo, which the sync precedes.
    /// </summary>
    internal async ValueTask AfterExecutionAsync(ScsiTask task, int lunId, ScsiOutcome outcome, CancellationToken cancellationToken, bool fence = true)
    {
        if (outcome.Status != ScsiStatus.Good || task.Cdb.IsEmpty || !IsLinked || _engine.FindLogicalUnit(lunId) is not { } lun)
        {
            return;
        }
        switch (task.Cdb.Span[0])
        {
            case 0x15 or 0x55: // MODE SELECT(6)/(10)
                await SendModePagesAsync(lun, _directory.IndexOf(Scsi.Reservations.PrNexus.From(task.Nexus)), cancellationToken).ConfigureAwait(false);
                break;
            case 0x16 or 0x56 or 0x17 or 0x57: // RESERVE / RELEASE (6)/(10)
                await SendAsync(BuildLunSync(lun), cancellationToken).ConfigureAwait(false);
                break;
            case 0x5F: // PERSISTENT RESERVE OUT: replicated while it ran
                break;
            default:
                return;
        }
        if (fence)
        {
            await FenceAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private readonly record struct ForwardResult(ScsiOutcome Outcome, ulong PrimaryHandle);

    /// <summary>Largest read the interlink's receive loop executes itself (page-cache hits cost microseconds).</summary>
    private const uint InlineReadLimit = 256 * 1024;

    private static bool IsShortRead(DataDirection direction, uint expectedLength) =>
        direction == DataDirection.Read && expectedLength <= InlineReadLimit;

    private sealed class Forwarded(ulong handle, ScsiTask task, W.Nexus nexus, bool inlineContinuation, bool withMoves, CancellationToken cancellationToken)
    {
        public ulong Handle { get; } = handle;

        public ScsiTask Task { get; } = task;

        public W.Nexus Nexus { get; } = nexus;

        public CancellationToken CancellationToken { get; } = cancellationToken;

        public long StartedAt { get; } = Stopwatch.GetTimestamp();

        /// <summary>
        /// Completed by the interlink's receive loop (or the sweep, or link loss). When the rest of ForwardAsync is
        /// cheap (proxy: the response; otherwise a short read) it runs inline there until its first wait — one thread
        /// hand-off less per command; anything else continues on the thread pool.
        /// </summary>
        public TaskCompletionSource<ForwardResult> Done { get; } =
            new(inlineContinuation ? TaskCreationOptions.None : TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Segments of one command queued for its mover; the primary sends the next only after a DataMoveDone.</summary>
        public const int MaxQueuedMoves = 8;

        /// <summary>Proxy mode only (null otherwise: no data crosses the link).</summary>
        public Channel<W.DataMove>? Moves { get; } = !withMoves ? null : Channel.CreateBounded<W.DataMove>(new BoundedChannelOptions(MaxQueuedMoves)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite fails when full: the caller treats that as a protocol error
            // The receive thread that queues a segment (or completes the queue on FinishIo) runs the waiting mover on
            // to its next wait: handing data to the initiator connection's queue and a DataMoveDone to the link's
            // never block, so no thread-pool hop per segment.
            AllowSynchronousContinuations = true,
        });

        public int MoverStarted;

        /// <summary>The mover task once started; it ends when <see cref="Moves"/> is completed and drained.</summary>
        public Task? Mover;

        /// <summary>The initiator side of a DataMove failed here (task aborted, transport gone).</summary>
        public bool LocalTransferFailed;
    }

    private sealed record PeerExecution(W.Serialize Serialize, ulong Handle);

    private sealed class Transfer(ulong primaryHandle, ulong originatorHandle, W.DataDirection direction, uint offset, uint length, bool pipelined = false)
    {
        /// <summary>Nobody waits for its DataMoveDone (a read's only segment): only checked when it comes.</summary>
        public bool Pipelined { get; } = pipelined;

        public ulong PrimaryHandle { get; } = primaryHandle;

        public ulong OriginatorHandle { get; } = originatorHandle;

        public W.DataDirection Direction { get; } = direction;

        public uint Offset { get; } = offset;

        public uint Length { get; } = length;

        /// <summary>
        /// Completed by the receive loop. After Data-In the command only finishes (status, FinishIo): that continues
        /// inline there; after Data-Out it writes the media, which belongs on the thread pool.
        /// </summary>
        public TaskCompletionSource<W.DataMoveDone> Done { get; } =
            new(direction == W.DataDirection.In ? TaskCreationOptions.None : TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>A proxy data transfer failed with a CTL port status (ctl-ha.md §6.3: 31337..31342).</summary>
public sealed class HaTransferException : Exception
{
    public HaTransferException(uint portStatus)
        : base($"HA data transfer failed with port status {portStatus}") => PortStatus = portStatus;

    public HaTransferException()
        : this(W.ScsiWire.PortStatusAborted)
    {
    }

    public HaTransferException(string message)
        : base(message) => PortStatus = W.ScsiWire.PortStatusAborted;

    public HaTransferException(string message, Exception innerException)
        : base(message, innerException) => PortStatus = W.ScsiWire.PortStatusAborted;

    public uint PortStatus { get; }
}

/// <summary>
/// The primary's data channel for a command of the peer (proxy mode, §6.3): Data-In and Data-Out move as DataMove /
/// DataMoveDone segments of at most 128 KiB. SendDataIn completes when the originator handed the data to its
/// initiator, so serseq's early unblocking (media read done before the channel is used) holds across the link.
/// </summary>
internal sealed class RemoteDataChannel(HaNode node, W.Serialize origin, ulong primaryHandle) : IScsiDataChannel
{
    public async ValueTask ReceiveDataOutAsync(Memory<byte> destination, uint bufferOffset, CancellationToken cancellationToken)
    {
        for (int pos = 0; pos < destination.Length;)
        {
            int length = Math.Min(W.WireLimits.MaxDataSegment, destination.Length - pos);
            var done = await node.MoveSegmentAsync(origin, primaryHandle, W.DataDirection.Out, bufferOffset + (uint)pos, default, (uint)length, last: false, cancellationToken).ConfigureAwait(false);
            done.Data.AsMemory(0, length).CopyTo(destination[pos..]);
            pos += length;
        }
    }

    public async ValueTask SendDataInAsync(ReadOnlyMemory<byte> source, uint bufferOffset, bool finalWithGoodStatus, CancellationToken cancellationToken)
    {
        if (bufferOffset == 0 && finalWithGoodStatus && source.Length is > 0 and <= W.WireLimits.MaxDataSegment)
        {
            // The whole Data-In in one segment: no round trip before FinishIo.
            await node.SendFinalSegmentAsync(origin, primaryHandle, 0, source, cancellationToken).ConfigureAwait(false);
            return;
        }
        for (int pos = 0; pos < source.Length;)
        {
            int length = Math.Min(W.WireLimits.MaxDataSegment, source.Length - pos);
            bool last = finalWithGoodStatus && pos + length == source.Length;
            await node.MoveSegmentAsync(origin, primaryHandle, W.DataDirection.In, bufferOffset + (uint)pos, source.Slice(pos, length), (uint)length, last, cancellationToken).ConfigureAwait(false);
            pos += length;
        }
    }
}

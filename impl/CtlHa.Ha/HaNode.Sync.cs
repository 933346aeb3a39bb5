using System.Buffers.Binary;
using System.Collections.Concurrent;
using CtlHa.Core;
using CtlHa.Interlink;
using CtlHa.Scsi;
using CtlHa.Scsi.Reservations;
using Microsoft.Extensions.Logging;
using W = CtlHa.Wire;

namespace CtlHa.Ha;

// State sync (ctl-ha.md §4.1, §4.3, §8): link up/down, PortSync, InitiatorSync, LunSync, ModeSync, PR actions,
// UnitAttention, TaskManagement.
public sealed partial class HaNode
{
    /// <summary>§4.1: ports, initiators, every LUN, and the mode pages of the LUNs primary here (no UA at the peer).</summary>
    async ValueTask IInterlinkHandler.OnLinkUpAsync(InterlinkPeer peer, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _online = true;
            _peerNodeId = peer.PeerLogin.NodeId;
        }
        Log.LinkUp(_logger, peer.PeerLogin.NodeId);
        foreach (ushort port in _localPorts)
        {
            await SendAsync(new W.PortSync(port, $"node{NodeId}-port{port}", true, false, _options.TargetName, 1, [], [], []), cancellationToken).ConfigureAwait(false);
        }
        foreach (var nexus in _engine.Nexuses)
        {
            if (IsLocalNexus(nexus))
            {
                await AnnounceInitiatorAsync(nexus, cancellationToken).ConfigureAwait(false);
            }
        }
        foreach (var lun in _engine.LogicalUnits)
        {
            HookProvisioningThresholds(lun);
            await AnnounceLunAsync(lun.LunId, withModePages: ViewOf(lun.LunId).LocalRole == HaRole.Primary, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>§7.1: peer-primary knowledge goes (2A/06), commands waiting on the peer end with BUSY.</summary>
    void IInterlinkHandler.OnLinkDown(InterlinkDown down)
    {
        var lost = new List<int>();
        CancellationTokenSource epoch;
        lock (_lock)
        {
            _online = false;
            _peerSyncComplete = false;
            epoch = _epoch;
            _epoch = new CancellationTokenSource(); // messages of the next connection may arrive before its link-up call
            foreach (var (id, st) in _luns)
            {
                if (st.PeerPrimary)
                {
                    st.PeerPrimary = false;
                    lost.Add(id);
                }
                st.PeerRolePrimary = null;
            }
        }
        Log.LinkDown(_logger, down.Reason);
        foreach (int id in lost)
        {
            _engine.FindLogicalUnit(id)?.EstablishUnitAttentionForAll(UnitAttention.AsymmetricAccessChange);
        }
        _announced.Clear();
        epoch.Cancel();
        FailInFlight();
        ReleaseFences();
    }

    async ValueTask IInterlinkHandler.OnMessageAsync(W.InterlinkMessage message, CancellationToken cancellationToken)
    {
        switch (message)
        {
            case W.PortSync port:
                RequirePeerPort(port.PortNumber, "PortSync");
                _directory.LearnPort(port);
                lock (_lock)
                {
                    if (port.Online)
                    {
                        _peerPorts.Add((ushort)port.PortNumber);
                    }
                }
                break;
            case W.InitiatorSync initiator:
                RequirePeerPort(initiator.PortNumber, "InitiatorSync");
                _directory.Learn(initiator);
                break;
            case W.LunSync lunSync:
                await OnLunSyncAsync(lunSync, cancellationToken).ConfigureAwait(false);
                break;
            case W.ModeSync modeSync:
                OnModeSync(modeSync);
                break;
            case W.PersistentReserveAction action:
                OnPersistentReserveAction(action);
                break;
            case W.UnitAttention ua:
                OnUnitAttention(ua);
                break;
            case W.TaskManagement tmf:
                await OnTaskManagementAsync(tmf, cancellationToken).ConfigureAwait(false);
                break;
            case W.SyncFence fence:
                // Every message before it has been applied (this loop handles them in order): say so.
                await SendAsync(new W.SyncFenceAck(fence.FenceId), cancellationToken).ConfigureAwait(false);
                break;
            case W.SyncFenceAck ack:
                if (_fences.TryRemove(ack.FenceId, out var waiter))
                {
                    waiter.TrySetResult();
                }
                break;
            case W.SyncComplete:
                lock (_lock)
                {
                    _peerSyncComplete = true;
                }
                break;
            case W.Serialize serialize:
                OnSerialize(serialize);
                break;
            case W.ReadyToRun r2r:
                OnReadyToRun(r2r);
                break;
            case W.SerializeFailed failed:
                OnSerializeFailed(failed);
                break;
            case W.FinishIo finish:
                OnFinishIo(finish);
                break;
            case W.DataMove move:
                OnDataMove(move);
                break;
            case W.DataMoveDone done:
                OnDataMoveDone(done);
                break;
            default:
                throw new W.InterlinkProtocolException(W.InterlinkErrorKind.UnknownType, $"{message.GetType().Name} is not expected by the HA layer");
        }
    }

    private void RequirePeerPort(uint port, string what)
    {
        if (port > ushort.MaxValue || HaPorts.NodeOfRelativePort((ushort)port) != 3 - NodeId)
        {
            throw new W.InterlinkProtocolException(W.InterlinkErrorKind.OutOfRange, $"{what}: port {port} is not a port of node {3 - NodeId}");
        }
    }

    private bool IsLocalNexus(ITNexus nexus) => HaPorts.NodeOfRelativePort(nexus.RelativeTargetPortId) != 3 - NodeId;

    /// <summary>
    /// Returns once the peer has applied every message this node sent before it (SyncFence → SyncFenceAck, PROTOCOL.md
    /// §6.5), so a command's status goes to its initiator only after the other node's initiators can see the change.
    /// Returns at once without a link, when the link drops (<see cref="ReleaseFences"/>) and, logged, after twice the
    /// dead-peer interval: by then the link-down path owns the peer.
    /// </summary>
    internal async ValueTask FenceAsync(CancellationToken cancellationToken)
    {
        if (!IsLinked)
        {
            return;
        }
        ulong id = (ulong)Interlocked.Increment(ref _nextFenceId);
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _fences[id] = waiter;
        var timeout = 2 * (_options.Interlink?.DeadAfter ?? TimeSpan.FromSeconds(1));
        try
        {
            if (await SendAsync(new W.SyncFence(id), cancellationToken).ConfigureAwait(false))
            {
                await waiter.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (TimeoutException)
        {
            Log.FenceTimedOut(_logger, id, timeout.TotalMilliseconds);
        }
        finally
        {
            _fences.TryRemove(id, out _);
        }
    }

    /// <summary>Link down: nobody will acknowledge the outstanding fences.</summary>
    private void ReleaseFences()
    {
        foreach (var id in _fences.Keys)
        {
            if (_fences.TryRemove(id, out var waiter))
            {
                waiter.TrySetResult();
            }
        }
    }

    internal async ValueTask<bool> SendAsync(W.InterlinkMessage message, CancellationToken cancellationToken = default)
    {
        if (_link is null)
        {
            return false;
        }
        try
        {
            return await _link.SendAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    internal async ValueTask AnnounceInitiatorAsync(ITNexus nexus, CancellationToken cancellationToken)
    {
        uint index = _directory.IndexOfLocal(nexus);
        if (await SendAsync(NexusDirectory.Announce(index, nexus, inUse: true), cancellationToken).ConfigureAwait(false))
        {
            _announced[index] = true;
        }
    }

    // ---- LUN sync ---------------------------------------------------------------------------------------------

    private async ValueTask AnnounceLunAsync(int lunId, bool withModePages, CancellationToken cancellationToken)
    {
        if (!IsLinked || _engine.FindLogicalUnit(lunId) is not { } lun)
        {
            return;
        }
        await SendAsync(BuildLunSync(lun), cancellationToken).ConfigureAwait(false);
        if (withModePages)
        {
            await SendModePagesAsync(lun, W.WireLimits.NoInitiator, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>LunSync: identity, role flags, the whole PR state including the reserved flag, and the SCSI-2 holder.</summary>
    private W.LunSync BuildLunSync(LogicalUnit lun)
    {
        var view = ViewOf(lun.LunId);
        var flags = W.LunRoleFlags.None;
        if (view.LocalRole == HaRole.Primary)
        {
            flags |= W.LunRoleFlags.Primary;
        }
        if (view.PeerPrimary)
        {
            flags |= W.LunRoleFlags.PeerPrimaryKnown;
        }
        var snapshot = lun.ReservationState.Export();
        var pr = snapshot.Persistent;
        var registrations = new List<W.PrRegistration>();
        var indexes = new HashSet<uint>();
        foreach (var r in pr.Registrations)
        {
            uint index = _directory.IndexOf(r.Nexus);
            if (indexes.Add(index))
            {
                registrations.Add(new W.PrRegistration(index, r.Key, PrInData.IscsiTransportId(r.Nexus)));
            }
        }
        bool reserved = pr.Reserved;
        uint holder = W.WireLimits.NoReservation;
        if (reserved)
        {
            if (PrAsc.IsAllRegistrants(pr.Type))
            {
                holder = W.WireLimits.AllRegistrants;
            }
            else if (pr.Holder is { } h && indexes.Contains(_directory.IndexOf(h)))
            {
                holder = _directory.IndexOf(h);
            }
            else
            {
                reserved = false; // an unregistered holder cannot exist (SPC-5 §5.14.10); never send one
            }
        }
        uint scsi2 = snapshot.Scsi2.Holder is { } s2 ? _directory.IndexOf(s2) : W.WireLimits.NoReservation;
        return new W.LunSync((uint)lun.LunId, lun.DeviceId, (ulong)lun.BlockCount, (uint)lun.BlockSize, flags, pr.Generation,
            reserved, reserved ? holder : W.WireLimits.NoReservation, reserved ? (byte)pr.Type : (byte)0, [.. registrations], scsi2);
    }

    private async ValueTask OnLunSyncAsync(W.LunSync m, CancellationToken cancellationToken)
    {
        if (_engine.FindLogicalUnit((int)m.Lun) is not { } lun)
        {
            Log.Ignored(_logger, $"LunSync for LUN {m.Lun}, which this node does not have");
            return;
        }
        string? conflict = null;
        if (!m.DeviceId.AsSpan().SequenceEqual(lun.DeviceId))
        {
            conflict = "device identifier differs";
        }
        else if (m.BlockSize != lun.BlockSize)
        {
            conflict = $"block size differs ({m.BlockSize} on node {3 - NodeId}, {lun.BlockSize} here)";
        }
        bool peerPrimary = (m.Flags & W.LunRoleFlags.Primary) != 0 && (m.Flags & W.LunRoleFlags.Disabled) == 0;
        bool adopt;
        bool importScsi2;
        lock (_lock)
        {
            adopt = conflict is null && _luns[lun.LunId].Role != HaRole.Primary && peerPrimary;
        }
        if (conflict is null && m.SizeInBlocks != (ulong)lun.BlockCount)
        {
            // The capacity is not identity (PROTOCOL.md §6: it changes on an online resize): the secondary takes the
            // primary's, with 2A/09 for its own initiators; a primary keeps its own (the secondary will adopt it).
            conflict = adopt ? await AdoptCapacityAsync(lun, m.SizeInBlocks, cancellationToken).ConfigureAwait(false) : null;
            adopt &= conflict is null;
        }
        lock (_lock)
        {
            importScsi2 = conflict is null && (adopt || _peerSyncComplete);
        }

        // Adopt the primary's reservations before this node believes in it (§4.3 LUN_SYNC; CtlHa keeps the reserved flag).
        if (adopt)
        {
            lun.ReservationState.Persistent.Import(ToSnapshot(m));
        }
        if (importScsi2)
        {
            var holder = m.Scsi2Holder == W.WireLimits.NoReservation ? null : _directory.Identity(m.Scsi2Holder);
            lun.ReservationState.Scsi2.Import(new Scsi2Snapshot(holder));
        }
        bool changed;
        bool reply;
        lock (_lock)
        {
            var st = _luns[lun.LunId];
            bool before = st.PeerPrimary && st.Conflict is null;
            st.Conflict = conflict;
            st.PeerRolePrimary = (m.Flags & W.LunRoleFlags.Primary) != 0;
            st.PeerPrimary = conflict is null && peerPrimary;
            changed = before != st.PeerPrimary;
            reply = conflict is null && st.Role == HaRole.Primary && (m.Flags & W.LunRoleFlags.PeerPrimaryKnown) == 0;
        }
        if (conflict is not null)
        {
            Log.LunConflict(_logger, lun.LunId, conflict);
        }
        if (changed)
        {
            Log.PeerPrimaryChanged(_logger, lun.LunId, peerPrimary);
            lun.EstablishUnitAttentionForAll(UnitAttention.AsymmetricAccessChange);
        }
        if (reply)
        {
            await AnnounceLunAsync(lun.LunId, withModePages: true, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Takes the primary's capacity (LunSync.SizeInBlocks); returns why it could not (a conflict) or null.</summary>
    private async ValueTask<string?> AdoptCapacityAsync(LogicalUnit lun, ulong sizeInBlocks, CancellationToken cancellationToken)
    {
        long before = lun.BlockCount;
        try
        {
            if (sizeInBlocks == 0 || sizeInBlocks > long.MaxValue / (ulong)lun.BlockSize)
            {
                throw new ArgumentOutOfRangeException(nameof(sizeInBlocks), $"{sizeInBlocks} blocks");
            }
            // Shared: the same file, already grown by the primary (its length is re-read, never truncated). Standby/proxy:
            // the closed store only takes the size, so a later promotion opens the grown file without a size mismatch.
            await lun.AdoptCapacityAsync((long)sizeInBlocks, cancellationToken).ConfigureAwait(false);
            Log.CapacityAdopted(_logger, lun.LunId, before, (long)sizeInBlocks);
            return null;
        }
        catch (Exception e) when (e is IOException or NotSupportedException or ArgumentException or UnauthorizedAccessException)
        {
            return $"size differs ({sizeInBlocks} blocks on node {3 - NodeId}, {before} here) and cannot be adopted: {e.Message}";
        }
    }

    // ---- online resize ----------------------------------------------------------------------------------------

    /// <summary>
    /// Grows a LUN at run time (ctlha lun resize). While linked only the LUN's primary may (the secondary refuses with
    /// <see cref="InvalidOperationException"/>); it grows the store, raises 2A/09 for its initiators, then sends a LunSync
    /// with the new SizeInBlocks and waits for the peer to apply it (SyncFence), so the peer's initiators see 2A/09 and
    /// the new READ CAPACITY once this returns. Returns false when the size is unchanged.
    /// </summary>
    /// <exception cref="ArgumentException">No such LUN, or a size that is not a whole number of blocks.</exception>
    /// <exception cref="InvalidOperationException">Refused: secondary while linked, or a shrink.</exception>
    /// <exception cref="NotSupportedException">The backing store cannot change size.</exception>
    public async Task<bool> ResizeLunAsync(int lunId, long sizeBytes, CancellationToken cancellationToken = default)
    {
        if (_engine.FindLogicalUnit(lunId) is not { } lun)
        {
            throw new ArgumentException($"LUN {lunId} does not exist");
        }
        if (sizeBytes <= 0 || sizeBytes % lun.BlockSize != 0)
        {
            throw new ArgumentException($"LUN {lunId}: size {sizeBytes} is not a positive multiple of the block size {lun.BlockSize}");
        }
        var view = ViewOf(lunId);
        if (IsLinked && view.LocalRole != HaRole.Primary)
        {
            throw new InvalidOperationException(
                $"LUN {lunId} is secondary on node {NodeId} and the interlink is up: resize it on its primary (node {3 - NodeId})");
        }
        bool changed = await lun.ResizeAsync(sizeBytes / lun.BlockSize, cancellationToken).ConfigureAwait(false);
        if (changed && IsLinked)
        {
            await SendAsync(BuildLunSync(lun), cancellationToken).ConfigureAwait(false);
            await FenceAsync(cancellationToken).ConfigureAwait(false);
        }
        return changed;
    }

    private static PrSnapshot ToSnapshot(W.LunSync m)
    {
        var registrations = new List<Scsi.Reservations.PrRegistration>();
        PrNexus? holder = null;
        foreach (var r in m.Registrations)
        {
            if (NexusDirectory.ParseTransportId(r.TransportId) is not { } id)
            {
                throw new W.InterlinkProtocolException(W.InterlinkErrorKind.Malformed, $"LunSync registration {r.InitiatorIndex} has no iSCSI TransportID");
            }
            var nexus = new PrNexus(id.Name, id.Isid, (ushort)(r.InitiatorIndex / W.WireLimits.MaxInitiatorsPerPortLimit));
            registrations.Add(new Scsi.Reservations.PrRegistration(nexus, r.Key));
            if (m.PrReserved && r.InitiatorIndex == m.PrHolder)
            {
                holder = nexus;
            }
        }
        return new PrSnapshot(m.PrGeneration, registrations, m.PrReserved, m.PrReserved ? (PrType)m.PrType : PrType.None, holder);
    }

    // ---- mode pages -------------------------------------------------------------------------------------------

    /// <summary>
    /// Sends the pages: all of them at announce (no originator), only those that differ from what the peer last saw after
    /// a MODE SELECT (one that changed nothing raises no UA anywhere, as on the executing node).
    /// </summary>
    private async ValueTask SendModePagesAsync(LogicalUnit lun, uint originator, CancellationToken cancellationToken)
    {
        foreach (var (code, subpage, current) in lun.ExportModePages())
        {
            var key = (lun.LunId, code, subpage);
            bool unchanged;
            lock (_lock)
            {
                unchanged = _syncedPages.TryGetValue(key, out var last) && last.AsSpan().SequenceEqual(current);
                _syncedPages[key] = current;
            }
            if (unchanged && originator != W.WireLimits.NoInitiator)
            {
                continue;
            }
            await SendAsync(new W.ModeSync((uint)lun.LunId, code, subpage, current, originator), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>§8.3: copy the page; with an originator, 2A/01 for every local nexus but the originator.</summary>
    private void OnModeSync(W.ModeSync m)
    {
        if (_engine.FindLogicalUnit((int)m.Lun) is not { } lun || !lun.ApplyPeerModePage(m.PageCode, m.Subpage, m.PageData))
        {
            Log.Ignored(_logger, $"ModeSync for LUN {m.Lun} page {m.PageCode:X2}h/{m.Subpage:X2}h");
            return;
        }
        lock (_lock)
        {
            _syncedPages[(lun.LunId, m.PageCode, m.Subpage)] = [.. m.PageData];
        }
        if (m.Originator != W.WireLimits.NoInitiator)
        {
            lun.EstablishUnitAttentionForAll(UnitAttention.ModeChange, except: NexusForIndex(m.Originator));
        }
    }

    /// <summary>A nexus standing for an initiator index (UA slots are keyed by identity, so any node's nexus works).</summary>
    private ITNexus? NexusForIndex(uint index)
    {
        var identity = _directory.Identity(index);
        return identity is { } id ? new ITNexus(-1 - (long)index, id.InitiatorName, id.Isid, string.Empty, id.RelativeTargetPortId) : null;
    }

    // ---- persistent reservations ------------------------------------------------------------------------------

    private async ValueTask ReplicatePersistentReserveOutAsync(int lunId, PrNexus requester, PrOutRequest request, CancellationToken cancellationToken)
    {
        if (!IsLinked)
        {
            return;
        }
        var lun = _engine.FindLogicalUnit(lunId)!;
        uint index = _directory.IndexOf(requester);
        W.PersistentReserveActionKind kind;
        ulong key = request.ReservationKey;
        ulong serviceActionKey = 0;
        byte type = 0;
        byte[] transportId = [];
        switch (request.Action)
        {
            case PrOutServiceAction.Register:
            case PrOutServiceAction.RegisterAndIgnoreExistingKey:
                if (request.ServiceActionReservationKey == 0)
                {
                    kind = W.PersistentReserveActionKind.Unregister;
                }
                else
                {
                    kind = W.PersistentReserveActionKind.Register;
                    key = request.ServiceActionReservationKey;
                    transportId = PrInData.IscsiTransportId(requester);
                }
                break;
            case PrOutServiceAction.Reserve:
                kind = W.PersistentReserveActionKind.Reserve;
                type = (byte)request.Type;
                break;
            case PrOutServiceAction.Release:
                kind = W.PersistentReserveActionKind.Release;
                type = (byte)request.Type;
                break;
            case PrOutServiceAction.Clear:
                kind = W.PersistentReserveActionKind.Clear;
                break;
            case PrOutServiceAction.Preempt:
            case PrOutServiceAction.PreemptAndAbort:
                kind = request.Action == PrOutServiceAction.Preempt ? W.PersistentReserveActionKind.Preempt : W.PersistentReserveActionKind.PreemptAndAbort;
                serviceActionKey = request.ServiceActionReservationKey;
                type = (byte)request.Type;
                break;
            default:
                // REGISTER AND MOVE / REPLACE LOST RESERVATION have no wire action: send the whole state instead.
                await SendAsync(BuildLunSync(lun), cancellationToken).ConfigureAwait(false);
                return;
        }
        await SendAsync(new W.PersistentReserveAction((uint)lunId, kind, index, key, serviceActionKey, type, transportId,
            lun.ReservationState.Persistent.Generation), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>§8.4 receive side: replay through the same effect code (UAs for local registrants, aborts).</summary>
    private void OnPersistentReserveAction(W.PersistentReserveAction m)
    {
        if (_engine.FindLogicalUnit((int)m.Lun) is not { } lun)
        {
            Log.Ignored(_logger, $"PR action for LUN {m.Lun}");
            return;
        }
        PrNexus? requester = _directory.Identity(m.InitiatorIndex);
        if (requester is null && NexusDirectory.ParseTransportId(m.TransportId) is { } id)
        {
            requester = new PrNexus(id.Name, id.Isid, (ushort)(m.InitiatorIndex / W.WireLimits.MaxInitiatorsPerPortLimit));
        }
        if (requester is not { } who)
        {
            throw new W.InterlinkProtocolException(W.InterlinkErrorKind.OutOfRange, $"PersistentReserveAction from initiator {m.InitiatorIndex}, never announced");
        }
        var type = (PrType)m.Type;
        var request = m.Action switch
        {
            W.PersistentReserveActionKind.Register => new PrOutRequest(PrOutServiceAction.RegisterAndIgnoreExistingKey, 0, PrType.None, 0, m.ReservationKey),
            W.PersistentReserveActionKind.Unregister => new PrOutRequest(PrOutServiceAction.RegisterAndIgnoreExistingKey, 0, PrType.None, 0, 0),
            W.PersistentReserveActionKind.Reserve => new PrOutRequest(PrOutServiceAction.Reserve, 0, type, m.ReservationKey, 0),
            W.PersistentReserveActionKind.Release => new PrOutRequest(PrOutServiceAction.Release, 0, type, m.ReservationKey, 0),
            W.PersistentReserveActionKind.Clear => new PrOutRequest(PrOutServiceAction.Clear, 0, PrType.None, m.ReservationKey, 0),
            W.PersistentReserveActionKind.Preempt => new PrOutRequest(PrOutServiceAction.Preempt, 0, type, m.ReservationKey, m.ServiceActionKey),
            _ => new PrOutRequest(PrOutServiceAction.PreemptAndAbort, 0, type, m.ReservationKey, m.ServiceActionKey),
        };
        lun.ApplyReplicatedPersistentReserveOut(who, request);
    }

    // ---- unit attentions and task management ------------------------------------------------------------------

    private void OnUnitAttention(W.UnitAttention m)
    {
        var flag = (m.Asc, m.Ascq) switch
        {
            (0x2A, 0x01) => UnitAttention.ModeChange,
            (0x2A, 0x03) => UnitAttention.ReservationsPreempted,
            (0x2A, 0x04) => UnitAttention.ReservationsReleased,
            (0x2A, 0x05) => UnitAttention.RegistrationsPreempted,
            (0x2A, 0x06) => UnitAttention.AsymmetricAccessChange,
            (0x2A, 0x09) => UnitAttention.CapacityChange,
            (0x38, 0x07) => UnitAttention.ThinProvisioningThreshold,
            (0x28, 0x00) => UnitAttention.MediumChange,
            (0x29, 0x00) => UnitAttention.LunReset,
            (0x29, 0x01) => UnitAttention.PowerOn,
            (0x29, 0x02) => UnitAttention.BusReset,
            (0x29, 0x03) => UnitAttention.TargetReset,
            (0x29, 0x07) => UnitAttention.ITNexusLoss,
            (0x3F, 0x03) => UnitAttention.InquiryChange,
            (0x3F, 0x0E) => UnitAttention.LunChange,
            _ => UnitAttention.None,
        };
        if (flag == UnitAttention.None)
        {
            Log.Ignored(_logger, $"UA {m.Asc:X2}/{m.Ascq:X2}");
            return;
        }
        IEnumerable<LogicalUnit> luns = m.Lun == W.WireLimits.AllLuns
            ? _engine.LogicalUnits
            : _engine.FindLogicalUnit((int)m.Lun) is { } one ? [one] : [];
        var nexus = m.Scope == W.UnitAttentionScope.AllInitiators ? null : NexusForIndex(m.InitiatorIndex);
        foreach (var lun in luns)
        {
            if (flag == UnitAttention.ThinProvisioningThreshold && m.Set && m.Information.Length == W.WireLimits.UnitAttentionInfoLength)
            {
                lun.ThresholdInformation = BinaryPrimitives.ReadUInt64BigEndian(m.Information);
            }
            switch (m.Scope)
            {
                case W.UnitAttentionScope.AllInitiators:
                case W.UnitAttentionScope.AllExcept:
                    if (m.Set)
                    {
                        lun.EstablishUnitAttentionForAll(flag, except: nexus);
                    }
                    else if (nexus is null)
                    {
                        lun.ClearUnitAttentionForAll(flag);
                    }
                    break;
                case W.UnitAttentionScope.One when nexus is not null:
                    if (m.Set)
                    {
                        lun.EstablishUnitAttention(nexus, flag);
                    }
                    else
                    {
                        lun.ClearUnitAttention(nexus, flag);
                    }
                    break;
            }
        }
    }

    // ---- thin-provisioning thresholds ---------------------------------------------------------------------------

    /// <summary>
    /// One design for every mode: only the LUN's primary checks its thresholds (the engine's timer asks
    /// <see cref="LogicalUnit.ProvisioningMonitorGate"/>), raises 38/07 for its own initiators and ships it — set, and
    /// cleared when usage falls back — as a UnitAttention message (all initiators, INFORMATION = descriptor offset) to
    /// the peer, which raises it for its initiators. In shared mode the secondary could measure the shared file itself,
    /// but then both nodes would raise it; with one checker each initiator sees it once. Hooked at the first link-up
    /// (before it, an unlinked node is alone and raises it only for its own initiators).
    /// </summary>
    private void HookProvisioningThresholds(LogicalUnit lun)
    {
        if (!_provisioningHooked.TryAdd(lun.LunId, true))
        {
            return;
        }
        int lunId = lun.LunId;
        lun.ProvisioningMonitorGate = () => ViewOf(lunId).LocalRole == HaRole.Primary;
        lun.ProvisioningThresholdChanged += (l, information, set) => _ = ShipThresholdAsync(l.LunId, information, set);
    }

    private readonly ConcurrentDictionary<int, bool> _provisioningHooked = new();

    private async Task ShipThresholdAsync(int lunId, ulong information, bool set)
    {
        if (!IsLinked)
        {
            return;
        }
        byte[] info = new byte[W.WireLimits.UnitAttentionInfoLength];
        BinaryPrimitives.WriteUInt64BigEndian(info, information);
        try
        {
            await SendAsync(new W.UnitAttention((uint)lunId, W.UnitAttentionScope.AllInitiators, W.WireLimits.NoInitiator, set, 0x38, 0x07, info)).ConfigureAwait(false);
            if (set)
            {
                Log.ThresholdShipped(_logger, lunId, information);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            Log.Ignored(_logger, $"38/07 for LUN {lunId} not sent: {e.Message}");
        }
    }

    /// <summary>§8.6 receive side: run the peer's TMF here with the peer's nexus as requester (it sets no UA for it).</summary>
    private async ValueTask OnTaskManagementAsync(W.TaskManagement m, CancellationToken cancellationToken)
    {
        RequirePeerPort(m.Nexus.TargetPort, "TaskManagement");
        uint index = NexusDirectory.Index(m.Nexus.TargetPort, m.Nexus.InitiatorId);
        if (_directory.RemoteNexus(index) is not { } nexus)
        {
            Log.Ignored(_logger, $"task management from initiator {index}, never announced");
            return;
        }
        if (m.Function == W.TaskManagementFunction.ItNexusReset)
        {
            _engine.NexusLost(nexus);
            return;
        }
        var function = m.Function switch
        {
            W.TaskManagementFunction.AbortTask => TaskManagementFunction.AbortTask,
            W.TaskManagementFunction.AbortTaskSet => TaskManagementFunction.AbortTaskSet,
            W.TaskManagementFunction.ClearTaskSet => TaskManagementFunction.ClearTaskSet,
            W.TaskManagementFunction.LunReset => TaskManagementFunction.LogicalUnitReset,
            _ => TaskManagementFunction.TargetWarmReset,
        };
        await _engine.TaskManagementAsync(new TaskManagementRequest(nexus, function, LunAddress.Encode((int)m.Nexus.Lun), (uint)m.ReferencedTag), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>§8.6 send side, after the local TMF ran.</summary>
    internal async ValueTask ReplicateTaskManagementAsync(TaskManagementRequest request, CancellationToken cancellationToken)
    {
        if (!IsLinked || !IsLocalNexus(request.Nexus))
        {
            return;
        }
        int lunId = Math.Max(0, LunAddress.Decode(request.Lun));
        uint index = _directory.IndexOfLocal(request.Nexus);
        var nexus = NexusDirectory.WireNexus(index, lunId);
        if (!_announced.ContainsKey(index))
        {
            await AnnounceInitiatorAsync(request.Nexus, cancellationToken).ConfigureAwait(false);
        }
        switch (request.Function)
        {
            case TaskManagementFunction.LogicalUnitReset:
                await SendAsync(new W.TaskManagement(nexus, W.TaskManagementFunction.LunReset, 0, 0), cancellationToken).ConfigureAwait(false);
                break;
            case TaskManagementFunction.TargetWarmReset:
            case TaskManagementFunction.TargetColdReset:
                await SendAsync(new W.TaskManagement(nexus, W.TaskManagementFunction.TargetReset, 0, 0), cancellationToken).ConfigureAwait(false);
                break;
            case TaskManagementFunction.ITNexusReset:
                await SendAsync(new W.TaskManagement(nexus, W.TaskManagementFunction.ItNexusReset, 0, 0), cancellationToken).ConfigureAwait(false);
                break;
            case TaskManagementFunction.ClearTaskSet:
                await SendAsync(new W.TaskManagement(nexus, W.TaskManagementFunction.ClearTaskSet, 0, 0), cancellationToken).ConfigureAwait(false);
                break;
            case TaskManagementFunction.AbortTask:
            case TaskManagementFunction.AbortTaskSet:
                foreach (var f in ForwardedOf(request.Nexus, lunId, request.Function == TaskManagementFunction.AbortTask ? request.ReferencedTag : null))
                {
                    await SendAsync(new W.TaskManagement(nexus, W.TaskManagementFunction.AbortTask, f.Task.Tag, f.Handle), cancellationToken).ConfigureAwait(false);
                }
                return; // an abort changes nothing the peer's initiators can observe: no fence
        }
        await FenceAsync(cancellationToken).ConfigureAwait(false);
    }
}

public sealed partial class HaNode
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 90, Level = LogLevel.Information, Message = "LUN {Lun}: capacity adopted from the primary, {Before} -> {After} blocks")]
        public static partial void CapacityAdopted(ILogger logger, int lun, long before, long after);

        [LoggerMessage(EventId = 91, Level = LogLevel.Information, Message = "LUN {Lun}: thin-provisioning threshold reached (descriptor at {Information}); 38/07 sent to the peer")]
        public static partial void ThresholdShipped(ILogger logger, int lun, ulong information);
    }
}

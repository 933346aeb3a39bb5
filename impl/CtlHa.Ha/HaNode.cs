using System.Collections.Concurrent;
using CtlHa.Core;
using CtlHa.Interlink;
using CtlHa.Scsi;
using CtlHa.Scsi.Alua;
using CtlHa.Scsi.Backends;
using Microsoft.Extensions.Logging;
using W = CtlHa.Wire;

namespace CtlHa.Ha;

/// <summary>
/// One HA node (ctl-ha.md §4–§10): the local <see cref="ScsiEngine"/>, the interlink, and per-LUN HA state (role,
/// peer-primary knowledge, conflicts). <see cref="Target"/> is the <see cref="IScsiTarget"/> a frontend talks to.
/// </summary>
public sealed partial class HaNode : IInterlinkHandler
{
    private readonly HaNodeOptions _options;
    private readonly ScsiEngine _engine;
    private readonly InterlinkLink? _link;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<int, LunState> _luns = [];
    private readonly NexusDirectory _directory = new();
    private readonly IReadOnlyList<ushort> _localPorts;
    private readonly SortedSet<ushort> _peerPorts = [];
    private readonly ConcurrentDictionary<uint, bool> _announced = new();
    private readonly ConcurrentDictionary<ulong, TaskCompletionSource> _fences = new();
    private long _nextFenceId;
    private readonly Dictionary<(int Lun, byte Page, byte Subpage), byte[]> _syncedPages = [];
    private CancellationTokenSource _epoch = new();
    private bool _online;
    private bool _peerSyncComplete;
    private int? _peerNodeId;

    private HaNode(HaNodeOptions options, Func<IAluaProvider, ScsiEngine> createEngine, ILoggerFactory loggerFactory)
    {
        options.Validate();
        if (options.Interlink is null || options.Mode == HaMode.Unavailable)
        {
            // No peer: mode unavailable (§5.6), whatever mode was asked for.
            options = new HaNodeOptions
            {
                NodeId = options.NodeId, Mode = HaMode.Unavailable, DefaultRole = options.DefaultRole, LunRoles = options.LunRoles,
                Interlink = null, LocalPorts = options.LocalPorts, TargetName = options.TargetName, ForwardTimeout = options.ForwardTimeout,
                PromotionTime = options.PromotionTime,
            };
        }
        _options = options;
        _logger = loggerFactory.CreateLogger<HaNode>();
        var alua = new HaAluaProvider();
        alua.Attach(this);
        _engine = createEngine(alua);
        if (!ReferenceEquals(_engine.Alua, alua))
        {
            throw new ArgumentException("The engine must use the ALUA provider the HA node passes to the factory.", nameof(createEngine));
        }
        _localPorts = options.LocalPorts is { Count: > 0 } ports ? [.. ports.Order()] : [HaPorts.FirstRelativePort(options.NodeId)];
        _peerPorts.Add(HaPorts.FirstRelativePort(3 - options.NodeId));
        foreach (var lun in _engine.LogicalUnits)
        {
            var role = options.LunRoles is { } roles && roles.TryGetValue(lun.LunId, out var r) ? r : options.DefaultRole;
            _luns[lun.LunId] = new LunState { Role = role };
            int lunId = lun.LunId;
            lun.ReservationState.ReplicateAsync = (requester, request, ct) => ReplicatePersistentReserveOutAsync(lunId, requester, request, ct);
            if (!NeedsStore(role) && lun.Backend is DetachableBackend store)
            {
                store.CloseAsync().AsTask().GetAwaiter().GetResult(); // nothing runs yet: returns at once
            }
        }
        if (options.Mode != HaMode.Unavailable)
        {
            var interlink = options.Interlink!;
            interlink.NodeId = options.NodeId;
            interlink.Mode = options.Mode switch
            {
                HaMode.Standby => W.HaMode.Standby,
                HaMode.Shared => W.HaMode.Shared,
                _ => W.HaMode.Proxy,
            };
            _link = new InterlinkLink(interlink, this, loggerFactory.CreateLogger<InterlinkLink>());
        }
        Target = new HaScsiTarget(this);
    }

    /// <summary>
    /// Builds a node. <paramref name="createEngine"/> gets the ALUA provider the engine must use
    /// (<c>new ScsiEngine(luns, new ScsiEngineOptions { Alua = alua }, loggerFactory)</c>).
    /// </summary>
    public static HaNode Create(HaNodeOptions options, Func<IAluaProvider, ScsiEngine> createEngine, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(createEngine);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        return new HaNode(options, createEngine, loggerFactory);
    }

    public int NodeId => _options.NodeId;

    /// <summary>
    /// RTPG IMPLICIT TRANSITION TIME: how long a path may stay Transitioning after a peer loss — the dead-peer interval
    /// plus <see cref="HaNodeOptions.PromotionTime"/>, rounded up, 1..255 s (spec: AluaTable.ImplicitTransitionTimeSeconds).
    /// </summary>
    public byte ImplicitTransitionTimeSeconds =>
        (byte)Math.Clamp(Math.Ceiling(((_options.Interlink?.DeadAfter ?? TimeSpan.Zero) + _options.PromotionTime).TotalSeconds), 1, 255);

    public HaMode Mode => _options.Mode;

    public ScsiEngine Engine => _engine;

    /// <summary>The interlink; null in mode unavailable.</summary>
    public InterlinkLink? Link => _link;

    /// <summary>What the frontend calls: the HA pipeline in front of <see cref="Engine"/>.</summary>
    public IScsiTarget Target { get; }

    /// <summary>True while the interlink is Online (between link-up and link-down of one connection).</summary>
    public bool IsLinked
    {
        get
        {
            lock (_lock)
            {
                return _online;
            }
        }
    }

    /// <summary>True once the link is Online and the peer's state sync is complete (always true in mode unavailable).</summary>
    public bool IsPeerSynced
    {
        get
        {
            lock (_lock)
            {
                return _options.Mode == HaMode.Unavailable || (_online && _peerSyncComplete);
            }
        }
    }

    /// <summary>Runs the interlink until cancelled (in mode unavailable: just waits for the cancellation).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (_link is null)
        {
            var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await using (cancellationToken.Register(() => stopped.TrySetResult()))
            {
                await stopped.Task.ConfigureAwait(false);
            }
            return;
        }
        using var sweepStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var sweep = SweepForwardedAsync(sweepStop.Token);
        try
        {
            await _link.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await sweepStop.CancelAsync().ConfigureAwait(false);
            await sweep.ConfigureAwait(false);
        }
    }

    /// <summary>This node's view of one LUN (an unknown LUN reads as secondary).</summary>
    public HaLunView ViewOf(int lunId)
    {
        lock (_lock)
        {
            var link = _options.Mode == HaMode.Unavailable ? HaLinkState.Offline : _online ? HaLinkState.Online : HaLinkState.Connecting;
            if (!_luns.TryGetValue(lunId, out var st))
            {
                return new HaLunView(NodeId, HaRole.Secondary, false, link, _options.Mode);
            }
            bool peerPrimary = st.PeerPrimary && _online && st.Conflict is null;
            return new HaLunView(NodeId, st.Role, peerPrimary, link, _options.Mode);
        }
    }

    /// <summary>Relative target port ids of a node's ports (the peer's as announced by PortSync).</summary>
    public IReadOnlyList<ushort> PortsOfNode(int nodeId)
    {
        if (nodeId == NodeId)
        {
            return _localPorts;
        }
        lock (_lock)
        {
            return [.. _peerPorts];
        }
    }

    /// <summary>
    /// Changes the role of one LUN or of every LUN (ctl-ha.md §5.1, §7.3). Becoming primary is refused while the link is
    /// up and the peer is primary (CtlHa prevents split brain). Every change raises 2A/06 for every local nexus and is
    /// announced to the peer (LunSync, and the mode pages from a new primary).
    /// </summary>
    public async Task<HaRoleResult> SetRoleAsync(HaRole role, int? lunId = null, CancellationToken cancellationToken = default)
    {
        if (NeedsStore(role))
        {
            // Open before the role changes, so the first command the new primary admits finds its store.
            foreach (var lun in _engine.LogicalUnits)
            {
                if ((lunId is null || lunId == lun.LunId) && lun.Backend is DetachableBackend { IsOpen: false } store)
                {
                    store.Open();
                }
            }
        }
        var result = SetRoleCore(role, lunId);
        foreach (var lun in _engine.LogicalUnits)
        {
            // Close what this node must not touch in its (new or refused) role, after the I/O under way.
            if ((lunId is null || lunId == lun.LunId) && lun.Backend is DetachableBackend { IsOpen: true } store && !NeedsStore(ViewOf(lun.LunId).LocalRole))
            {
                await store.CloseAsync().ConfigureAwait(false);
            }
        }
        foreach (int id in result.Changed)
        {
            await AnnounceLunAsync(id, withModePages: role == HaRole.Primary, cancellationToken).ConfigureAwait(false);
        }
        return result;
    }

    /// <summary>
    /// Whether this node may touch a LUN's backing store in <paramref name="role"/>: the primary always; a secondary only
    /// in shared mode, where it executes the commands the primary ordered. In standby and proxy modes the secondary's
    /// store stays closed until promotion (a <see cref="DetachableBackend"/>; other backends stay as they are).
    /// </summary>
    private bool NeedsStore(HaRole role) => role == HaRole.Primary || _options.Mode == HaMode.Shared;

    private HaRoleResult SetRoleCore(HaRole role, int? lunId)
    {
        var changed = new List<int>();
        var refused = new List<(int, string)>();
        lock (_lock)
        {
            foreach (var (id, st) in _luns)
            {
                if (lunId is { } only && only != id)
                {
                    continue;
                }
                if (st.Role == role)
                {
                    continue;
                }
                if (role == HaRole.Primary && _online && st.PeerPrimary && st.Conflict is null)
                {
                    refused.Add((id, $"node {3 - NodeId} is primary for LUN {id} and the interlink is up; demote it first"));
                    continue;
                }
                st.Role = role;
                changed.Add(id);
            }
            if (lunId is { } wanted && !_luns.ContainsKey(wanted))
            {
                refused.Add((wanted, $"no LUN {wanted}"));
            }
        }
        foreach (int id in changed)
        {
            _engine.FindLogicalUnit(id)!.EstablishUnitAttentionForAll(UnitAttention.AsymmetricAccessChange);
            Log.RoleChanged(_logger, id, role);
        }
        foreach (var (id, reason) in refused)
        {
            Log.RoleRefused(_logger, id, reason);
        }
        return new HaRoleResult(changed, refused);
    }

    /// <summary>A snapshot for <c>ctlha status</c>.</summary>
    public HaStatus GetStatus()
    {
        var luns = new List<HaLunStatus>();
        foreach (var lun in _engine.LogicalUnits)
        {
            var view = ViewOf(lun.LunId);
            var (node1, node2) = HaAlua.NodeGroupStates(view);
            bool? peerRole;
            string? conflict;
            lock (_lock)
            {
                var st = _luns[lun.LunId];
                peerRole = st.PeerRolePrimary;
                conflict = st.Conflict;
            }
            luns.Add(new HaLunStatus(lun.LunId, view.LocalRole, view.PeerPrimary, peerRole,
                [new HaGroupStatus(HaPorts.GroupIdOfNode(1), node1, PortsOfNode(1)), new HaGroupStatus(HaPorts.GroupIdOfNode(2), node2, PortsOfNode(2))],
                conflict));
        }
        int? peer;
        lock (_lock)
        {
            peer = _online ? _peerNodeId : null;
        }
        var phase = _link?.Phase.ToString() ?? "Unconfigured";
        var link = _options.Mode == HaMode.Unavailable ? HaLinkState.Offline : IsLinked ? HaLinkState.Online : HaLinkState.Connecting;
        return new HaStatus(NodeId, Mode, link, phase, _link?.LastRejection?.Reason, peer, luns,
            Interlocked.Read(ref _forwardedCount), Interlocked.Read(ref _peerExecutedCount));
    }

    private sealed class LunState
    {
        public HaRole Role;
        public bool PeerPrimary;
        public bool? PeerRolePrimary;
        public string? Conflict;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "LUN {Lun}: role is now {Role}")]
        public static partial void RoleChanged(ILogger logger, int lun, HaRole role);

        [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "LUN {Lun}: role change refused: {Reason}")]
        public static partial void RoleRefused(ILogger logger, int lun, string reason);

        [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "HA link up with node {PeerNodeId}")]
        public static partial void LinkUp(ILogger logger, int peerNodeId);

        [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "HA link down: {Reason}")]
        public static partial void LinkDown(ILogger logger, string reason);

        [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "LUN {Lun}: conflicting HA LUN, excluded from HA: {Reason}")]
        public static partial void LunConflict(ILogger logger, int lun, string reason);

        [LoggerMessage(EventId = 6, Level = LogLevel.Debug, Message = "LUN {Lun}: peer primary = {PeerPrimary}")]
        public static partial void PeerPrimaryChanged(ILogger logger, int lun, bool peerPrimary);

        [LoggerMessage(EventId = 7, Level = LogLevel.Error, Message = "Command for the peer failed unexpectedly")]
        public static partial void PeerCommandFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 8, Level = LogLevel.Debug, Message = "Ignoring {What}")]
        public static partial void Ignored(ILogger logger, string what);

        [LoggerMessage(EventId = 9, Level = LogLevel.Error, Message = "Relative target port {Port} is outside node {NodeId}'s range (node 1: 1..256, node 2: 257..512); commands through it cannot be forwarded")]
        public static partial void ForeignPort(ILogger logger, ushort port, int nodeId);

        [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "The peer did not acknowledge sync fence {FenceId} within {TimeoutMs} ms; answering the initiator anyway (the dead-peer detector owns the link)")]
        public static partial void FenceTimedOut(ILogger logger, ulong fenceId, double timeoutMs);

        [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "LUN {Lun}: SCSI-2 reservation of {Initiator} through the peer released (link lost, its sessions with it)")]
        public static partial void PeerReservationReleased(ILogger logger, int lun, string initiator);
    }
}

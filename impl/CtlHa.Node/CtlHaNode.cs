using System.Net;
using CtlHa.Core;
using CtlHa.Ha;
using CtlHa.Interlink;
using CtlHa.Iscsi;
using CtlHa.Scsi;
using CtlHa.Scsi.Backends;
using Microsoft.Extensions.Logging;

namespace CtlHa.Node;

/// <summary>
/// One node: its LUNs (file backends), the SCSI engine, the iSCSI frontend and the control API.
/// `RunAsync` serves until cancelled, then closes sessions, the control API and the backends.
/// </summary>
public sealed partial class CtlHaNode : IAsyncDisposable
{
    private readonly NodeSettings _settings;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<IBlockBackend> _backends = [];
    private ScsiEngine? _engine;
    private HaNode? _ha;

    /// <summary>No HA, or the interlink is up and the peer's state is synced (what `ctlha pair` waits for).</summary>
    public bool IsHaSynced => _ha is not { } ha || ha.IsPeerSynced;
    private IscsiTargetServer? _iscsi;
    private ControlServer? _control;

    /// <summary>
    /// The largest transfer one command may carry, advertised in VPD B0h (MAXIMUM TRANSFER LENGTH) and enforced by the
    /// frontend, which stages write data: one limit for both, so an initiator that honours B0h is never refused.
    /// </summary>
    public const int MaxTransferBytes = 64 << 20;

    public CtlHaNode(NodeSettings settings, ILoggerFactory loggerFactory)
    {
        _settings = settings;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger($"CtlHa.Node.{settings.Name}");
    }

    /// <summary>Completes once every portal and the control API listen.</summary>
    public Task Started => _started.Task;

    public NodeSettings Settings => _settings;

    /// <summary>The bound iSCSI portals (useful with port 0 in tests).</summary>
    public IReadOnlyList<IPEndPoint> Portals => _iscsi?.BoundEndpoints ?? [];

    /// <summary>Relative target port id of this node's first port (the HA layer's ranges: node 1 uses 1.., node 2 257..; never 0).</summary>
    public ushort RelativePortBase => _settings.HaId is 1 or 2 ? HaPorts.FirstRelativePort(_settings.HaId) : (ushort)1;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            var luns = new List<LogicalUnit>();
            for (int i = 0; i < _settings.Luns.Count; i++)
            {
                var lun = _settings.Luns[i];
                IBlockBackend backend;
                try
                {
                    backend = FileBackend.Open(lun.Path, lun.SizeBytes, inlineIo: _settings.InlineIo);
                    if (_settings.HaId is 1 or 2 && _settings.Mode != HaModeSetting.Shared)
                    {
                        // Standby/proxy/unavailable: the HA layer keeps a secondary's store closed until promotion.
                        string path = lun.Path;
                        bool inline = _settings.InlineIo;
                        backend = new DetachableBackend(backend, () => FileBackend.Open(path, null, inline));
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
                {
                    throw new SettingsException($"LUN {i}: cannot open '{lun.Path}': {e.Message}");
                }
                _backends.Add(backend);
                luns.Add(new LogicalUnit(i, backend, new LogicalUnitOptions
                {
                    ReadOnly = _settings.ReadOnly,
                    PhysicalBlockSize = _settings.PhysicalBlockSize,
                    SerSeq = _settings.SerSeq switch
                    {
                        SerSeqSetting.Off => SerSeqMode.Off,
                        SerSeqSetting.On => SerSeqMode.On,
                        _ => SerSeqMode.Read,
                    },
                    // Both nodes of a pair must give a LUN the same identity; derive it from the target and LUN id.
                    Serial = LunSerial(_settings.Target, i),
                }));
            }
            var interlinkOptions = BuildInterlinkOptions(_settings);
            IScsiTarget target;
            if (_settings.HaId is 1 or 2)
            {
                _ha = HaNode.Create(
                    new HaNodeOptions
                    {
                        NodeId = (byte)_settings.HaId,
                        Mode = _settings.Mode switch
                        {
                            HaModeSetting.Standby => CtlHa.Ha.HaMode.Standby,
                            HaModeSetting.Shared => CtlHa.Ha.HaMode.Shared,
                            HaModeSetting.Proxy => CtlHa.Ha.HaMode.Proxy,
                            _ => CtlHa.Ha.HaMode.Unavailable,
                        },
                        // CTL: an HA node's LUNs are secondary unless told otherwise (ctl-ha.md §5.1).
                        DefaultRole = _settings.Role == RoleSetting.Primary ? HaRole.Primary : HaRole.Secondary,
                        Interlink = interlinkOptions,
                        LocalPorts = [RelativePortBase],
                        TargetName = _settings.Target,
                        PromotionTime = _settings.PromotionTime,
                    },
                    alua => _engine = new ScsiEngine(luns, new ScsiEngineOptions { Alua = alua, MaxTransferBytes = MaxTransferBytes }, _loggerFactory),
                    _loggerFactory);
                target = _ha.Target;
            }
            else
            {
                _engine = new ScsiEngine(luns, new ScsiEngineOptions { MaxTransferBytes = MaxTransferBytes }, _loggerFactory);
                target = _engine;
            }
            _iscsi = new IscsiTargetServer(
                new IscsiTargetOptions
                {
                    Portals = [.. _settings.Portals],
                    Targets = [new IscsiTargetDefinition(_settings.Target, $"ctlha-{_settings.Name}")],
                    TargetPortGroupTag = RelativePortBase,
                    MaxWriteTransferLength = MaxTransferBytes,
                    RelativeTargetPortId = RelativePortBase,
                    ImmediateData = _settings.ImmediateData,
                    Chap = _settings.ChapUser is { } user && _settings.ChapSecret is { } secret
                        ? new ChapOptions(user, secret, _settings.MutualChapUser, _settings.MutualChapSecret)
                        : null,
                },
                target,
                _loggerFactory);
            var iscsiRun = _iscsi.RunAsync(cancellationToken);
            await Task.WhenAny(_iscsi.Started, iscsiRun);
            if (iscsiRun.IsCompleted)
            {
                await iscsiRun; // surfaces a bind failure
            }
            if (_settings.Control is { } controlEp)
            {
                _control = new ControlServer(controlEp, this, _loggerFactory);
                try
                {
                    await _control.StartAsync(cancellationToken);
                }
                catch (IOException e)
                {
                    throw new SettingsException($"--control {controlEp}: {e.Message}");
                }
            }
            var linkRun = _ha is { } ha ? ha.RunAsync(cancellationToken) : Task.CompletedTask;
            Log.Serving(_logger, _settings.Name, string.Join(", ", Portals), _settings.Target, luns.Count);
            _started.TrySetResult();
            await Task.WhenAll(iscsiRun, linkRun);
        }
        catch (Exception e)
        {
            _started.TrySetException(e);
            throw;
        }
    }

    /// <summary>A stable serial for LUN <paramref name="lun"/> of <paramref name="target"/> (VPD 0x80), equal on both nodes.</summary>
    public static string LunSerial(string target, int lun)
    {
        uint h = 2166136261;
        foreach (char c in target)
        {
            h = (h ^ c) * 16777619;
        }
        return $"CTLHA{h:X8}{lun:D4}";
    }

    public NodeStatus GetStatus()
    {
        var luns = new List<LunStatus>();
        LinkStatus link = new("offline", null, null, null);
        if (_ha is { } ha)
        {
            var hs = ha.GetStatus();
            link = new LinkStatus(ha.Link is { } haLink ? PhaseName(haLink.Phase) : "offline", _settings.Peer?.ToString(), hs.LastRejection, ha.Link?.LastRejection?.At);
            foreach (var l in hs.Luns)
            {
                var lu = ha.Engine.FindLogicalUnit(l.Lun);
                luns.Add(new LunStatus(
                    l.Lun,
                    l.Role.ToString().ToLowerInvariant(),
                    l.PeerRolePrimary switch { true => "primary", false => "secondary", null => "unknown" },
                    _settings.Luns[l.Lun].Path,
                    lu is null ? 0 : lu.BlockCount * lu.BlockSize,
                    l.Groups.Select(g => new GroupStatus(g.GroupId, StateName(g.State), g.RelativeTargetPortIds.Select(p => (int)p).ToList())).ToList(),
                    l.Conflict));
            }
        }
        else if (_engine is { } engine)
        {
            foreach (var lu in engine.LogicalUnits)
            {
                var groups = new List<GroupStatus> { new(1, StateName(AluaState.ActiveOptimized), [RelativePortBase]) };
                luns.Add(new LunStatus(lu.LunId, "primary", "none", _settings.Luns[lu.LunId].Path, lu.BlockCount * lu.BlockSize, groups, null));
            }
        }
        return new NodeStatus(
            _settings.Name,
            _settings.HaId,
            _settings.Mode.ToString().ToLowerInvariant(),
            link,
            luns,
            Portals.Select(p => p.ToString()).ToList(),
            _engine?.Nexuses.Count() ?? 0);
    }

    private static string PhaseName(InterlinkPhase phase) => phase switch
    {
        InterlinkPhase.Unconfigured => "offline",
        InterlinkPhase.BackingOff => "backing-off",
        InterlinkPhase.LoggingIn => "logging-in",
        _ => phase.ToString().ToLowerInvariant(),
    };

    private static string StateName(AluaState state) => state switch
    {
        AluaState.ActiveOptimized => "active/optimized",
        AluaState.ActiveNonOptimized => "active/non-optimized",
        AluaState.Standby => "standby",
        AluaState.Unavailable => "unavailable",
        AluaState.Transitioning => "transitioning",
        _ => state.ToString().ToLowerInvariant(),
    };

    public async Task<(bool Ok, string Message)> SetRoleAsync(RoleSetting role, int? lun, CancellationToken ct)
    {
        if (_ha is not { } ha)
        {
            return (false, "roles need an HA node (--ha-id 1|2)");
        }
        if (lun is { } id && (id < 0 || id >= _settings.Luns.Count))
        {
            return (false, $"LUN {id} does not exist (this node has LUNs 0..{_settings.Luns.Count - 1})");
        }
        var result = await ha.SetRoleAsync(role == RoleSetting.Primary ? HaRole.Primary : HaRole.Secondary, lun, ct);
        string what = lun is { } l ? $"LUN {l}" : "every LUN";
        return result.Succeeded
            ? (true, $"{what}: {role.ToString().ToLowerInvariant()} (changed: {(result.Changed.Count == 0 ? "none" : string.Join(", ", result.Changed))})")
            : (false, string.Join("; ", result.Refused.Select(r => $"LUN {r.Lun}: {r.Reason}")));
    }

    public async ValueTask DisposeAsync()
    {
        if (_control is { } control)
        {
            await control.DisposeAsync();
        }
        _engine?.Dispose(); // stops the thin-provisioning threshold timer
        foreach (var b in _backends)
        {
            await b.DisposeAsync();
        }
        _backends.Clear();
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "node {Name} serving {Portals} target {Target} with {Luns} LUN(s)")]
        public static partial void Serving(ILogger logger, string name, string portals, string target, int luns);
    }
}

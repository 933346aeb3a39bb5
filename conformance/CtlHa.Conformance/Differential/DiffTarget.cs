using System.Buffers.Binary;
using System.Text;
using CtlHa.Conformance.Node;
using CtlHa.Initiator;
using CtlHa.Initiator.Scsi;
using CtlHa.Model;
using CtlHa.Spec;
using TaskAttribute = CtlHa.Initiator.Scsi.TaskAttribute;

namespace CtlHa.Conformance.Differential;

/// <summary>One initiator port of a differential run: iSCSI name + ISID (two may share a name: same host, two ports).</summary>
public sealed record DiffInitiator(int Index, string Name, ulong Isid)
{
    /// <summary>
    /// init1 and init2 share an initiator name with distinct ISIDs (two I_T nexuses of one host); init3 is another host.
    /// </summary>
    public static IReadOnlyList<DiffInitiator> Default { get; } =
    [
        new(1, "iqn.2026-11.org.ctlha:diff-host-a", 0x4000_0137_0001),
        new(2, "iqn.2026-11.org.ctlha:diff-host-a", 0x4000_0137_0002),
        new(3, "iqn.2026-11.org.ctlha:diff-host-b", 0x4000_0137_0003),
    ];

    /// <summary>The model's view of this nexus on a standalone node: node 1, relative target port 1.</summary>
    public Nexus ToNexus(int node = 1, ushort relativePortId = 1) => new(Name, Isid, node, relativePortId);
}

/// <summary>
/// The real side of a differential test: one fresh <c>ctlha node</c> with one LUN, and a logged-in iSCSI session per
/// initiator. Reached only over TCP.
/// </summary>
public sealed class DiffTarget : IAsyncDisposable
{
    public const uint BlockSize = 512;

    private readonly IscsiInitiatorSession[] _sessions;
    private readonly NodeProcess? _node;

    private DiffTarget(NodeProcess? node, string targetName, int lun, IscsiInitiatorSession[] sessions, IReadOnlyList<DiffInitiator> initiators, ulong blockCount)
    {
        _node = node;
        TargetName = targetName;
        Lun = lun;
        _sessions = sessions;
        Initiators = initiators;
        BlockCount = blockCount;
    }

    /// <summary>The node this target started (not available for <see cref="ConnectAsync"/>, a target someone else runs).</summary>
    public NodeProcess Node => _node ?? throw new InvalidOperationException("this differential target is a running target reached by URL, not a node it started");

    public string TargetName { get; }

    /// <summary>The LUN every step addresses.</summary>
    public int Lun { get; }

    public IReadOnlyList<DiffInitiator> Initiators { get; }

    public ulong BlockCount { get; }

    public static async Task<DiffTarget> StartAsync(ulong blockCount, IReadOnlyList<DiffInitiator> initiators, CancellationToken cancellationToken,
        NodeProcessOptions? options = null)
    {
        var node = await NodeProcess.StartAsync((options ?? new NodeProcessOptions()) with { LunSizes = [(long)(blockCount * BlockSize)] }, cancellationToken);
        var sessions = new List<IscsiInitiatorSession>();
        try
        {
            foreach (var initiator in initiators)
            {
                var session = await IscsiInitiatorSession.ConnectAsync(node.Host, node.Port, node.TargetName, new InitiatorOptions
                {
                    InitiatorName = initiator.Name,
                    Isid = initiator.Isid,
                    CommandTimeout = TimeSpan.FromSeconds(20),
                    LoginTimeout = TimeSpan.FromSeconds(20),
                }, cancellationToken);
                sessions.Add(session);
            }

            return new DiffTarget(node, node.TargetName, 0, [.. sessions], initiators, blockCount);
        }
        catch
        {
            foreach (var s in sessions)
            {
                await s.DisposeAsync();
            }

            node.ExpectError(".*");
            await node.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Logs the initiators in to a target that is already running (e.g. node A of a pair under <c>ctlha-conform pair</c>);
    /// the LUN's size is read with READ CAPACITY(16). Disposing logs out and leaves the target running.
    /// </summary>
    public static async Task<DiffTarget> ConnectAsync(IscsiUrl url, IReadOnlyList<DiffInitiator> initiators, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(url);
        var sessions = new List<IscsiInitiatorSession>();
        try
        {
            foreach (var initiator in initiators)
            {
                sessions.Add(await IscsiInitiatorSession.ConnectAsync(url.Host, url.Port, url.TargetName, new InitiatorOptions
                {
                    InitiatorName = initiator.Name,
                    Isid = initiator.Isid,
                    CommandTimeout = TimeSpan.FromSeconds(20),
                    LoginTimeout = TimeSpan.FromSeconds(20),
                }, cancellationToken));
            }

            ulong blocks = 0;
            for (var attempt = 0; attempt < 8 && blocks == 0; attempt++)
            {
                // The first commands of a new nexus may meet a unit attention; READ CAPACITY is retried past it.
                var capacity = await sessions[0].ExecuteAsync(url.Lun, Initiator.Scsi.Cdb.ReadCapacity16(32), default, 32, TaskAttribute.Simple, cancellationToken);
                if (capacity.IsGood && capacity.DataIn.Length >= 12)
                {
                    blocks = BinaryPrimitives.ReadUInt64BigEndian(capacity.DataIn.Span) + 1;
                }
            }

            return blocks == 0
                ? throw new InvalidOperationException($"READ CAPACITY(16) of {url} did not succeed")
                : new DiffTarget(null, url.TargetName, url.Lun, [.. sessions], initiators, blocks);
        }
        catch
        {
            foreach (var s in sessions)
            {
                await s.DisposeAsync();
            }

            throw;
        }
    }

    /// <summary>Sends one step on its initiator's session (LUN 0). Transport failures become a failed outcome, not an exception.</summary>
    public async Task<DiffOutcome> ExecuteAsync(DiffStep step, CancellationToken cancellationToken)
    {
        try
        {
            var response = await _sessions[step.Initiator - 1].ExecuteAsync(Lun, step.Cdb, step.DataOut, step.ExpectedLength, TaskAttribute.Simple, cancellationToken);
            return DiffOutcome.FromTarget(response);
        }
        catch (Exception e) when (e is IscsiConnectionLostException or IscsiTimeoutException or IscsiRejectException or IscsiProtocolException or IscsiTaskAbortedException)
        {
            return DiffOutcome.FromException(e);
        }
    }

    /// <summary>
    /// The model configuration for this node's LUN 0. The LUN's identity strings are configuration, not behaviour, so
    /// they are read over iSCSI once (VPD 80h serial; VPD 83h T10 vendor-specific part and NAA) instead of borrowing the
    /// implementation's derivation. Everything else (layout, other designators, pages) is still compared.
    /// </summary>
    public async Task<LunConfig> ProbeModelConfigAsync(CancellationToken cancellationToken)
    {
        var identity = await LunIdentity.ProbeAsync(_sessions[0], Lun, cancellationToken);
        var serialText = identity.Serial ?? "CTLHA0000";
        var deviceId = identity.DeviceId;
        var naa = identity.Naa;
        return new LunConfig(BlockCount: BlockCount, BlockSize: BlockSize, LunId: (ulong)Lun, SerialNumber: serialText, DeviceId: deviceId ?? serialText)
        {
            Naa = naa,
            TargetName = TargetName,
            // A standalone node (no --ha-id): one port, relative port 1, always primary, no interlink.
            Ports = [new ModelPort(1, 1)],
            Node1View = new LunHaView(1, HaRole.Primary, false, LinkState.Offline, HaMode.Unavailable),
        };
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var session in _sessions)
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await session.LogoutAsync(cts.Token);
            }
            catch (Exception e) when (e is IscsiConnectionLostException or IscsiTimeoutException or OperationCanceledException or IscsiProtocolException)
            {
                // The node may have dropped the session; disposing still closes the socket.
            }

            await session.DisposeAsync();
        }

        if (_node is not null)
        {
            await _node.DisposeAsync();
        }
    }
}

/// <summary>Runs a step sequence on a real target and on the model, in order, stopping at the first disagreement.</summary>
public static class DiffRunner
{
    /// <summary>Timeout for one whole sequence (node start, login, every step, stop).</summary>
    public static TimeSpan SequenceTimeout { get; } = TimeSpan.FromSeconds(120);

    public static async Task<DiffRun> RunAsync(DiffTarget target, LogicalUnitModel model, IReadOnlyList<DiffStep> steps, CancellationToken cancellationToken)
    {
        var lines = new List<DiffTraceLine>();
        foreach (var step in steps)
        {
            if (DiffExclusions.SkipReason(step, model) is { } skipped)
            {
                lines.Add(new DiffTraceLine(step with { Label = $"{step.Label} [skipped: {skipped}]" }, DiffOutcome.Skipped, DiffOutcome.Skipped, null));
                continue;
            }

            var nexus = target.Initiators[step.Initiator - 1].ToNexus();
            var expected = DiffOutcome.FromModel(model.Execute(nexus, step.Cdb, step.DataOut, (uint)step.ExpectedLength));
            var got = await target.ExecuteAsync(step, cancellationToken);
            var difference = DiffOutcome.CompareWithExclusions(step, got, expected);
            lines.Add(new DiffTraceLine(step, got, expected, difference));
            if (difference is not null)
            {
                break;
            }
        }

        return new DiffRun(lines);
    }

    /// <summary>A fresh node and model, the sequence on both, then a clean stop (unexpected node errors fail it).</summary>
    public static async Task<DiffRun> RunFreshAsync(IReadOnlyList<DiffStep> steps, ulong blockCount = DiffGen.BlockCount)
    {
        using var cts = new CancellationTokenSource(SequenceTimeout);
        await using var target = await DiffTarget.StartAsync(blockCount, DiffInitiator.Default, cts.Token);
        var model = new LogicalUnitModel(await target.ProbeModelConfigAsync(cts.Token));
        return await RunAsync(target, model, steps, cts.Token);
    }
}

using System.Buffers.Binary;
using CtlHa.Spec;

namespace CtlHa.Model;

/// <summary>
/// The reference model of one logical unit of a CtlHa pair, as initiators see it through either node.
/// Pure and deterministic: no I/O, no clock, no tasks, no randomness. Commands run one at a time, each
/// atomically (the model has no task set; ordering is the caller's).
/// </summary>
/// <remarks>
/// <para>Shared state (CtlHa syncs it across the interlink): blocks, persistent reservations, the SCSI-2
/// reservation, mode pages. Per node: the <see cref="LunHaView"/>. Per I_T nexus (a nexus belongs to one
/// node): pending unit attentions.</para>
/// <para>Order of checks for a command (ctl-ha.md §5.2, CTL <c>ctl_scsiio_precheck</c> and
/// <c>ctl_scsiio_lun_check</c>): unsupported opcode / service action (05/20/00, 05/24/00) → CDB usage mask
/// (05/24/00 + field pointer) → pending UA (unless INQUIRY, REPORT LUNS, REQUEST SENSE) → ALUA gates of the
/// receiving node → write protection (07/27/01, 07/27/02) → SCSI-2 reservation → persistent reservation →
/// execution.</para>
/// </remarks>
public sealed partial class LogicalUnitModel
{
    private readonly LunConfig _config;
    private ulong _blockCount;
    private Dictionary<ulong, byte[]> _blocks;
    private Dictionary<Nexus, UaCode> _unitAttentions;
    private Dictionary<ModePageId, byte[]> _modePages;
    private List<Registration> _registrations;
    private uint _prGeneration;
    private PrReservation? _prReservation;
    private Nexus? _scsi2Holder;
    private LunHaView _view1;
    private LunHaView _view2;

    public LogicalUnitModel(LunConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.BlockSize == 0 || config.BlockCount == 0)
        {
            throw new ArgumentException("A LUN needs a non-zero block size and block count.", nameof(config));
        }

        _config = config;
        _blockCount = config.BlockCount;
        _blocks = [];
        _unitAttentions = [];
        _modePages = ModePages.All.ToDictionary(id => id, id => ModePages.Default(id, config));
        _registrations = [];
        _view1 = Checked(config.Node1View, 1);
        _view2 = Checked(config.Node2View, 2);
    }

    private LogicalUnitModel(LogicalUnitModel other)
    {
        _config = other._config;
        _blockCount = other._blockCount;
        // Block arrays and page arrays are never mutated in place (always replaced), so sharing them is safe.
        _blocks = new Dictionary<ulong, byte[]>(other._blocks);
        _unitAttentions = new Dictionary<Nexus, UaCode>(other._unitAttentions);
        _modePages = new Dictionary<ModePageId, byte[]>(other._modePages);
        _registrations = [.. other._registrations];
        _prGeneration = other._prGeneration;
        _prReservation = other._prReservation;
        _scsi2Holder = other._scsi2Holder;
        _view1 = other._view1;
        _view2 = other._view2;
    }

    public LunConfig Config => _config;

    /// <summary>Current capacity in logical blocks.</summary>
    public ulong BlockCount => _blockCount;

    /// <summary>A deep copy: executing commands on it does not change this model.</summary>
    public LogicalUnitModel Clone() => new(this);

    /// <summary>
    /// The pure form of <see cref="Execute"/> for FsCheck <c>Machine&lt;Actual, Model&gt;</c> (whose <c>Run</c> must
    /// not mutate): returns the model after the command, and the answer; this model is left unchanged.
    /// </summary>
    public (LogicalUnitModel Next, ModelResult Result) Step(Nexus nexus, ReadOnlySpan<byte> cdb, ReadOnlySpan<byte> dataOut = default, uint expectedLength = uint.MaxValue)
    {
        var next = Clone();
        var result = next.Execute(nexus, cdb, dataOut, expectedLength);
        return (next, result);
    }

    /// <summary>A one-line summary of the state, for FsCheck counterexample traces.</summary>
    public override string ToString()
    {
        var regs = string.Join(",", _registrations.Select(r => $"{r.Nexus.Initiator}:{r.Key:X}"));
        var res = _prReservation is { } r ? $"{r.Type}@{r.Holder?.Initiator ?? "all"}" : "none";
        var uas = string.Join(",", _unitAttentions.Where(kv => kv.Value != UaCode.None).Select(kv => $"{kv.Key.Initiator}:{kv.Value}"));
        return $"mapped={_blocks.Count} gen={_prGeneration} regs=[{regs}] pr={res} scsi2={_scsi2Holder?.Initiator ?? "none"} ua=[{uas}] "
            + $"n1={_view1.LocalRole}/{_view1.Link} n2={_view2.LocalRole}/{_view2.Link}";
    }

    /// <summary>The HA view a node currently has of this LUN.</summary>
    public LunHaView ViewOf(int node) => node switch
    {
        1 => _view1,
        2 => _view2,
        _ => throw new ArgumentOutOfRangeException(nameof(node), node, "Nodes are 1 and 2."),
    };

    /// <summary>
    /// Executes one command received on <paramref name="nexus"/>. <paramref name="expectedLength"/> is the
    /// initiator's expected data transfer length: data-in is cut to it (the SCSI allocation length applies first).
    /// </summary>
    public ModelResult Execute(Nexus nexus, ReadOnlySpan<byte> cdb, ReadOnlySpan<byte> dataOut = default, uint expectedLength = uint.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(nexus);
        CheckNode(nexus.Node);
        var result = ExecuteCore(nexus, cdb, dataOut);
        if (result.DataIn.Length > expectedLength)
        {
            result = result with { DataIn = result.DataIn[..(int)expectedLength] };
        }

        return result;
    }

    private ModelResult ExecuteCore(Nexus nexus, ReadOnlySpan<byte> cdb, ReadOnlySpan<byte> dataOut)
    {
        // Bytes past a short CDB read as zero (iSCSI always carries at least 16 CDB bytes, RFC 7143 11.3.5).
        if (!cdb.IsEmpty && cdb.Length < 16)
        {
            var padded = new byte[16];
            cdb.CopyTo(padded);
            cdb = padded;
        }

        // (1) Unsupported opcode or service action: before the UA check, in every state (spec CommandGates remarks).
        var info = CommandTable.Lookup(cdb);
        if (info.UnsupportedSense is { } unsupported)
        {
            // CTL ctl_validate_command points an unknown service action at CDB byte 1, bit 4 (SERVICE ACTION).
            return Check(info.ServiceAction is null
                ? unsupported
                : new SenseCondition(unsupported.Key, unsupported.Asc, unsupported.Ascq, null, FieldPointer.Cdb(1, 4)));
        }

        // (2) CDB usage mask (CTL ctl_validate_command runs with the opcode check).
        var rule = CdbRules.Find(info.Opcode, info.ServiceAction);
        if (rule is not null && CdbRules.Validate(rule, cdb) is { } badField)
        {
            return Check(badField);
        }

        // (3) Pending unit attention, lowest bit first (§10), before any ALUA gate (§5.2, requirement 22).
        if (info.ReportsUnitAttention && TakeUnitAttention(nexus) is { } ua)
        {
            return Check(UaTable.Sense(ua));
        }

        // (4) ALUA gates of the receiving node (§5.2).
        var view = ViewOf(nexus.Node);
        var verdict = CommandGates.Evaluate(view, info);
        if (verdict.Action == GateAction.Reject)
        {
            return Check(verdict.Sense!.Value);
        }

        // In proxy mode a forwarded command is executed by the primary, with the primary's view (§6.2).
        var executingView = verdict.Action == GateAction.ForwardToPrimary && view.Mode == HaMode.Proxy
            ? ViewOf(view.PeerNodeId)
            : view;

        rule ??= new CdbRule(cdb.Length, null, ReservationAccess.None, false, Modeled: false);

        // (5) Write protection (CTL ctl_scsiio_lun_check, commands with CTL_LUN_PAT_WRITE).
        if (rule.WritesMedium)
        {
            if (_config.ReadOnly)
            {
                return Check(Senses.HardwareWriteProtected);
            }

            if (SoftwareWriteProtect)
            {
                return Check(Senses.SoftwareWriteProtected);
            }
        }

        // (6) Reservations.
        if (ReservationConflict(nexus, rule.Access))
        {
            return new ModelResult(ScsiStatus.ReservationConflict, [], []);
        }

        if (!rule.Modeled)
        {
            return ModelResult.Unmodeled;
        }

        return Dispatch(nexus, info, cdb, dataOut, view, executingView);
    }

    private ModelResult Dispatch(Nexus nexus, CommandInfo info, ReadOnlySpan<byte> cdb, ReadOnlySpan<byte> dataOut, LunHaView receivingView, LunHaView executingView)
    {
        switch (info.Opcode)
        {
            case 0x00:
                return ModelResult.Good();
            case 0x03:
                return RequestSense(nexus, cdb, receivingView);
            case 0x08 or 0x28 or 0xA8 or 0x88:
                return Read(cdb);
            case 0x0A or 0x2A or 0xAA or 0x8A or 0x2E or 0xAE or 0x8E:
                return Write(cdb, dataOut);
            case 0x8B:
                return OrWrite(cdb, dataOut);
            case 0x2F or 0xAF or 0x8F:
                return Verify(cdb, dataOut);
            case 0x34 or 0x90:
                return PreFetch(cdb);
            case 0x35 or 0x91:
                return SynchronizeCache(cdb);
            case 0x41 or 0x93:
                return WriteSame(cdb, dataOut);
            case 0x42:
                return Unmap(cdb, dataOut);
            case 0x89:
                return CompareAndWrite(cdb, dataOut);
            case 0x12:
                return Inquiry(nexus, cdb, executingView);
            case 0x15 or 0x55:
                return ModeSelect(nexus, cdb, dataOut);
            case 0x1A or 0x5A:
                return ModeSense(cdb);
            case 0x16 or 0x56:
                return Scsi2Reserve(nexus);
            case 0x17 or 0x57:
                return Scsi2Release(nexus);
            case 0x25:
                return ReadCapacity10();
            case 0x5E:
                return PersistentReserveIn(info.ServiceAction!.Value, cdb);
            case 0x5F:
                return PersistentReserveOut(nexus, info.ServiceAction!.Value, cdb, dataOut);
            case 0x9E when info.ServiceAction == 0x10:
                return ReadCapacity16(cdb);
            case 0x9E when info.ServiceAction == 0x12:
                return GetLbaStatus(cdb);
            case 0xA0:
                return ReportLuns(nexus, cdb);
            case 0xA3 when info.ServiceAction == 0x0A:
                return ReportTargetPortGroups(cdb, executingView);
            default:
                return ModelResult.Unmodeled;
        }
    }

    // ---- HA inputs and task management -------------------------------------------------------------

    /// <summary>
    /// A node's view of the LUN changes. A change of its role or of its knowledge that the peer is primary sets
    /// 2A/06 ASYMMETRIC ACCESS STATE CHANGED for that node's I_T nexuses (ctl-ha.md §5.1, §7.1, requirements 16, 38, 42).
    /// </summary>
    public void SetHaView(int node, LunHaView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        var old = ViewOf(node);
        view = Checked(view, node);
        if (node == 1)
        {
            _view1 = view;
        }
        else
        {
            _view2 = view;
        }

        if (old.LocalRole != view.LocalRole || old.PeerPrimary != view.PeerPrimary)
        {
            EstablishForAll(UaCode.AsymmetricAccessStateChanged, except: null, node: node);
        }
    }

    /// <summary>
    /// LOGICAL UNIT RESET received on <paramref name="from"/> (SAM-5 7.8, ctl-ha.md §8.6): clears the SCSI-2
    /// reservation and sets 29/00 for every I_T nexus on both nodes, the requester included (CTL
    /// <c>ctl_do_lun_reset</c> calls <c>ctl_est_ua_all(lun, -1, …)</c>). Persistent reservations survive.
    /// </summary>
    public void LunReset(Nexus from) => Reset(from, UaCode.LunReset);

    /// <summary>TARGET RESET received on <paramref name="from"/> (§8.6): a LUN reset with 29/03 instead of 29/00.</summary>
    public void TargetReset(Nexus from) => Reset(from, UaCode.TargetReset);

    /// <summary>BUS RESET (CTL's TARGET/BUS RESET TMF pair, §8.6): a LUN reset with 29/02.</summary>
    public void BusReset(Nexus from) => Reset(from, UaCode.BusReset);

    private void Reset(Nexus from, UaCode code)
    {
        ArgumentNullException.ThrowIfNull(from);
        _scsi2Holder = null;
        EstablishForAll(code, except: null, node: null);
    }

    /// <summary>I_T nexus loss or I_T NEXUS RESET (SAM-5 6.3.4, §8.6): releases its SCSI-2 reservation, UA 29/07 for it.</summary>
    public void NexusLoss(Nexus nexus)
    {
        ArgumentNullException.ThrowIfNull(nexus);
        if (_scsi2Holder == nexus)
        {
            _scsi2Holder = null;
        }

        Establish(nexus, UaCode.ItNexusLoss);
    }

    /// <summary>The capacity changes (LUN resize): blocks beyond it are dropped, 2A/09 for every I_T nexus.</summary>
    public void SetCapacity(ulong blockCount)
    {
        if (blockCount == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(blockCount), "A LUN has at least one block.");
        }

        _blockCount = blockCount;
        foreach (var lba in _blocks.Keys.Where(l => l >= blockCount).ToList())
        {
            _blocks.Remove(lba);
        }

        EstablishForAll(UaCode.CapacityDataChanged, except: null, node: null);
    }

    /// <summary>The LUN inventory of the target changed: 3F/0E REPORTED LUNS DATA HAS CHANGED for every I_T nexus.</summary>
    public void ReportedLunsChanged() => EstablishForAll(UaCode.ReportedLunsDataChanged, except: null, node: null);

    // ---- Unit attentions --------------------------------------------------------------------------

    /// <summary>
    /// The UAs pending for a nexus. A nexus the model has never seen has POWER ON pending (CTL creates every
    /// initiator slot with POWERON, §10): that is how "the first command of each nexus gets 29/01" holds.
    /// </summary>
    public UaCode PendingUnitAttentions(Nexus nexus) =>
        _unitAttentions.TryGetValue(nexus, out var pending) ? pending : UaCode.PowerOn;

    private UaCode? TakeUnitAttention(Nexus nexus)
    {
        var pending = PendingUnitAttentions(nexus);
        if (pending == UaCode.None)
        {
            _unitAttentions[nexus] = UaCode.None;
            return null;
        }

        var next = UaTable.Next(pending);
        _unitAttentions[nexus] = UaTable.AfterReport(pending, next);
        return next;
    }

    private void Establish(Nexus nexus, UaCode code) => _unitAttentions[nexus] = PendingUnitAttentions(nexus) | code;

    // Nexuses the model has not seen still have POWER ON pending, which clears everything when reported,
    // so only known nexuses need the new bit.
    private void EstablishForAll(UaCode code, Nexus? except, int? node)
    {
        foreach (var nexus in _unitAttentions.Keys.ToList())
        {
            if (nexus != except && (node is null || nexus.Node == node))
            {
                Establish(nexus, code);
            }
        }
    }

    // ---- Helpers -------------------------------------------------------------------------------------

    /// <summary>Control mode page D_SENSE: sense data in descriptor format (SPC-5 7.5.8).</summary>
    public bool DescriptorSense => (_modePages[ModePages.Control][2] & 0x04) != 0;

    /// <summary>Control mode page SWP: the medium is software write protected (SPC-5 7.5.8).</summary>
    public bool SoftwareWriteProtect => (_modePages[ModePages.Control][4] & 0x08) != 0;

    /// <summary>Control mode page NUAR: no UA on RELEASE (SPC-5 7.5.8).</summary>
    private bool NoUaOnRelease => (_modePages[ModePages.Control][3] & 0x08) != 0;

    private ModelResult Check(SenseCondition c) =>
        new(ScsiStatus.CheckCondition, SenseBuilder.Build(c, DescriptorSense), []);

    private static ModelResult DataIn(byte[] data, long allocationLength) =>
        ModelResult.Good(data.Length > allocationLength ? data[..(int)allocationLength] : data);

    private static LunHaView Checked(LunHaView view, int node)
    {
        if (view.NodeId != node)
        {
            throw new ArgumentException($"The view of node {node} has NodeId {view.NodeId}.", nameof(view));
        }

        if (!view.IsConsistent)
        {
            throw new ArgumentException($"Inconsistent HA view {view}.", nameof(view));
        }

        return view;
    }

    private static void CheckNode(int node)
    {
        if (node is not (1 or 2))
        {
            throw new ArgumentOutOfRangeException(nameof(node), node, "Nodes are 1 and 2.");
        }
    }

    private static ulong Be(ReadOnlySpan<byte> cdb, int offset, int length)
    {
        ulong v = 0;
        for (var i = 0; i < length; i++)
        {
            v = (v << 8) | (offset + i < cdb.Length ? cdb[offset + i] : (byte)0);
        }

        return v;
    }

    private static void WriteBe16(byte[] b, int offset, int value) => BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(offset), (ushort)value);

    private static void WriteBe32(byte[] b, int offset, ulong value) => BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(offset), (uint)value);

    private static void WriteBe64(byte[] b, int offset, ulong value) => BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(offset), value);
}

using System.Security.Cryptography;
using System.Text;
using CtlHa.Core;
using CtlHa.Scsi.Backends;
using CtlHa.Scsi.Commands;
using CtlHa.Scsi.Ordering;

namespace CtlHa.Scsi;

/// <summary>
/// A direct-access logical unit (SBC-4): backend, geometry, identity, mode pages, unit attentions per I_T nexus and the
/// OOA queue. Reservations/ and Copy/ extend it through the partial hooks below.
/// </summary>
public sealed partial class LogicalUnit
{
    private readonly Lock _uaLock = new();
    private UnitAttention[] _ua = [];

    public LogicalUnit(int lunId, IBlockBackend backend, LogicalUnitOptions options)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(options);
        if (options.BlockSize is not (512 or 4096))
        {
            throw new ArgumentException("BlockSize must be 512 or 4096.", nameof(options));
        }
        if (lunId is < 0 or > 0x3FFF)
        {
            throw new ArgumentOutOfRangeException(nameof(lunId));
        }
        int physical = options.PhysicalBlockSize ?? options.BlockSize;
        if (physical < options.BlockSize || physical % options.BlockSize != 0 || !int.IsPow2(physical / options.BlockSize)
            || physical / options.BlockSize > 1 << 15)
        {
            throw new ArgumentException(
                $"PhysicalBlockSize {physical} must be the block size ({options.BlockSize}) times a power of two up to 2^15.", nameof(options));
        }
        LunId = lunId;
        Backend = backend;
        PhysicalBlockExponent = (byte)int.Log2(physical / options.BlockSize);
        Options = options;
        BlockSize = options.BlockSize;
        BlockSizeShift = options.BlockSize == 512 ? 9 : 12;
        _blockCount = backend.SizeBytes / options.BlockSize;
        if (_blockCount <= 0)
        {
            throw new ArgumentException("Backend is smaller than one block.", nameof(backend));
        }
        Serial = options.Serial ?? $"CTLHA{lunId:D4}";
        DeviceId = options.DeviceId ?? GenerateNaa(Serial);
        Mode = new ModePages(BlockSize, BlockCount, options.Rpm, options.WriteCache, options.UnrestrictedReordering);
        Ooa = new OoaQueue(this);
        AttachReservations();
        AttachCopy();
    }

    /// <summary>Reservations/ sets <see cref="Reservations"/> (and any per-LU state it keeps) here.</summary>
    partial void AttachReservations();

    /// <summary>Copy/ creates its per-LU state here.</summary>
    partial void AttachCopy();

    public int LunId { get; }

    public IBlockBackend Backend { get; }

    public LogicalUnitOptions Options { get; }

    public int BlockSize { get; }

    internal int BlockSizeShift { get; }

    /// <summary>LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT (READ CAPACITY(16) byte 13), from the options.</summary>
    public byte PhysicalBlockExponent { get; }

    private long _blockCount;

    /// <summary>Number of logical blocks (RETURNED LOGICAL BLOCK ADDRESS + 1); changes on <see cref="ResizeAsync"/>.</summary>
    public long BlockCount => Volatile.Read(ref _blockCount);

    public string Serial { get; }

    /// <summary>The LU designator bytes (NAA or EUI-64) reported in VPD 83h.</summary>
    public byte[] DeviceId { get; }

    public bool ReadOnly => Options.ReadOnly;

    public ModePages Mode { get; }

    /// <summary>Reservation checks before each command; null = no reservation support plugged in.</summary>
    public IReservationChecker? Reservations { get; set; }

    internal OoaQueue Ooa { get; }

    /// <summary>Set when the LU is added to an engine.</summary>
    public ScsiEngine? Engine { get; internal set; }

    /// <summary>Commands currently in this LU's OOA queue.</summary>
    public int ActiveCommandCount => Ooa.Count;

    // ---- unit attentions ------------------------------------------------------------------------------------

    /// <summary>Sets a unit attention for one I_T nexus.</summary>
    public void EstablishUnitAttention(ITNexus nexus, UnitAttention ua)
    {
        int slot = RequireEngine().SlotOf(nexus);
        lock (_uaLock)
        {
            Grow(slot);
            _ua[slot] |= ua;
        }
    }

    /// <summary>Sets a unit attention for every I_T nexus the engine has seen except <paramref name="except"/>.</summary>
    public void EstablishUnitAttentionForAll(UnitAttention ua, ITNexus? except = null)
    {
        var engine = RequireEngine();
        int skip = except is null ? -1 : engine.SlotOf(except);
        int slots = engine.SlotCount;
        lock (_uaLock)
        {
            Grow(slots - 1);
            for (int i = 0; i < slots; i++)
            {
                if (i != skip)
                {
                    _ua[i] |= ua;
                }
            }
        }
    }

    /// <summary>
    /// The sense a reported UA carries: ASC/ASCQ of the bit, plus for 38/07 the INFORMATION field (SBC-4 §4.7.3.6.3:
    /// the offset of the threshold descriptor in the Logical Block Provisioning mode page).
    /// </summary>
    internal Sense UnitAttentionSense(UnitAttention ua)
    {
        var (asc, ascq) = UnitAttentionCodes.Codes(ua);
        var sense = new Sense(SenseKey.UnitAttention, asc, ascq);
        return ua == UnitAttention.ThinProvisioningThreshold ? sense.WithInformation(ThresholdInformation) : sense;
    }

    /// <summary>Clears pending unit attentions for a nexus.</summary>
    public void ClearUnitAttention(ITNexus nexus, UnitAttention ua)
    {
        int slot = RequireEngine().SlotOf(nexus);
        lock (_uaLock)
        {
            Grow(slot);
            _ua[slot] &= ~ua;
        }
    }

    /// <summary>Pending unit attentions of a nexus (a nexus never seen has POWER ON pending).</summary>
    public UnitAttention PendingUnitAttentions(ITNexus nexus)
    {
        int slot = RequireEngine().SlotOf(nexus);
        lock (_uaLock)
        {
            return slot < _ua.Length ? _ua[slot] : UnitAttention.PowerOn;
        }
    }

    /// <summary>
    /// Takes the UA to report for a slot (lowest bit first) and clears what reporting it clears (ctl-ha.md §10).
    /// Returns None when nothing is pending.
    /// </summary>
    internal UnitAttention TakeUnitAttention(int slot)
    {
        lock (_uaLock)
        {
            Grow(slot);
            var pending = _ua[slot];
            if (pending == UnitAttention.None)
            {
                return UnitAttention.None;
            }
            var lowest = (UnitAttention)(1u << System.Numerics.BitOperations.TrailingZeroCount((uint)pending));
            _ua[slot] = (lowest & UnitAttentionCodes.ClearsAll) != 0 ? UnitAttention.None : pending & ~lowest;
            return lowest;
        }
    }

    internal void ClearUnitAttentionSlot(int slot, UnitAttention ua)
    {
        lock (_uaLock)
        {
            Grow(slot);
            _ua[slot] &= ~ua;
        }
    }

    internal void SetUnitAttentionSlot(int slot, UnitAttention ua)
    {
        lock (_uaLock)
        {
            Grow(slot);
            _ua[slot] |= ua;
        }
    }

    private void Grow(int slot)
    {
        if (slot < _ua.Length)
        {
            return;
        }
        int old = _ua.Length;
        Array.Resize(ref _ua, Math.Max(slot + 1, Math.Max(8, old * 2)));
        // A nexus this LU has not seen yet starts with POWER ON (CTL creates UA arrays with every slot at POWERON).
        _ua.AsSpan(old).Fill(UnitAttention.PowerOn);
    }

    // ---- tasks ----------------------------------------------------------------------------------------------

    /// <summary>
    /// Aborts every task of this LU whose nexus matches (PREEMPT AND ABORT, task management). Tasks of nexuses other
    /// than <paramref name="requester"/> report TASK ABORTED when the control page TAS bit is set.
    /// </summary>
    public int AbortTasks(Func<ITNexus, bool> which, ITNexus? requester) => AbortTasks(which, requester, tag: null);

    internal int AbortTasks(Func<ITNexus, bool> which, ITNexus? requester, uint? tag)
    {
        bool tas = Mode.TaskAbortedStatus;
        int n = 0;
        foreach (var ctx in Ooa.Find(c => which(c.Nexus) && (tag is null || c.Task.Tag == tag)))
        {
            bool report = tas && requester is not null && ctx.Nexus.Id != requester.Id;
            if (Ooa.Abort(ctx, report))
            {
                n++;
            }
        }
        return n;
    }

    internal List<CommandContext> FindTasks(Func<CommandContext, bool> predicate) => Ooa.Find(predicate);

    private ScsiEngine RequireEngine() =>
        Engine ?? throw new InvalidOperationException($"LUN {LunId} is not attached to an engine.");

    /// <summary>
    /// NAA 3 (locally assigned, SPC-5 §7.7.6.6.2) from the serial: deterministic, so both HA nodes agree when the
    /// serial is the same.
    /// </summary>
    private static byte[] GenerateNaa(string serial)
    {
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(serial));
        byte[] id = hash.AsSpan(0, 8).ToArray();
        id[0] = (byte)(0x30 | (id[0] & 0x0F));
        return id;
    }

    public override string ToString() => $"LUN {LunId} ({BlockCount} x {BlockSize})";
}

public sealed partial class LogicalUnit
{
    /// <summary>Raised after MODE SELECT changed a current page (the HA layer mirrors it: MODE_SYNC).</summary>
    public event Action<LogicalUnit>? ModePagesChanged;

    internal void OnModePagesChanged()
    {
        if (HasEnabledThreshold())
        {
            Engine?.EnsureProvisioningMonitor();
        }
        ModePagesChanged?.Invoke(this);
    }
}

using System.Buffers.Binary;
using CtlHa.Scsi.Backends;

namespace CtlHa.Scsi;

// Thin-provisioning thresholds (SBC-4 §4.7.3.6, §6.5.8; 38/07 THIN PROVISIONING SOFT THRESHOLD REACHED), as CTL's
// ctl_thresh_thread: a periodic check compares each enabled threshold descriptor of the Logical Block Provisioning mode
// page with the LU's usage.
public sealed partial class LogicalUnit
{
    /// <summary>
    /// THRESHOLD EXPONENT (VPD B2h byte 4): a threshold count is in units of 2^11 blocks, CTL's CTL_LBP_EXPONENT.
    /// </summary>
    public const int ThresholdExponent = 11;

    private long _thresholdInformation;
    private readonly Lock _thresholdLock = new();
    private bool _thresholdReached;

    /// <summary>
    /// INFORMATION of the pending 38/07: the byte offset of the threshold descriptor that was crossed in the Logical
    /// Block Provisioning mode page (as CTL). Set before the UA; the HA layer sets it from a peer's UnitAttention message.
    /// </summary>
    public ulong ThresholdInformation
    {
        get => (ulong)Interlocked.Read(ref _thresholdInformation);
        set => Interlocked.Exchange(ref _thresholdInformation, (long)value);
    }

    /// <summary>
    /// Whether this node checks the thresholds of this LU now (null = always). The HA layer lets only the LU's primary
    /// check, which then ships the 38/07 to the peer: the UA is raised once for the pair, not once per node.
    /// </summary>
    public Func<bool>? ProvisioningMonitorGate { get; set; }

    /// <summary>
    /// Raised when a periodic check sets 38/07 (<c>set</c> true, once per crossing) or finds the usage back on the safe
    /// side of every enabled threshold and clears the pending 38/07 (<c>set</c> false); with the INFORMATION value.
    /// </summary>
    public event Action<LogicalUnit, ulong, bool>? ProvisioningThresholdChanged;

    /// <summary>Mapped (allocated) and available logical blocks: the LBA resources of the threshold descriptors.</summary>
    public async ValueTask<(long Used, long Available)> GetProvisioningUsageAsync(CancellationToken cancellationToken)
    {
        long blocks = BlockCount;
        long mapped = 0;
        foreach (var extent in await Backend.GetAllocationAsync(0, blocks * BlockSize, cancellationToken).ConfigureAwait(false))
        {
            if (extent.Mapped)
            {
                mapped += extent.Length;
            }
        }
        long used = Math.Min(blocks, (mapped + BlockSize - 1) / BlockSize);
        // A sparse file has no pool of its own: every unmapped LBA of the LU can still be mapped.
        return (used, blocks - used);
    }

    /// <summary>True when a descriptor of the LBP page is enabled (the engine's timer runs only then).</summary>
    internal bool HasEnabledThreshold()
    {
        if (Mode.Find(0x1C, 0x02) is not { } page)
        {
            return false;
        }
        byte[] image = new byte[page.Length];
        Mode.CopyImage(page, 0, image);
        for (int off = 16; off + 8 <= image.Length; off += 8)
        {
            if ((image[off] & 0x80) != 0)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// One check (ctl_thresh_thread): with LBPERE set in the Read-Write Error Recovery page, the first enabled descriptor
    /// whose resource crossed its threshold (ARMING INCREASING 001b: usage ≥ count·2^exp; otherwise decreasing: ≤) sets
    /// 38/07 for every I_T nexus — SITUA is not looked at, as CTL: the check runs on a timer, not on a command's nexus —
    /// once per crossing; when no enabled descriptor is crossed any more the pending 38/07 is cleared and re-armed.
    /// </summary>
    internal async ValueTask CheckProvisioningThresholdsAsync(CancellationToken cancellationToken)
    {
        if (!Backend.IsThin || ProvisioningMonitorGate is { } gate && !gate())
        {
            return;
        }
        byte[]? image = null;
        if (Mode.LogicalBlockProvisioningErrorReporting && Mode.Find(0x1C, 0x02) is { } page)
        {
            image = new byte[page.Length];
            Mode.CopyImage(page, 0, image);
        }
        ulong? crossed = null;
        if (image is not null)
        {
            (long Used, long Available)? usage = null;
            for (int off = 16; off + 8 <= image.Length; off += 8)
            {
                byte flags = image[off];
                if ((flags & 0x80) == 0 || image[off + 1] is not (0x01 or 0x02))
                {
                    continue;
                }
                try
                {
                    usage ??= await GetProvisioningUsageAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (BackendDetachedException)
                {
                    return; // the store is closed here (not primary): nothing to measure
                }
                long value = image[off + 1] == 0x01 ? usage.Value.Available : usage.Value.Used;
                long threshold = (long)BinaryPrimitives.ReadUInt32BigEndian(image.AsSpan(off + 4)) << ThresholdExponent;
                bool hit = (flags & 0x07) == 0x01 ? value >= threshold : value <= threshold;
                if (hit)
                {
                    crossed = (ulong)off;
                    break;
                }
            }
        }
        bool changed;
        ulong info;
        lock (_thresholdLock)
        {
            changed = crossed.HasValue != _thresholdReached;
            _thresholdReached = crossed.HasValue;
            info = crossed ?? ThresholdInformation;
            if (changed && crossed.HasValue)
            {
                ThresholdInformation = info;
            }
        }
        if (!changed)
        {
            return;
        }
        if (crossed.HasValue)
        {
            EstablishUnitAttentionForAll(UnitAttention.ThinProvisioningThreshold);
        }
        else
        {
            ClearUnitAttentionForAll(UnitAttention.ThinProvisioningThreshold);
        }
        ProvisioningThresholdChanged?.Invoke(this, info, crossed.HasValue);
    }

    /// <summary>Clears a unit attention for every I_T nexus (a threshold no longer crossed; a peer's clear).</summary>
    public void ClearUnitAttentionForAll(UnitAttention ua)
    {
        lock (_uaLock)
        {
            for (int i = 0; i < _ua.Length; i++)
            {
                _ua[i] &= ~ua;
            }
        }
    }
}

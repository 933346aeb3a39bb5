using CtlHa.Spec;

namespace CtlHa.Model;

/// <summary>
/// An I_T nexus as the model sees it (SAM-5 4.7): the initiator port (iSCSI name + ISID) and the target
/// port it reached (relative target port identifier), which belongs to exactly one node.
/// </summary>
/// <remarks>Record equality is nexus identity: UAs, registrations and SCSI-2 reservations are keyed by it.</remarks>
public sealed record Nexus(string Initiator, ulong Isid, int Node, ushort RelativePortId)
{
    /// <summary>iSCSI initiator port name "name,i,0x&lt;ISID&gt;" (RFC 7143 / SPC-5 7.6.4.6 TransportID format 01b).</summary>
    public string InitiatorPortName => $"{Initiator},i,0x{Isid:x12}";

    public override string ToString() => $"{Initiator}/{Isid:x12}@n{Node}p{RelativePortId}";
}

/// <summary>SAM-5 5.3 status codes the model returns.</summary>
public static class ScsiStatus
{
    public const byte Good = 0x00;
    public const byte CheckCondition = 0x02;
    public const byte ConditionMet = 0x04;
    public const byte Busy = 0x08;
    public const byte ReservationConflict = 0x18;
}

/// <summary>
/// What a correct target returns for one command: status, sense (fixed or descriptor format, empty when none)
/// and data-in (already cut to the CDB allocation length and to the initiator's expected length).
/// </summary>
/// <param name="Modeled">
/// False when the command passed every gate the model knows (UA, ALUA, reservations) but its execution is
/// outside the model (e.g. EXTENDED COPY, LOG SENSE): status/sense/data are then meaningless, and callers
/// comparing with a real target should skip the comparison. State is unchanged in that case.
/// </param>
public sealed record ModelResult(byte Status, byte[] Sense, byte[] DataIn, bool Modeled = true)
{
    /// <summary>
    /// For a successful PREEMPT AND ABORT: the I_T nexuses whose tasks the target must abort (SPC-5 5.14.12.3;
    /// CtlHa does this where CTL does not, ctl-ha.md §12.2 item 5). Empty otherwise.
    /// </summary>
    public IReadOnlyList<Nexus> AbortedNexuses { get; init; } = [];

    public static ModelResult Good(byte[]? dataIn = null) => new(ScsiStatus.Good, [], dataIn ?? []);

    public static ModelResult Unmodeled { get; } = new(ScsiStatus.Good, [], [], Modeled: false);

    /// <summary>
    /// Byte-for-byte equality of status, sense and data-in (record equality compares the arrays by reference).
    /// With <paramref name="senseDecoded"/>, sense is compared decoded (format, key, ASC/ASCQ, INFORMATION,
    /// field pointer), which ignores descriptor order and padding.
    /// </summary>
    public bool SameAs(ModelResult other, bool senseDecoded = false)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (Status != other.Status || !DataIn.AsSpan().SequenceEqual(other.DataIn))
        {
            return false;
        }

        return senseDecoded ? Equals(DecodedSense, other.DecodedSense) : Sense.AsSpan().SequenceEqual(other.Sense);
    }

    /// <summary>The decoded sense (key/ASC/ASCQ/INFORMATION/SKS), or null when there is none.</summary>
    public SenseInfo? DecodedSense => Sense.Length == 0 ? null : SenseInfo.Decode(Sense);

    public override string ToString()
    {
        if (!Modeled)
        {
            return "unmodeled";
        }

        var text = Status switch
        {
            ScsiStatus.Good => "GOOD",
            ScsiStatus.CheckCondition => "CHECK CONDITION",
            ScsiStatus.ConditionMet => "CONDITION MET",
            ScsiStatus.Busy => "BUSY",
            ScsiStatus.ReservationConflict => "RESERVATION CONFLICT",
            _ => $"status {Status:X2}h",
        };
        if (DecodedSense is { } s)
        {
            text += $" {s}";
        }

        return DataIn.Length > 0 ? $"{text} +{DataIn.Length}B" : text;
    }
}

/// <summary>One target port of the pair (a CTL port): which node owns it and its relative target port identifier.</summary>
public sealed record ModelPort(int Node, ushort RelativePortId);

/// <summary>
/// The fixed configuration of the logical unit (the <c>--lun</c> options and ctld LUN options of CTL).
/// </summary>
/// <param name="BlockCount">Number of logical blocks (READ CAPACITY returns BlockCount - 1).</param>
/// <param name="BlockSize">Logical block length in bytes.</param>
/// <param name="LunId">LUN number reported by REPORT LUNS.</param>
/// <param name="SerialNumber">VPD 0x80 PRODUCT SERIAL NUMBER.</param>
/// <param name="DeviceId">Vendor-specific part of the T10 vendor ID designator in VPD 0x83.</param>
/// <param name="ReadOnly">A read-only LUN: writes fail with 07/27/01 (CTL <c>readonly</c> option).</param>
public sealed record LunConfig(
    ulong BlockCount = 2048,
    uint BlockSize = 512,
    ulong LunId = 0,
    string SerialNumber = "CTLHA0000",
    string DeviceId = "CTLHA0000",
    bool ReadOnly = false)
{
    /// <summary>RTPG extended header IMPLICIT TRANSITION TIME in seconds (spec AluaTable.ImplicitTransitionTimeSeconds; 0 = none).</summary>
    public byte ImplicitTransitionTimeSeconds { get; init; }

    /// <summary>READ CAPACITY(16) LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT; 0 (physical = logical) unless configured.</summary>
    public byte PhysicalBlockExponent { get; init; }

    /// <summary>INQUIRY T10 VENDOR IDENTIFICATION (8 ASCII bytes, space padded).</summary>
    public string Vendor { get; init; } = "CTLHA";

    /// <summary>INQUIRY PRODUCT IDENTIFICATION (16 ASCII bytes).</summary>
    public string Product { get; init; } = "CTLHA DISK";

    /// <summary>INQUIRY PRODUCT REVISION LEVEL (4 ASCII bytes).</summary>
    public string Revision { get; init; } = "0001";

    /// <summary>Optional NAA IEEE Registered designator (VPD 0x83 type 3h), e.g. 0x6xxxxxxxxxxxxxxx.</summary>
    public ulong? Naa { get; init; }

    /// <summary>iSCSI target name (VPD 0x83 SCSI name string, association = target device), if any.</summary>
    public string? TargetName { get; init; }

    /// <summary>CTL option <c>writecache=off</c>: caching page WCE default 0.</summary>
    public bool WriteCacheOff { get; init; }

    /// <summary>CTL option <c>readcache=off</c>: caching page RCD default 1.</summary>
    public bool ReadCacheOff { get; init; }

    /// <summary>
    /// VPD pages INQUIRY page 00h lists, in order (CTL's set for a thin disk by default). The model builds 00h,
    /// 80h and 83h; any other listed page is answered as <see cref="ModelResult.Unmodeled"/>; unlisted pages are 05/24/00.
    /// </summary>
    public IReadOnlyList<byte> VpdPages { get; init; } = [0x00, 0x80, 0x83, 0x86, 0x87, 0x88, 0x8F, 0xB0, 0xB1, 0xB2];

    /// <summary>The pair's target ports that map the LUN. Default: node 1 has port 1, node 2 has port 2.</summary>
    public IReadOnlyList<ModelPort> Ports { get; init; } = [new ModelPort(1, 1), new ModelPort(2, 2)];

    /// <summary>Initial HA view of node 1 (default: primary, link up, proxy mode).</summary>
    public LunHaView Node1View { get; init; } = new(1, HaRole.Primary, false, LinkState.Online, HaMode.Proxy);

    /// <summary>Initial HA view of node 2 (default: secondary with a primary peer, link up, proxy mode).</summary>
    public LunHaView Node2View { get; init; } = new(2, HaRole.Secondary, true, LinkState.Online, HaMode.Proxy);
}

using CtlHa.Scsi.Alua;

namespace CtlHa.Scsi;

/// <summary>
/// CTL's <c>serseq</c> LUN option (ctl-ha.md §11.3): off = adjacent I/Os run in parallel; Read = a READ adjacent
/// to an older READ waits until that READ's media read is done; On = additionally adjacency counts as overlap
/// for READ/WRITE extent checks.
/// </summary>
public enum SerSeqMode
{
    Off,
    Read,
    On,
}

/// <summary>Per-LU configuration.</summary>
public sealed record LogicalUnitOptions
{
    /// <summary>Logical block size: 512 or 4096.</summary>
    public int BlockSize { get; init; } = 512;

    /// <summary>
    /// Physical block size in bytes (READ CAPACITY(16) LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT): null = the logical
    /// block size (exponent 0, what tgt and LIO's fileio report); 4096 with 512-byte blocks = a "512e" disk (exponent 3).
    /// A hint for write alignment only: UNMAP granularity is VPD B0h's, and data of any alignment is exact either way.
    /// </summary>
    public int? PhysicalBlockSize { get; init; }

    /// <summary>Unit serial number (VPD 80h); defaults to "CTLHA" + the LUN id.</summary>
    public string? Serial { get; init; }

    /// <summary>
    /// LU designator for VPD 83h: an NAA designator (8 or 16 bytes, first nibble 2, 3, 5 or 6) or an EUI-64 (8, 12 or
    /// 16 bytes, otherwise). Null: a deterministic locally assigned NAA (type 3) derived from the serial.
    /// </summary>
    public byte[]? DeviceId { get; init; }

    public bool ReadOnly { get; init; }

    /// <summary>CTL defaults to Read for file backends.</summary>
    public SerSeqMode SerSeq { get; init; } = SerSeqMode.Read;

    public string VendorId { get; init; } = "CTLHA";

    public string ProductId { get; init; } = "CTLHA DISK";

    public string Revision { get; init; } = "0001";

    /// <summary>MEDIUM ROTATION RATE (VPD B1h, Rigid Disk page): 1 = non-rotating medium.</summary>
    public ushort Rpm { get; init; } = 1;

    /// <summary>Initial caching page WCE (CTL option writecache).</summary>
    public bool WriteCache { get; init; } = true;

    /// <summary>Control page QUEUE ALGORITHM MODIFIER = 1 (CTL option reordering=unrestricted).</summary>
    public bool UnrestrictedReordering { get; init; }
}

/// <summary>Engine-wide configuration.</summary>
public sealed record ScsiEngineOptions
{
    /// <summary>
    /// MAXIMUM TRANSFER LENGTH in bytes (VPD B0h reports it in blocks). Data moves in <see cref="IoChunkBytes"/> pieces,
    /// so the limit costs no memory; 256 MiB = 65536 blocks of 4 KiB, because libiscsi WriteSame16.Unmap writes 65536
    /// blocks with one WRITE(16) whenever MAXIMUM WRITE SAME LENGTH allows it, without looking at this limit.
    /// </summary>
    public int MaxTransferBytes { get; init; } = 256 * 1024 * 1024;

    /// <summary>Backend I/O chunk: longer READ/WRITE commands are moved in pieces of this size.</summary>
    public int IoChunkBytes { get; init; } = 1024 * 1024;

    /// <summary>MAXIMUM COMPARE AND WRITE LENGTH in blocks (VPD B0h byte 5).</summary>
    public byte MaxCompareAndWriteBlocks { get; init; } = 255;

    /// <summary>
    /// MAXIMUM UNMAP LBA COUNT (VPD B0h). FFFFFFFFh = no limit, as CTL's default; libiscsi rejects explicit limits
    /// above 1M blocks as insane.
    /// </summary>
    public uint MaxUnmapBlocks { get; init; } = uint.MaxValue;

    /// <summary>MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT (VPD B0h).</summary>
    public uint MaxUnmapDescriptors { get; init; } = 128;

    /// <summary>MAXIMUM WRITE SAME LENGTH in blocks (VPD B0h).</summary>
    public ulong MaxWriteSameBlocks { get; init; } = 0x40_0000;

    /// <summary>
    /// Period of the thin-provisioning threshold check (CTL: 10 s). The timer starts once a threshold descriptor is
    /// enabled and stops when the engine is disposed.
    /// </summary>
    public TimeSpan ProvisioningCheckInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>ALUA hook; null = <see cref="SingleGroupAluaProvider"/>.</summary>
    public IAluaProvider? Alua { get; init; }
}

using System.Buffers.Binary;

namespace CtlHa.Scsi;

/// <summary>One mode page's four images (SPC-5 §6.14 PC field) with its header bytes included.</summary>
public sealed class ModePage
{
    internal ModePage(byte code, byte subpage, byte[] defaults, byte[] changeable, bool selectable)
    {
        Code = code;
        Subpage = subpage;
        Default = defaults;
        Changeable = changeable;
        Selectable = selectable;
        Current = (byte[])defaults.Clone();
        Saved = (byte[])defaults.Clone();
    }

    public byte Code { get; }

    public byte Subpage { get; }

    /// <summary>SPF: sub_page format (4-byte page header).</summary>
    public bool SubpageFormat => Subpage != 0;

    public int HeaderLength => SubpageFormat ? 4 : 2;

    public int Length => Default.Length;

    /// <summary>Has a MODE SELECT handler (CTL: Format Device and Rigid Disk have none).</summary>
    public bool Selectable { get; }

    internal byte[] Current { get; }

    internal byte[] Default { get; }

    internal byte[] Changeable { get; }

    internal byte[] Saved { get; }
}

/// <summary>
/// The mode pages of a direct-access LU exactly as CTL defines them (ctl-ha.md §13.1): defaults and changeable masks.
/// Current values are shared by all I_T nexuses. Byte reads of the current images are lock-free (single bytes).
/// </summary>
public sealed class ModePages
{
    // Page codes, SPC-5 / SBC-4.
    public const byte ReadWriteErrorRecovery = 0x01;
    public const byte FormatDevice = 0x03;
    public const byte RigidDisk = 0x04;
    public const byte VerifyErrorRecovery = 0x07;
    public const byte Caching = 0x08;
    public const byte Control = 0x0A;
    public const byte InformationalExceptions = 0x1C;

    private const int SectorsPerTrack = 256; // CTL_DEFAULT_SECTORS_PER_TRACK
    private const int Heads = 128;           // CTL_DEFAULT_HEADS

    private readonly List<ModePage> _pages = [];
    private readonly ModePage _control;
    private readonly ModePage _caching;
    private readonly ModePage _rigid;
    private readonly ModePage _readWriteErrorRecovery;

    internal Lock SyncRoot { get; } = new();

    public ModePages(int blockSize, long blockCount, ushort rpm, bool writeCache, bool unrestrictedReordering)
    {
        // 01h Read-Write Error Recovery (SBC-4 §6.5.10): AWRE|ARRE, LBPERE. Changeable: PER, LBPERE.
        _readWriteErrorRecovery = Add(0x01, 0, [0x01, 0x0A, 0xC0, 0, 0, 0, 0, 0x80, 0, 0, 0, 0],
                     [0x01, 0x0A, 0x04, 0, 0, 0, 0, 0x80, 0, 0, 0, 0], true);

        // 03h Format Device (SBC-2): sectors/track @10, bytes/sector @12, flags @20 (HSEC 0x40). Not changeable.
        byte[] format = new byte[24];
        format[0] = 0x03;
        format[1] = 0x16;
        BinaryPrimitives.WriteUInt16BigEndian(format.AsSpan(10), SectorsPerTrack);
        BinaryPrimitives.WriteUInt16BigEndian(format.AsSpan(12), (ushort)blockSize);
        format[20] = 0x40;
        Add(0x03, 0, format, Mask(format, 2), false);

        // 04h Rigid Disk Geometry (SBC-2): cylinders @2 (3 bytes), heads @5, rotation rate @20. Not changeable.
        byte[] rigid = new byte[24];
        rigid[0] = 0x04;
        rigid[1] = 0x16;
        long cylinders = Math.Min(blockCount / (SectorsPerTrack * Heads), 0xFFFFFF);
        rigid[2] = (byte)(cylinders >> 16);
        rigid[3] = (byte)(cylinders >> 8);
        rigid[4] = (byte)cylinders;
        rigid[5] = Heads;
        BinaryPrimitives.WriteUInt16BigEndian(rigid.AsSpan(20), rpm);
        _rigid = Add(0x04, 0, rigid, Mask(rigid, 2), false);

        // 07h Verify Error Recovery (SBC-4 §6.5.13). Changeable: PER.
        Add(0x07, 0, [0x07, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                     [0x07, 0x0A, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0], true);

        // 08h Caching (SBC-4 §6.5.5): byte 2 DISC 0x10 | WCE 0x04 (| RCD 0x01); prefetch limits 0xFFFF. Changeable: WCE, RCD.
        _caching = Add(0x08, 0,
            [0x08, 0x12, (byte)(0x10 | (writeCache ? 0x04 : 0)), 0, 0xFF, 0xFF, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0],
            [0x08, 0x12, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], true);

        // 0Ah Control (SPC-5 §7.5.8): byte 2 D_SENSE 0x04; byte 3 QAM (high nibble), NUAR 0x08; byte 4 SWP 0x08;
        // byte 5 TAS 0x40 (default set).
        _control = Add(0x0A, 0,
            [0x0A, 0x0A, 0, (byte)(unrestrictedReordering ? 0x10 : 0x00), 0, 0x40, 0, 0, 0, 0, 0, 0],
            [0x0A, 0x0A, 0x04, 0xF8, 0x08, 0, 0, 0, 0, 0, 0, 0], true);

        // 0Ah/01h Control Extension (SPC-5 §7.5.9): byte 6 MAXIMUM SENSE DATA LENGTH changeable.
        byte[] controlExt = new byte[32];
        controlExt[0] = 0x4A;
        controlExt[1] = 0x01;
        controlExt[3] = 0x1C;
        byte[] controlExtMask = Mask(controlExt, 4);
        controlExtMask[6] = 0xFF;
        Add(0x0A, 0x01, controlExt, controlExtMask, true);

        // 1Ch Informational Exceptions Control (SPC-5 §7.5.12): EWASC; report count 1.
        // Changeable: EWASC|DEXCPT|TEST|LOGERR, MRIE, INTERVAL TIMER, REPORT COUNT.
        Add(0x1C, 0, [0x1C, 0x0A, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                     [0x1C, 0x0A, 0x1D, 0x0F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], true);

        // 1Ch/02h Logical Block Provisioning (SBC-4 §6.5.8): byte 4 SITUA; four threshold descriptors (8 bytes
        // from byte 16: flags ENABLED 0x80 | TYPE 0x38 | ARMING 0x07, resource, reserved, THRESHOLD COUNT in units of
        // 2^LogicalUnit.ThresholdExponent blocks). Unlike CTL (options only), MODE SELECT may enable/disable, arm and set
        // the count of the two LBA resource descriptors (available 01h, used 02h); the pool ones (F1h/F2h) stay fixed.
        byte[] lbp = new byte[48];
        lbp[0] = 0x5C;
        lbp[1] = 0x02;
        lbp[3] = 0x2C;
        lbp[4] = 0x01;
        lbp[16 + 1] = 0x01; // available LBA resource
        lbp[24 + 1] = 0x02; // used LBA resource
        lbp[32 + 1] = 0xF1; // pool available (vendor specific)
        lbp[40 + 1] = 0xF2; // pool used (vendor specific)
        byte[] lbpMask = Mask(lbp, 4);
        lbpMask[4] = 0x01;
        foreach (int d in new[] { 16, 24 })
        {
            lbpMask[d] = 0x87;
            lbpMask.AsSpan(d + 4, 4).Fill(0xFF);
        }
        Add(0x1C, 0x02, lbp, lbpMask, true);
    }

    /// <summary>After an online resize: the Rigid Disk page's cylinder count follows the capacity (all images).</summary>
    internal void SetCapacity(long blockCount)
    {
        long cylinders = Math.Min(blockCount / (SectorsPerTrack * Heads), 0xFFFFFF);
        lock (SyncRoot)
        {
            foreach (byte[] image in new[] { _rigid.Current, _rigid.Default, _rigid.Saved })
            {
                image[2] = (byte)(cylinders >> 16);
                image[3] = (byte)(cylinders >> 8);
                image[4] = (byte)cylinders;
            }
        }
    }

    /// <summary>The pages in MODE SENSE order (page code, then subpage).</summary>
    public IReadOnlyList<ModePage> Pages => _pages;

    public bool DescriptorSense => (Volatile.Read(ref _control.Current[2]) & 0x04) != 0;

    /// <summary>QUEUE ALGORITHM MODIFIER: 0 restricted, 1 unrestricted reordering.</summary>
    public int QueueAlgorithmModifier => Volatile.Read(ref _control.Current[3]) >> 4;

    public bool SoftwareWriteProtect => (Volatile.Read(ref _control.Current[4]) & 0x08) != 0;

    /// <summary>TAS: aborted tasks of other nexuses get TASK ABORTED status.</summary>
    public bool TaskAbortedStatus => (Volatile.Read(ref _control.Current[5]) & 0x40) != 0;

    /// <summary>LBPERE (Read-Write Error Recovery byte 7 bit 7): threshold UAs are reported (CTL checks it too).</summary>
    public bool LogicalBlockProvisioningErrorReporting => (Volatile.Read(ref _readWriteErrorRecovery.Current[7]) & 0x80) != 0;

    public bool WriteCacheEnabled => (Volatile.Read(ref _caching.Current[2]) & 0x04) != 0;

    public ModePage? Find(byte code, byte subpage)
    {
        foreach (var p in _pages)
        {
            if (p.Code == code && p.Subpage == subpage)
            {
                return p;
            }
        }
        return null;
    }

    /// <summary>Copies one image (PC: 0 current, 1 changeable, 2 default, 3 saved) into <paramref name="dest"/>.</summary>
    internal void CopyImage(ModePage page, int pageControl, Span<byte> dest)
    {
        lock (SyncRoot)
        {
            byte[] image = pageControl switch
            {
                0 => page.Current,
                1 => page.Changeable,
                2 => page.Default,
                _ => page.Saved,
            };
            image.CopyTo(dest);
        }
    }

    private ModePage Add(byte code, byte subpage, byte[] defaults, byte[] changeable, bool selectable)
    {
        var page = new ModePage(code, subpage, defaults, changeable, selectable);
        _pages.Add(page);
        return page;
    }

    /// <summary>A changeable mask with only the page header filled in (nothing changeable).</summary>
    private static byte[] Mask(byte[] page, int headerLength)
    {
        byte[] mask = new byte[page.Length];
        page.AsSpan(0, headerLength).CopyTo(mask);
        return mask;
    }
}

using System.Buffers.Binary;

namespace CtlHa.Model;

/// <summary>A mode page identity: page code (6 bits) and subpage code (0 for page_0 format).</summary>
public readonly record struct ModePageId(byte Page, byte Subpage)
{
    public bool IsSubpageFormat => Subpage != 0;

    /// <summary>Page header length: 2 for page_0 format, 4 for sub_page format (SPC-5 7.5.7).</summary>
    public int HeaderLength => IsSubpageFormat ? 4 : 2;

    public override string ToString() => IsSubpageFormat ? $"{Page:X2}h/{Subpage:X2}h" : $"{Page:X2}h";
}

/// <summary>
/// The direct-access mode pages of CTL (ctl-ha.md §13.1) with their default values and changeable masks
/// (PC = 01b image: a 1 bit may be changed by MODE SELECT). Every page is stored with its header, as MODE SENSE
/// returns it; the PS bit is never set (no page is saveable: SP is accepted but saved pages never change, §13.2).
/// </summary>
public static class ModePages
{
    public static readonly ModePageId ReadWriteErrorRecovery = new(0x01, 0);
    public static readonly ModePageId FormatDevice = new(0x03, 0);
    public static readonly ModePageId RigidDisk = new(0x04, 0);
    public static readonly ModePageId VerifyErrorRecovery = new(0x07, 0);
    public static readonly ModePageId Caching = new(0x08, 0);
    public static readonly ModePageId Control = new(0x0A, 0);
    public static readonly ModePageId ControlExtension = new(0x0A, 0x01);
    public static readonly ModePageId InformationalExceptions = new(0x1C, 0);
    public static readonly ModePageId LogicalBlockProvisioning = new(0x1C, 0x02);

    /// <summary>All pages in MODE SENSE order (page code, then subpage).</summary>
    public static IReadOnlyList<ModePageId> All { get; } =
    [
        ReadWriteErrorRecovery, FormatDevice, RigidDisk, VerifyErrorRecovery, Caching, Control,
        ControlExtension, InformationalExceptions, LogicalBlockProvisioning,
    ];

    /// <summary>Pages without a MODE SELECT handler in CTL: any MODE SELECT of them is 05/26/00 at the page start.</summary>
    public static bool IsSelectable(ModePageId id) => id != FormatDevice && id != RigidDisk;

    // Sectors per track and heads CTL reports (CTL_DEFAULT_SECTORS_PER_TRACK, CTL_DEFAULT_HEADS).
    private const int SectorsPerTrack = 256;
    private const int Heads = 128;

    /// <summary>The default (and saved) image of a page for this LUN.</summary>
    public static byte[] Default(ModePageId id, LunConfig config)
    {
        var p = Empty(id);
        if (id == ReadWriteErrorRecovery)
        {
            p[2] = 0xC0; // AWRE | ARRE
            p[7] = 0x80; // LBPERE
        }
        else if (id == FormatDevice)
        {
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), SectorsPerTrack);
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(12), (ushort)Math.Min(config.BlockSize, 0xFFFFu));
            p[20] = 0x40; // HSEC
        }
        else if (id == RigidDisk)
        {
            var cylinders = Math.Min(config.BlockCount / (SectorsPerTrack * Heads), 0xFFFFFFUL);
            p[2] = (byte)(cylinders >> 16);
            p[3] = (byte)(cylinders >> 8);
            p[4] = (byte)cylinders;
            p[5] = Heads;
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(20), 1); // MEDIUM ROTATION RATE 1 = non-rotating
        }
        else if (id == Caching)
        {
            p[2] = 0x10; // DISC
            if (!config.WriteCacheOff)
            {
                p[2] |= 0x04; // WCE
            }

            if (config.ReadCacheOff)
            {
                p[2] |= 0x01; // RCD
            }

            p[4] = 0xFF; // DISABLE PRE-FETCH TRANSFER LENGTH
            p[5] = 0xFF;
            p[8] = 0xFF; // MAXIMUM PRE-FETCH
            p[9] = 0xFF;
            p[10] = 0xFF; // MAXIMUM PRE-FETCH CEILING
            p[11] = 0xFF;
        }
        else if (id == Control)
        {
            p[3] = 0x00; // QUEUE ALGORITHM MODIFIER 0 = restricted reordering
            p[5] = 0x40; // TAS
        }
        else if (id == InformationalExceptions)
        {
            p[2] = 0x10; // EWASC
            BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(8), 1); // REPORT COUNT
        }
        else if (id == LogicalBlockProvisioning)
        {
            p[4] = 0x01; // SITUA
            // Threshold descriptors (resources 01h, 02h, F1h, F2h), none enabled.
            byte[] resources = [0x01, 0x02, 0xF1, 0xF2];
            for (var i = 0; i < resources.Length; i++)
            {
                p[16 + (8 * i) + 1] = resources[i];
            }
        }

        return p;
    }

    /// <summary>The changeable-values mask of a page (MODE SENSE PC = 01b), including the page header as MODE SENSE shows it.</summary>
    public static byte[] Changeable(ModePageId id)
    {
        var p = Empty(id);
        if (id == ReadWriteErrorRecovery)
        {
            p[2] = 0x04; // PER
            p[7] = 0x80; // LBPERE
        }
        else if (id == VerifyErrorRecovery)
        {
            p[2] = 0x04; // PER
        }
        else if (id == Caching)
        {
            p[2] = 0x05; // WCE | RCD
        }
        else if (id == Control)
        {
            p[2] = 0x04; // D_SENSE
            p[3] = 0xF8; // QUEUE ALGORITHM MODIFIER | NUAR
            p[4] = 0x08; // SWP
        }
        else if (id == ControlExtension)
        {
            p[6] = 0xFF; // MAXIMUM SENSE DATA LENGTH
        }
        else if (id == InformationalExceptions)
        {
            p[2] = 0x1D; // EWASC | DEXCPT | TEST | LOGERR
            p[3] = 0x0F; // MRIE
            p.AsSpan(4, 8).Fill(0xFF); // INTERVAL TIMER, REPORT COUNT
        }
        else if (id == LogicalBlockProvisioning)
        {
            p[4] = 0x01; // SITUA
            // The LBA resource descriptors (available 01h at 16, used 02h at 24): ENABLED | ARMING, THRESHOLD COUNT.
            // The pool ones (F1h/F2h) stay fixed. (CTL takes thresholds from LUN options only.)
            foreach (var d in new[] { 16, 24 })
            {
                p[d] = 0x87;
                p.AsSpan(d + 4, 4).Fill(0xFF);
            }
        }

        return p;
    }

    /// <summary>Total page length including the header (SPC-5 7.5.7; SBC-4 6.5).</summary>
    public static int Length(ModePageId id)
    {
        if (id == ReadWriteErrorRecovery || id == VerifyErrorRecovery || id == Control || id == InformationalExceptions)
        {
            return 12;
        }

        if (id == Caching)
        {
            return 20;
        }

        if (id == FormatDevice || id == RigidDisk)
        {
            return 24;
        }

        if (id == ControlExtension)
        {
            return 32;
        }

        if (id == LogicalBlockProvisioning)
        {
            return 48;
        }

        throw new ArgumentOutOfRangeException(nameof(id), id, "Not a page of this device.");
    }

    public static bool Exists(ModePageId id) => All.Contains(id);

    // Page with its header: page_0 format [0] PAGE CODE [1] PAGE LENGTH; sub_page format [0] SPF|PAGE CODE
    // [1] SUBPAGE CODE [2..3] PAGE LENGTH.
    private static byte[] Empty(ModePageId id)
    {
        var len = Length(id);
        var p = new byte[len];
        if (id.IsSubpageFormat)
        {
            p[0] = (byte)(0x40 | id.Page);
            p[1] = id.Subpage;
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)(len - 4));
        }
        else
        {
            p[0] = id.Page;
            p[1] = (byte)(len - 2);
        }

        return p;
    }
}

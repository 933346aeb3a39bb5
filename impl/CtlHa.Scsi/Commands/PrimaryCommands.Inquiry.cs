using System.Buffers.Binary;
using System.Text;
using CtlHa.Core;

namespace CtlHa.Scsi.Commands;

internal static partial class PrimaryCommands
{
    private static readonly byte[] SupportedVpdPages = [0x00, 0x80, 0x83, 0x86, 0x88, 0x8F, 0xB0, 0xB1, 0xB2];

    // Designator header byte 0 (PROTOCOL IDENTIFIER << 4 | CODE SET) and byte 1 (PIV | ASSOCIATION | TYPE), SPC-5 §7.7.6.1.
    private const byte ProtocolIscsi = 0x5;
    private const byte CodeSetBinary = 0x1;
    private const byte CodeSetAscii = 0x2;
    private const byte CodeSetUtf8 = 0x3;

    /// <summary>
    /// INQUIRY, SPC-5 §6.7: EVPD (byte 1 bit 0), PAGE CODE @2, ALLOCATION LENGTH @3. PAGE CODE without EVPD is invalid.
    /// </summary>
    private static ValueTask<ScsiOutcome> InquiryAsync(CommandContext ctx)
    {
        var cdb = ctx.Cdb;
        bool evpd = (cdb[1] & 0x01) != 0;
        byte page = cdb[2];
        uint allocationLength = Cdb.U16(cdb, 3);
        if (!evpd)
        {
            if (page != 0)
            {
                return ValueTask.FromResult(ctx.IllegalField(2));
            }
            bool connected = ctx.Engine.Alua.IsConnected(ctx.LogicalUnit);
            return ctx.SendDataInAsync(StandardInquiry(ctx.LogicalUnit.Options, connected ? (byte)0x00 : (byte)0x20), allocationLength);
        }
        byte[]? data = page switch
        {
            0x00 => VpdSupportedPages(),
            0x80 => VpdSerial(ctx.LogicalUnit),
            0x83 => VpdDeviceIdentification(ctx),
            0x86 => VpdExtendedInquiry(),
            0x88 => VpdScsiPorts(ctx),
            0x8F => Copy.CopyResultsData.ThirdPartyCopyVpdPage(0x00), // EXTENDED COPY support (Copy/)
            0xB0 => VpdBlockLimits(ctx),
            0xB1 => VpdBlockDeviceCharacteristics(ctx.LogicalUnit),
            0xB2 => VpdLogicalBlockProvisioning(ctx.LogicalUnit),
            _ => null,
        };
        if (data is null)
        {
            return ValueTask.FromResult(ctx.IllegalField(2));
        }
        return ctx.SendDataInAsync(data, allocationLength);
    }

    /// <summary>
    /// Standard INQUIRY data (SPC-5 §6.7.2, 96 bytes): byte 0 PQ|PDT, 2 VERSION, 3 HISUP|format 2,
    /// 5 TPGS=01b|3PC, 6 MULTIP, 7 CMDQUE, vendor @8, product @16, revision @32, version descriptors @58.
    /// VERSION is 06h (SPC-4), not SPC-5's 07h: libiscsi 1.19 (Inquiry.Standard) accepts only 04h-06h and the
    /// command set we implement is SPC-4's plus a few SPC-5 additions; the version descriptors still name SPC-5.
    /// </summary>
    internal static byte[] StandardInquiry(LogicalUnitOptions? options, byte peripheral)
    {
        byte[] d = new byte[96];
        d[0] = peripheral;
        d[2] = 0x06;
        d[3] = 0x12;
        d[4] = (byte)(d.Length - 5);
        d[5] = 0x10 | 0x08;
        d[6] = 0x10;
        d[7] = 0x02;
        Ascii(d.AsSpan(8, 8), options?.VendorId ?? "CTLHA");
        Ascii(d.AsSpan(16, 16), options?.ProductId ?? "CTLHA DISK");
        Ascii(d.AsSpan(32, 4), options?.Revision ?? "0001");
        // Version descriptors (SPC-5 table 33), as the model (CTL's order for an iSCSI port): SAM-6, SPC-5, iSCSI,
        // SBC-4; then SPC-4 and SBC-3 (04C0h), which libiscsi 1.19 needs to see SBC-3 support (Inquiry.BlockLimits).
        ushort[] versions = [0x00C0, 0x05C0, 0x0960, 0x0600, 0x0460, 0x04C0];
        for (int i = 0; i < versions.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(58 + 2 * i), versions[i]);
        }
        return d;
    }

    private static void Ascii(Span<byte> dest, string value)
    {
        dest.Fill((byte)' ');
        int n = Math.Min(value.Length, dest.Length);
        Encoding.ASCII.GetBytes(value.AsSpan(0, n), dest);
    }

    private static byte[] VpdSupportedPages()
    {
        byte[] d = new byte[4 + SupportedVpdPages.Length];
        d[3] = (byte)SupportedVpdPages.Length;
        SupportedVpdPages.CopyTo(d, 4);
        return d;
    }

    /// <summary>VPD 80h Unit Serial Number, SPC-5 §7.7.18.</summary>
    private static byte[] VpdSerial(LogicalUnit lun)
    {
        byte[] serial = Encoding.ASCII.GetBytes(lun.Serial);
        byte[] d = new byte[4 + serial.Length];
        d[1] = 0x80;
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(2), (ushort)serial.Length);
        serial.CopyTo(d, 4);
        return d;
    }

    /// <summary>
    /// VPD 83h Device Identification, SPC-5 §7.7.6, in CTL's order (ctl-ha.md §5.5): LU designators (NAA or EUI-64,
    /// T10 vendor ID), relative target port (type 4h), target port group (type 5h), target device SCSI name (type 8h).
    /// </summary>
    private static byte[] VpdDeviceIdentification(CommandContext ctx)
    {
        var lun = ctx.LogicalUnit;
        var nexus = ctx.Nexus;
        var list = new List<byte[]>();
        byte[] id = lun.DeviceId;
        bool naa = (id[0] >> 4) is 2 or 3 or 5 or 6;
        list.Add(Designator(CodeSetBinary, 0x00, naa ? (byte)0x3 : (byte)0x2, id, protocol: 0));
        // T10 vendor ID (type 1): 8-byte vendor then the serial.
        byte[] t10 = new byte[8 + lun.Serial.Length];
        Ascii(t10.AsSpan(0, 8), lun.Options.VendorId);
        Encoding.ASCII.GetBytes(lun.Serial, t10.AsSpan(8));
        list.Add(Designator(CodeSetAscii, 0x00, 0x1, t10, protocol: 0));
        byte[] port = new byte[4];
        BinaryPrimitives.WriteUInt16BigEndian(port.AsSpan(2), nexus.RelativeTargetPortId);
        list.Add(Designator(CodeSetBinary, 0x10, 0x4, port, ProtocolIscsi, piv: true));
        byte[] group = new byte[4];
        BinaryPrimitives.WriteUInt16BigEndian(group.AsSpan(2), ctx.Engine.Alua.GetTargetPortGroupId(lun, nexus));
        list.Add(Designator(CodeSetBinary, 0x10, 0x5, group, ProtocolIscsi, piv: true));
        list.Add(Designator(CodeSetUtf8, 0x20, 0x8, ScsiName(nexus.TargetName), ProtocolIscsi, piv: true));
        return VpdPage(0x83, list);
    }

    /// <summary>A SCSI name string designator value: UTF-8, NUL-terminated, padded to a multiple of 4 (SPC-5 §7.7.6.11).</summary>
    private static byte[] ScsiName(string name)
    {
        int n = Encoding.UTF8.GetByteCount(name);
        byte[] d = new byte[(n + 4) & ~3];
        Encoding.UTF8.GetBytes(name, d);
        return d;
    }

    private static byte[] Designator(byte codeSet, byte association, byte type, byte[] value, byte protocol, bool piv = false)
    {
        byte[] d = new byte[4 + value.Length];
        d[0] = (byte)(protocol << 4 | codeSet);
        d[1] = (byte)((piv ? 0x80 : 0) | association | type);
        d[3] = (byte)value.Length;
        value.CopyTo(d, 4);
        return d;
    }

    private static byte[] VpdPage(byte page, List<byte[]> parts)
    {
        int length = 0;
        foreach (var p in parts)
        {
            length += p.Length;
        }
        byte[] d = new byte[4 + length];
        d[1] = page;
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(2), (ushort)length);
        int off = 4;
        foreach (var p in parts)
        {
            p.CopyTo(d, off);
            off += p.Length;
        }
        return d;
    }

    /// <summary>VPD 86h Extended INQUIRY Data, SPC-5 §7.7.7: HEADSUP|ORDSUP|SIMPSUP, V_SUP, LUICLR, max sense length.</summary>
    private static byte[] VpdExtendedInquiry()
    {
        byte[] d = new byte[64];
        d[1] = 0x86;
        d[3] = 0x3C;
        d[5] = 0x04 | 0x02 | 0x01;
        d[6] = 0x01;
        d[7] = 0x01;
        d[13] = 252;
        return d;
    }

    /// <summary>
    /// VPD 88h SCSI Ports, SPC-5 §7.7.19: per target port, RELATIVE PORT IDENTIFIER @2 and a target port descriptor
    /// (SCSI name "TargetName,t,0x&lt;port&gt;").
    /// </summary>
    private static byte[] VpdScsiPorts(CommandContext ctx)
    {
        var ports = new SortedSet<ushort>();
        foreach (var g in ctx.Engine.Alua.GetTargetPortGroups(ctx.LogicalUnit, ctx.Nexus))
        {
            foreach (ushort p in g.RelativeTargetPortIds)
            {
                ports.Add(p);
            }
        }
        var list = new List<byte[]>();
        foreach (ushort p in ports)
        {
            byte[] name = Designator(CodeSetUtf8, 0x10, 0x8, ScsiName($"{ctx.Nexus.TargetName},t,0x{p:x4}"), ProtocolIscsi, piv: true);
            byte[] entry = new byte[12 + name.Length];
            BinaryPrimitives.WriteUInt16BigEndian(entry.AsSpan(2), p);
            BinaryPrimitives.WriteUInt16BigEndian(entry.AsSpan(10), (ushort)name.Length);
            name.CopyTo(entry, 12);
            list.Add(entry);
        }
        return VpdPage(0x88, list);
    }

    /// <summary>
    /// VPD B0h Block Limits, SBC-4 §6.6.4: WSNZ @4, MAXIMUM COMPARE AND WRITE LENGTH @5, MAXIMUM TRANSFER LENGTH @8,
    /// OPTIMAL TRANSFER LENGTH @12, MAXIMUM PREFETCH LENGTH @16, MAXIMUM UNMAP LBA COUNT @20, MAXIMUM UNMAP BLOCK
    /// DESCRIPTOR COUNT @24, OPTIMAL UNMAP GRANULARITY @28, UGAVALID @32, MAXIMUM WRITE SAME LENGTH @36.
    /// </summary>
    private static byte[] VpdBlockLimits(CommandContext ctx)
    {
        var o = ctx.Engine.Options;
        int bs = ctx.LogicalUnit.BlockSize;
        byte[] d = new byte[64];
        d[1] = 0xB0;
        d[3] = 0x3C;
        d[4] = 0x00; // WSNZ=0: WRITE SAME with 0 blocks writes to the last LBA
        d[5] = o.MaxCompareAndWriteBlocks;
        uint maxTransfer = (uint)(o.MaxTransferBytes / bs);
        BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(8), maxTransfer);
        BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(12), (uint)Math.Min(o.IoChunkBytes / bs, maxTransfer));
        BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(16), maxTransfer);
        if (ctx.LogicalUnit.Backend.IsThin)
        {
            // libiscsi Inquiry.BlockLimits: either FFFFFFFFh (no limit) or at most 1M blocks.
            BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(20), o.MaxUnmapBlocks);
            BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(24), o.MaxUnmapDescriptors);
            // Holes are punched in whole pages: a 4 KiB granularity keeps unmapped ranges visibly deallocated.
            BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(28), (uint)Math.Max(1, 4096 / bs));
            BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(32), 0x8000_0000);
        }
        BinaryPrimitives.WriteUInt64BigEndian(d.AsSpan(36), o.MaxWriteSameBlocks);
        return d;
    }

    /// <summary>VPD B1h Block Device Characteristics, SBC-4 §6.6.2: MEDIUM ROTATION RATE @4 (1 = non-rotating).</summary>
    private static byte[] VpdBlockDeviceCharacteristics(LogicalUnit lun)
    {
        byte[] d = new byte[64];
        d[1] = 0xB1;
        d[3] = 0x3C;
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(4), lun.Options.Rpm);
        return d;
    }

    /// <summary>
    /// VPD B2h Logical Block Provisioning, SBC-4 §6.6.6: byte 4 THRESHOLD EXPONENT; byte 5 LBPU 0x80 | LBPWS 0x40 | LBPWS10 0x20 | LBPRZ=001b
    /// (0x04); byte 6 PROVISIONING TYPE 010b (thin).
    /// </summary>
    private static byte[] VpdLogicalBlockProvisioning(LogicalUnit lun)
    {
        byte[] d = new byte[8];
        d[1] = 0xB2;
        d[3] = 0x04;
        if (lun.Backend.IsThin)
        {
            d[4] = LogicalUnit.ThresholdExponent; // THRESHOLD EXPONENT: units of the LBP page's threshold counts
            d[5] = 0x80 | 0x40 | 0x20 | 0x04;
            d[6] = 0x02;
        }
        return d;
    }
}

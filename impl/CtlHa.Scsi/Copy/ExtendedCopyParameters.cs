using System.Buffers.Binary;
using CtlHa.Core;

namespace CtlHa.Scsi.Copy;

/// <summary>Limits CtlHa's copy manager reports in RECEIVE COPY RESULTS / OPERATING PARAMETERS (SPC-4 §6.18.4).</summary>
public static class CopyLimits
{
    public const ushort MaxCscdDescriptors = 32;
    public const ushort MaxSegmentDescriptors = 64;
    public const uint MaxDescriptorListLength = 8192;
    /// <summary>Block→block segments count blocks in 16 bits; 65535 blocks of 512 bytes.</summary>
    public const uint MaxSegmentLength = 65535u * 512;
    public const uint MaxInlineDataLength = 0;
    public const ushort TotalConcurrentCopies = 16;
    public const byte MaxConcurrentCopies = 16;

    /// <summary>Descriptor type codes implemented: block→block segment (02h) and identification CSCD (E4h).</summary>
    public static ReadOnlySpan<byte> ImplementedDescriptorTypes => [0x02, 0xE4];
}

/// <summary>An identification descriptor CSCD (E4h): the designation descriptor that names a logical unit.</summary>
/// <param name="CodeSet">Designation descriptor byte 0 bits 3..0.</param>
/// <param name="Association">Byte 1 bits 5..4 (0 = logical unit).</param>
/// <param name="DesignatorType">Byte 1 bits 3..0 (2 = EUI-64, 3 = NAA).</param>
public sealed record CscdDescriptor(byte CodeSet, byte Association, byte DesignatorType, byte[] Designator, byte PeripheralDeviceType, uint DiskBlockLength);

/// <summary>A block device to block device segment (02h).</summary>
public sealed record SegmentDescriptor(ushort SourceIndex, ushort DestinationIndex, bool DestinationCount, ushort Blocks, ulong SourceLba, ulong DestinationLba);

/// <summary>A parsed EXTENDED COPY (LID1) parameter list.</summary>
public sealed record ExtendedCopyList(
    byte ListId,
    byte ListIdUsage,
    IReadOnlyList<CscdDescriptor> Cscds,
    IReadOnlyList<SegmentDescriptor> Segments)
{
    /// <summary>LIST ID USAGE 11b: no list identifier, nothing is held (SPC-4 §6.4.3.2 Table 108).</summary>
    public bool HoldsResults => ListIdUsage != 0b11;
}

/// <summary>
/// EXTENDED COPY (LID1) parameter list parser, SPC-4 §6.4.3.1 Table 107 (LID1 list header):
/// 0 LIST IDENTIFIER; 1 STR (5), LIST ID USAGE (4..3), PRIORITY (2..0); 2..3 CSCD DESCRIPTOR LIST LENGTH;
/// 4..7 reserved; 8..11 SEGMENT DESCRIPTOR LIST LENGTH; 12..15 INLINE DATA LENGTH; 16.. CSCD descriptors, segment
/// descriptors, inline data. Errors are ILLEGAL REQUEST sense values, in the order libiscsi and SPC-4 expect:
/// list lengths first (1A/00), then descriptor counts (26/06, 26/08), then descriptor types (26/07, 26/09).
/// </summary>
public static class ExtendedCopyParameters
{
    public const int HeaderLength = 16;
    public const int CscdLength = 32;
    public const int BlockToBlockSegmentLength = 28;

    /// <summary>CDB (SPC-4 §6.4.1, opcode 83h SA 00h): bytes 10..13 PARAMETER LIST LENGTH.</summary>
    public static uint ParameterListLength(ReadOnlySpan<byte> cdb) =>
        cdb.Length >= 14 ? BinaryPrimitives.ReadUInt32BigEndian(cdb[10..]) : 0;

    /// <summary>Largest parameter list accepted, checked before data is moved.</summary>
    public const uint MaxParameterListLength = HeaderLength + CopyLimits.MaxDescriptorListLength + 4096;

    private static Sense ParameterListLengthError => new(SenseKey.IllegalRequest, 0x1A, 0x00);

    private static Sense InvalidField(ushort byteOffset, int bit = -1) =>
        new Sense(SenseKey.IllegalRequest, 0x26, 0x00).WithSks(Sense.FieldPointer(false, byteOffset, bit));

    private static Sense Param(byte asc, byte ascq, ushort byteOffset) =>
        new Sense(SenseKey.IllegalRequest, asc, ascq).WithSks(Sense.FieldPointer(false, byteOffset));

    public static bool TryParse(ReadOnlySpan<byte> data, out ExtendedCopyList list, out Sense sense)
    {
        list = null!;
        sense = default;
        if (data.Length < HeaderLength)
        {
            sense = ParameterListLengthError;
            return false;
        }
        byte listId = data[0];
        byte usage = (byte)((data[1] >> 3) & 0x03);
        int cscdListLength = BinaryPrimitives.ReadUInt16BigEndian(data[2..]);
        uint segmentListLength = BinaryPrimitives.ReadUInt32BigEndian(data[8..]);
        uint inlineLength = BinaryPrimitives.ReadUInt32BigEndian(data[12..]);

        if ((ulong)cscdListLength + segmentListLength > CopyLimits.MaxDescriptorListLength)
        {
            sense = ParameterListLengthError;
            return false;
        }
        if (HeaderLength + (ulong)cscdListLength + segmentListLength + inlineLength > (ulong)data.Length)
        {
            sense = ParameterListLengthError;
            return false;
        }
        if (inlineLength > CopyLimits.MaxInlineDataLength)
        {
            sense = InvalidField(12);
            return false;
        }
        if (usage == 0b01)
        {
            // LIST ID USAGE 01b is reserved.
            sense = InvalidField(1, 4);
            return false;
        }
        if (usage == 0b11 && listId != 0)
        {
            sense = InvalidField(0);
            return false;
        }

        // CSCD descriptors: every type code E0h..E9h is 32 bytes; others (IPv4/IPv6 etc.) are 64.
        var cscdBytes = data.Slice(HeaderLength, cscdListLength);
        int cscdCount = 0;
        for (int off = 0; off < cscdBytes.Length; off += CscdLengthOf(cscdBytes[off]))
        {
            cscdCount++;
        }
        if (cscdCount > CopyLimits.MaxCscdDescriptors)
        {
            sense = Param(0x26, 0x06, 2); // TOO MANY TARGET DESCRIPTORS
            return false;
        }
        var segBytes = data.Slice(HeaderLength + cscdListLength, (int)segmentListLength);
        int segCount = 0;
        for (int off = 0; off < segBytes.Length;)
        {
            if (off + 4 > segBytes.Length)
            {
                sense = ParameterListLengthError;
                return false;
            }
            segCount++;
            off += 4 + BinaryPrimitives.ReadUInt16BigEndian(segBytes[(off + 2)..]);
        }
        if (segCount > CopyLimits.MaxSegmentDescriptors)
        {
            sense = Param(0x26, 0x08, 8); // TOO MANY SEGMENT DESCRIPTORS
            return false;
        }

        var cscds = new List<CscdDescriptor>(cscdCount);
        for (int off = 0; off < cscdBytes.Length;)
        {
            int len = CscdLengthOf(cscdBytes[off]);
            if (off + len > cscdBytes.Length)
            {
                sense = ParameterListLengthError;
                return false;
            }
            var d = cscdBytes.Slice(off, len);
            if (d[0] != 0xE4)
            {
                sense = Param(0x26, 0x07, (ushort)(HeaderLength + off)); // UNSUPPORTED TARGET DESCRIPTOR TYPE CODE
                return false;
            }
            // SPC-4 §6.4.5.6 Table 121: 1 LU ID TYPE (7..6, ignored since SPC-4), NUL (5, obsolete), PERIPHERAL DEVICE
            // TYPE (4..0); 2..3 RELATIVE INITIATOR PORT IDENTIFIER; 4..23 designation descriptor; 28..31 device
            // type specific parameters (block devices: 29..31 DISK BLOCK LENGTH).
            var desig = d.Slice(4, 20);
            int desigLength = Math.Min((int)desig[3], 16);
            cscds.Add(new CscdDescriptor(
                (byte)(desig[0] & 0x0F),
                (byte)((desig[1] >> 4) & 0x03),
                (byte)(desig[1] & 0x0F),
                desig.Slice(4, desigLength).ToArray(),
                (byte)(d[1] & 0x1F),
                (uint)((d[29] << 16) | (d[30] << 8) | d[31])));
            off += len;
        }

        var segments = new List<SegmentDescriptor>(segCount);
        for (int off = 0; off < segBytes.Length;)
        {
            var s = segBytes[off..];
            int len = 4 + BinaryPrimitives.ReadUInt16BigEndian(s[2..]);
            if (s[0] != 0x02)
            {
                sense = Param(0x26, 0x09, (ushort)(HeaderLength + cscdListLength + off)); // UNSUPPORTED SEGMENT DESCRIPTOR TYPE CODE
                return false;
            }
            if (len != BlockToBlockSegmentLength || off + len > segBytes.Length)
            {
                sense = InvalidField((ushort)(HeaderLength + cscdListLength + off + 2));
                return false;
            }
            // SPC-4 §6.4.6.5 Table 134: 1 DC (1), CAT (0); 4..5 SOURCE, 6..7 DESTINATION CSCD DESCRIPTOR ID;
            // 10..11 BLOCK DEVICE NUMBER OF BLOCKS; 12..19 SOURCE LBA; 20..27 DESTINATION LBA.
            segments.Add(new SegmentDescriptor(
                BinaryPrimitives.ReadUInt16BigEndian(s[4..]),
                BinaryPrimitives.ReadUInt16BigEndian(s[6..]),
                (s[1] & 0x02) != 0,
                BinaryPrimitives.ReadUInt16BigEndian(s[10..]),
                BinaryPrimitives.ReadUInt64BigEndian(s[12..]),
                BinaryPrimitives.ReadUInt64BigEndian(s[20..])));
            off += len;
        }

        list = new ExtendedCopyList(listId, usage, cscds, segments);
        return true;
    }

    private static int CscdLengthOf(byte typeCode) => typeCode is >= 0xE0 and <= 0xE9 ? CscdLength : 64;
}

using System.Buffers.Binary;

namespace CtlHa.Scsi.Commands;

/// <summary>Big-endian CDB field readers and the LBA/length layouts of SBC-4 §5 CDB formats.</summary>
internal static class Cdb
{
    public static ushort U16(ReadOnlySpan<byte> cdb, int offset) => BinaryPrimitives.ReadUInt16BigEndian(cdb[offset..]);

    public static uint U24(ReadOnlySpan<byte> cdb, int offset) => (uint)(cdb[offset] << 16 | cdb[offset + 1] << 8 | cdb[offset + 2]);

    public static uint U32(ReadOnlySpan<byte> cdb, int offset) => BinaryPrimitives.ReadUInt32BigEndian(cdb[offset..]);

    public static ulong U64(ReadOnlySpan<byte> cdb, int offset) => BinaryPrimitives.ReadUInt64BigEndian(cdb[offset..]);

    /// <summary>READ(6)/WRITE(6): 21-bit LBA in bytes 1-3, length byte 4 where 0 means 256 (SBC-4 §5.15).</summary>
    public static bool Extent6(ReadOnlySpan<byte> cdb, out ulong lba, out ulong blocks)
    {
        lba = U24(cdb, 1) & 0x1F_FFFF;
        blocks = cdb[4] == 0 ? 256UL : cdb[4];
        return true;
    }

    /// <summary>10-byte: LBA bytes 2-5, length bytes 7-8.</summary>
    public static bool Extent10(ReadOnlySpan<byte> cdb, out ulong lba, out ulong blocks)
    {
        lba = U32(cdb, 2);
        blocks = U16(cdb, 7);
        return true;
    }

    /// <summary>12-byte: LBA bytes 2-5, length bytes 6-9.</summary>
    public static bool Extent12(ReadOnlySpan<byte> cdb, out ulong lba, out ulong blocks)
    {
        lba = U32(cdb, 2);
        blocks = U32(cdb, 6);
        return true;
    }

    /// <summary>16-byte: LBA bytes 2-9, length bytes 10-13.</summary>
    public static bool Extent16(ReadOnlySpan<byte> cdb, out ulong lba, out ulong blocks)
    {
        lba = U64(cdb, 2);
        blocks = U32(cdb, 10);
        return true;
    }

    /// <summary>WRITE SAME(10): as <see cref="Extent10"/>, but 0 blocks means "to the last LBA" (WSNZ=0, SBC-4 §5.47).</summary>
    public static bool ExtentWriteSame10(ReadOnlySpan<byte> cdb, out ulong lba, out ulong blocks)
    {
        Extent10(cdb, out lba, out blocks);
        if (blocks == 0)
        {
            blocks = ulong.MaxValue - lba;
        }
        return true;
    }

    /// <summary>WRITE SAME(16): as <see cref="Extent16"/>, 0 blocks = to the last LBA.</summary>
    public static bool ExtentWriteSame16(ReadOnlySpan<byte> cdb, out ulong lba, out ulong blocks)
    {
        Extent16(cdb, out lba, out blocks);
        if (blocks == 0)
        {
            blocks = ulong.MaxValue - lba;
        }
        return true;
    }

    /// <summary>COMPARE AND WRITE: LBA bytes 2-9, NUMBER OF LOGICAL BLOCKS byte 13 (SBC-4 §5.3).</summary>
    public static bool ExtentCompareAndWrite(ReadOnlySpan<byte> cdb, out ulong lba, out ulong blocks)
    {
        lba = U64(cdb, 2);
        blocks = cdb[13];
        return true;
    }

    /// <summary>GET LBA STATUS counts as (lba, 2^32-1) for serialization (ctl-ha.md §11.2).</summary>
    public static bool ExtentGetLbaStatus(ReadOnlySpan<byte> cdb, out ulong lba, out ulong blocks)
    {
        lba = U64(cdb, 2);
        blocks = uint.MaxValue;
        return true;
    }
}

using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.Intrinsics.X86;

namespace CtlHa.Iscsi;

/// <summary>
/// CRC32C (Castagnoli, reflected polynomial 0x82F63B78) as iSCSI digests use it (RFC 7143 §13.1, RFC 3720 Appendix B.4).
/// Uses the SSE4.2 CRC32 instruction when present, a table otherwise. The digest is the final CRC, complemented,
/// sent in little-endian byte order ("the most significant byte of the digest ... first" per the RFC's bit numbering).
/// </summary>
public static class Crc32C
{
    private const uint Polynomial = 0x82F63B78;
    private static readonly uint[] Table = BuildTable();

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? (c >> 1) ^ Polynomial : c >> 1;
            }
            table[i] = c;
        }
        return table;
    }

    /// <summary>Starts a running CRC.</summary>
    public const uint Seed = 0xFFFFFFFF;

    /// <summary>Continues a running CRC over <paramref name="data"/>.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        if (Sse42.X64.IsSupported)
        {
            ulong c = crc;
            while (data.Length >= 8)
            {
                c = Sse42.X64.Crc32(c, BinaryPrimitives.ReadUInt64LittleEndian(data));
                data = data[8..];
            }
            crc = (uint)c;
        }
        if (Sse42.IsSupported)
        {
            while (data.Length >= 4)
            {
                crc = Sse42.Crc32(crc, BinaryPrimitives.ReadUInt32LittleEndian(data));
                data = data[4..];
            }
            foreach (byte b in data)
            {
                crc = Sse42.Crc32(crc, b);
            }
            return crc;
        }
        uint[] table = Table;
        foreach (byte b in data)
        {
            crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }
        return crc;
    }

    public static uint Append(uint crc, in ReadOnlySequence<byte> data)
    {
        foreach (ReadOnlyMemory<byte> segment in data)
        {
            crc = Append(crc, segment.Span);
        }
        return crc;
    }

    /// <summary>The finished digest value (complemented CRC).</summary>
    public static uint Finish(uint crc) => ~crc;

    public static uint Compute(ReadOnlySpan<byte> data) => Finish(Append(Seed, data));

    public static uint Compute(in ReadOnlySequence<byte> data) => Finish(Append(Seed, data));
}

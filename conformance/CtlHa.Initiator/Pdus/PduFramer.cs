using System.Buffers;
using System.Buffers.Binary;

namespace CtlHa.Initiator.Pdus;

/// <summary>Which digests a connection uses after login (RFC 7143 §13.12-13.13).</summary>
public readonly record struct DigestSettings(bool HeaderDigest, bool DataDigest)
{
    public static DigestSettings None => default;
}

/// <summary>
/// Frames PDUs on the wire, RFC 7143 §11.2: BHS(48) | AHS(TotalAHSLength*4) | HeaderDigest(4)? |
/// Data(DataSegmentLength) padded to 4 | DataDigest(4)? (only when DataSegmentLength &gt; 0).
/// Digests are CRC32C sent least-significant byte first.
/// </summary>
public static class PduFramer
{
    private const int DigestLength = 4;

    public static int PaddedLength(int length) => (length + 3) & ~3;

    /// <summary>Total bytes a PDU occupies on the wire with the given digests.</summary>
    public static int WireLength(IscsiPdu pdu, DigestSettings digests)
    {
        var length = IscsiPdu.BhsLength + pdu.Ahs.Length + (digests.HeaderDigest ? DigestLength : 0);
        if (pdu.Data.Length > 0)
        {
            length += PaddedLength(pdu.Data.Length) + (digests.DataDigest ? DigestLength : 0);
        }

        return length;
    }

    /// <summary>Encodes <paramref name="pdu"/> (after <see cref="IscsiPdu.UpdateLengths"/>) into <paramref name="destination"/>; returns bytes written.</summary>
    public static int Write(IscsiPdu pdu, DigestSettings digests, Span<byte> destination)
    {
        pdu.UpdateLengths();
        var length = WireLength(pdu, digests);
        if (destination.Length < length)
        {
            throw new ArgumentException("Destination too small for the PDU.", nameof(destination));
        }

        var position = 0;
        pdu.Bhs.CopyTo(destination);
        position += IscsiPdu.BhsLength;
        pdu.Ahs.Span.CopyTo(destination[position..]);
        position += pdu.Ahs.Length;
        if (digests.HeaderDigest)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(destination[position..], Crc32C.Compute(destination[..position]));
            position += DigestLength;
        }

        if (pdu.Data.Length > 0)
        {
            var dataStart = position;
            pdu.Data.Span.CopyTo(destination[position..]);
            position += pdu.Data.Length;
            var padded = PaddedLength(pdu.Data.Length);
            destination.Slice(position, padded - pdu.Data.Length).Clear();
            position = dataStart + padded;
            if (digests.DataDigest)
            {
                // The data digest covers the padding too (RFC 7143 §11.2.4).
                BinaryPrimitives.WriteUInt32LittleEndian(destination[position..], Crc32C.Compute(destination.Slice(dataStart, padded)));
                position += DigestLength;
            }
        }

        return position;
    }

    public static byte[] ToArray(IscsiPdu pdu, DigestSettings digests)
    {
        pdu.UpdateLengths();
        var bytes = new byte[WireLength(pdu, digests)];
        Write(pdu, digests, bytes);
        return bytes;
    }

    /// <summary>
    /// Tries to take one whole PDU from the front of <paramref name="buffer"/>. On success the buffer is advanced
    /// past it. The declared DataSegmentLength is checked against <paramref name="maxDataSegmentLength"/> before
    /// any of the data is awaited; digest mismatches throw <see cref="IscsiDigestException"/>.
    /// </summary>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, DigestSettings digests, int maxDataSegmentLength, out IscsiPdu? pdu)
    {
        pdu = null;
        if (buffer.Length < IscsiPdu.BhsLength)
        {
            return false;
        }

        Span<byte> bhs = stackalloc byte[IscsiPdu.BhsLength];
        buffer.Slice(0, IscsiPdu.BhsLength).CopyTo(bhs);
        var ahsLength = bhs[4] * 4;
        var dataLength = (bhs[5] << 16) | (bhs[6] << 8) | bhs[7];
        if (dataLength > maxDataSegmentLength)
        {
            throw new IscsiProtocolException(
                $"DataSegmentLength {dataLength} exceeds MaxRecvDataSegmentLength {maxDataSegmentLength} (opcode 0x{bhs[0] & 0x3F:X2}).");
        }

        var headerLength = IscsiPdu.BhsLength + ahsLength;
        var total = headerLength + (digests.HeaderDigest ? DigestLength : 0);
        var padded = PaddedLength(dataLength);
        if (dataLength > 0)
        {
            total += padded + (digests.DataDigest ? DigestLength : 0);
        }

        if (buffer.Length < total)
        {
            return false;
        }

        var whole = buffer.Slice(0, total);
        if (digests.HeaderDigest)
        {
            var expected = Crc32C.Compute(whole.Slice(0, headerLength));
            var actual = ReadLittleEndian(whole.Slice(headerLength, DigestLength));
            if (expected != actual)
            {
                throw new IscsiDigestException($"Header digest mismatch: computed 0x{expected:X8}, received 0x{actual:X8}.");
            }
        }

        var ahs = ahsLength == 0 ? ReadOnlyMemory<byte>.Empty : whole.Slice(IscsiPdu.BhsLength, ahsLength).ToArray();
        var data = ReadOnlyMemory<byte>.Empty;
        if (dataLength > 0)
        {
            var dataStart = headerLength + (digests.HeaderDigest ? DigestLength : 0);
            var paddedData = whole.Slice(dataStart, padded);
            if (digests.DataDigest)
            {
                var expected = Crc32C.Compute(paddedData);
                var actual = ReadLittleEndian(whole.Slice(dataStart + padded, DigestLength));
                if (expected != actual)
                {
                    throw new IscsiDigestException($"Data digest mismatch: computed 0x{expected:X8}, received 0x{actual:X8}.");
                }
            }

            data = paddedData.Slice(0, dataLength).ToArray();
        }

        pdu = new IscsiPdu(bhs, ahs, data);
        buffer = buffer.Slice(total);
        return true;
    }

    private static uint ReadLittleEndian(ReadOnlySequence<byte> four)
    {
        Span<byte> bytes = stackalloc byte[DigestLength];
        four.CopyTo(bytes);
        return BinaryPrimitives.ReadUInt32LittleEndian(bytes);
    }
}

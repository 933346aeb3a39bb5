using System.Buffers;
using System.Buffers.Binary;

namespace CtlHa.Iscsi.Pdus;

/// <summary>Limits and digests in force for framing received PDUs.</summary>
/// <param name="MaxDataSegmentLength">Our declared MaxRecvDataSegmentLength (RFC 7143 §13.12).</param>
public readonly record struct PduReaderSettings(int MaxDataSegmentLength, bool HeaderDigest, bool DataDigest)
{
    /// <summary>Login phase: 8192 bytes (RFC 7143 §6.1 default) and no digests.</summary>
    public static PduReaderSettings Login => new(8192, false, false);
}

/// <summary>
/// Frames PDUs out of a byte stream (RFC 7143 §11.2): BHS(48) | AHS(TotalAHSLength*4) | HeaderDigest(4)? |
/// Data(DataSegmentLength, padded to 4) | DataDigest(4)? (only when DataSegmentLength &gt; 0).
/// Synchronous, resumable (returns false until a whole PDU is buffered) and allocation-free.
/// Declared lengths are checked against the limits as soon as the BHS is in, before waiting for the rest.
/// </summary>
public static class PduReader
{
    public const int DigestLength = 4;

    /// <exception cref="IscsiProtocolException">A declared length exceeds a limit, or a digest does not match.</exception>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, in PduReaderSettings settings, out IscsiFrame frame)
    {
        frame = default;
        if (buffer.Length < Bhs.Length)
        {
            return false;
        }

        BhsBuffer bhs = default;
        Span<byte> header = bhs;
        buffer.Slice(0, Bhs.Length).CopyTo(header);

        int ahsLength = Bhs.TotalAhsLength(header);
        int dataLength = Bhs.DataSegmentLength(header);
        if (dataLength > settings.MaxDataSegmentLength)
        {
            throw new IscsiProtocolException(
                RejectReason.ProtocolError,
                $"DataSegmentLength {dataLength} exceeds MaxRecvDataSegmentLength {settings.MaxDataSegmentLength}",
                bhs,
                fatal: true);
        }

        int headerDigest = settings.HeaderDigest ? DigestLength : 0;
        int dataDigest = settings.DataDigest && dataLength > 0 ? DigestLength : 0;
        long total = Bhs.Length + ahsLength + headerDigest + Bhs.Padded(dataLength) + dataDigest;
        if (buffer.Length < total)
        {
            return false;
        }

        if (headerDigest != 0)
        {
            uint crc = Crc32C.Append(Crc32C.Seed, header);
            if (ahsLength > 0)
            {
                crc = Crc32C.Append(crc, buffer.Slice(Bhs.Length, ahsLength));
            }
            uint expected = ReadUInt32LittleEndian(buffer.Slice(Bhs.Length + ahsLength, DigestLength));
            if (Crc32C.Finish(crc) != expected)
            {
                // RFC 7143 §7.8: the length fields cannot be trusted, so the connection must go.
                throw new IscsiProtocolException(RejectReason.ProtocolError, "header digest error", bhs, fatal: true);
            }
        }

        ReadOnlySequence<byte> ahs = buffer.Slice(Bhs.Length, ahsLength);
        long dataStart = Bhs.Length + ahsLength + headerDigest;
        ReadOnlySequence<byte> data = buffer.Slice(dataStart, dataLength);
        if (dataDigest != 0)
        {
            // The data digest covers the data and its padding (RFC 7143 §13.1).
            uint crc = Crc32C.Compute(buffer.Slice(dataStart, Bhs.Padded(dataLength)));
            uint expected = ReadUInt32LittleEndian(buffer.Slice(dataStart + Bhs.Padded(dataLength), DigestLength));
            if (crc != expected)
            {
                buffer = buffer.Slice(total);
                throw new IscsiProtocolException(RejectReason.DataDigestError, "data digest error", bhs, fatal: false);
            }
        }

        frame = new IscsiFrame(bhs, ahs, data);
        buffer = buffer.Slice(total);
        return true;
    }

    private static uint ReadUInt32LittleEndian(ReadOnlySequence<byte> four)
    {
        Span<byte> tmp = stackalloc byte[DigestLength];
        four.CopyTo(tmp);
        return BinaryPrimitives.ReadUInt32LittleEndian(tmp);
    }
}

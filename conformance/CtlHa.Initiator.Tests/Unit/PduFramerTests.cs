using System.Buffers;
using CtlHa.Initiator.Pdus;

namespace CtlHa.Initiator.Tests.Unit;

public sealed class PduFramerTests
{
    private static IscsiPdu SampleDataIn(int dataLength, bool withAhs = false)
    {
        var pdu = new IscsiPdu(IscsiOpcode.ScsiDataIn)
        {
            Flags = 0x81,
            Byte3 = 0x02,
            Lun = 0x0001_0000_0000_0000,
            InitiatorTaskTag = 0x1234_5678,
            TargetTransferTag = IscsiPdu.ReservedTag,
            Dword24 = 7,
            Dword28 = 8,
            Dword32 = 40,
            Dword36 = 3,
            Dword40 = 4096,
            Dword44 = 12,
            Data = Enumerable.Range(0, dataLength).Select(i => (byte)(i * 7)).ToArray(),
        };
        if (withAhs)
        {
            pdu.Ahs = new byte[] { 0x00, 0x05, 0x01, 0x00, 1, 2, 3, 4 };
        }

        return pdu;
    }

    private static void AssertSame(IscsiPdu expected, IscsiPdu actual)
    {
        Assert.Equal(expected.Bhs, actual.Bhs);
        Assert.Equal(expected.Ahs.ToArray(), actual.Ahs.ToArray());
        Assert.Equal(expected.Data.ToArray(), actual.Data.ToArray());
    }

    public static TheoryData<int, bool, bool, bool> Shapes => new()
    {
        { 0, false, false, false },
        { 1, false, false, false },
        { 5, true, false, false },
        { 13, false, true, true },
        { 512, true, true, true },
        { 3, true, true, false },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void A_PDU_round_trips_whole(int dataLength, bool ahs, bool headerDigest, bool dataDigest)
    {
        var digests = new DigestSettings(headerDigest, dataDigest);
        var pdu = SampleDataIn(dataLength, ahs);
        var bytes = PduFramer.ToArray(pdu, digests);
        Assert.Equal(0, bytes.Length % 4);
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.True(PduFramer.TryRead(ref buffer, digests, 65536, out var read));
        Assert.True(buffer.IsEmpty);
        AssertSame(pdu, read!);
        Assert.Equal(dataLength, read!.DataSegmentLength);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void A_PDU_is_read_from_inside_a_bigger_buffer_leaving_the_rest(int dataLength, bool ahs, bool headerDigest, bool dataDigest)
    {
        var digests = new DigestSettings(headerDigest, dataDigest);
        var first = SampleDataIn(dataLength, ahs);
        var second = SampleDataIn(dataLength + 1);
        var bytes = PduFramer.ToArray(first, digests).Concat(PduFramer.ToArray(second, digests)).ToArray();
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.True(PduFramer.TryRead(ref buffer, digests, 65536, out var a));
        Assert.True(PduFramer.TryRead(ref buffer, digests, 65536, out var b));
        Assert.False(PduFramer.TryRead(ref buffer, digests, 65536, out _));
        AssertSame(first, a!);
        AssertSame(second, b!);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void A_PDU_split_at_every_byte_reads_the_same(int dataLength, bool ahs, bool headerDigest, bool dataDigest)
    {
        var digests = new DigestSettings(headerDigest, dataDigest);
        var pdu = SampleDataIn(dataLength, ahs);
        var bytes = PduFramer.ToArray(pdu, digests);
        for (var at = 0; at <= bytes.Length; at++)
        {
            var buffer = Segment.SplitAt(bytes, at);
            Assert.True(PduFramer.TryRead(ref buffer, digests, 65536, out var read));
            AssertSame(pdu, read!);
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void A_PDU_one_byte_per_segment_reads_the_same(int dataLength, bool ahs, bool headerDigest, bool dataDigest)
    {
        var digests = new DigestSettings(headerDigest, dataDigest);
        var pdu = SampleDataIn(dataLength, ahs);
        var buffer = Segment.Split(PduFramer.ToArray(pdu, digests), 1);
        Assert.True(PduFramer.TryRead(ref buffer, digests, 65536, out var read));
        AssertSame(pdu, read!);
    }

    [Fact]
    public void Every_strict_prefix_of_a_PDU_is_incomplete()
    {
        var digests = new DigestSettings(true, true);
        var bytes = PduFramer.ToArray(SampleDataIn(21, withAhs: true), digests);
        for (var length = 0; length < bytes.Length; length++)
        {
            var buffer = new ReadOnlySequence<byte>(bytes, 0, length);
            Assert.False(PduFramer.TryRead(ref buffer, digests, 65536, out _));
            Assert.Equal(length, buffer.Length);
        }
    }

    [Fact]
    public void A_declared_data_length_over_the_limit_fails_before_the_data_arrives()
    {
        var bytes = PduFramer.ToArray(SampleDataIn(8193), DigestSettings.None);
        var headerOnly = new ReadOnlySequence<byte>(bytes, 0, IscsiPdu.BhsLength);
        var error = Assert.Throws<IscsiProtocolException>(() =>
        {
            var buffer = headerOnly;
            PduFramer.TryRead(ref buffer, DigestSettings.None, 8192, out _);
        });
        Assert.Contains("MaxRecvDataSegmentLength 8192", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_corrupted_header_digest_is_reported()
    {
        var digests = new DigestSettings(true, false);
        var bytes = PduFramer.ToArray(SampleDataIn(4), digests);
        bytes[20] ^= 0x01;
        Assert.Throws<IscsiDigestException>(() =>
        {
            var buffer = new ReadOnlySequence<byte>(bytes);
            PduFramer.TryRead(ref buffer, digests, 65536, out _);
        });
    }

    [Fact]
    public void A_corrupted_data_byte_fails_the_data_digest()
    {
        var digests = new DigestSettings(false, true);
        var bytes = PduFramer.ToArray(SampleDataIn(10), digests);
        bytes[IscsiPdu.BhsLength + 3] ^= 0x80;
        Assert.Throws<IscsiDigestException>(() =>
        {
            var buffer = new ReadOnlySequence<byte>(bytes);
            PduFramer.TryRead(ref buffer, digests, 65536, out _);
        });
    }

    [Fact]
    public void Data_is_padded_to_four_bytes_with_zeroes_and_lengths_are_filled_in()
    {
        var pdu = SampleDataIn(5, withAhs: true);
        var bytes = PduFramer.ToArray(pdu, DigestSettings.None);
        Assert.Equal(48 + 8 + 8, bytes.Length);
        Assert.Equal(2, bytes[4]);
        Assert.Equal(new byte[] { 0, 0, 5 }, bytes[5..8]);
        Assert.Equal(new byte[] { 0, 0, 0 }, bytes[^3..]);
    }

    [Fact]
    public void Header_fields_are_big_endian_at_their_RFC_7143_offsets()
    {
        var pdu = new IscsiPdu(IscsiOpcode.ScsiCommand, immediate: true)
        {
            Flags = 0xC1,
            Lun = 0x0102_0304_0506_0708,
            InitiatorTaskTag = 0x0A0B_0C0D,
            Dword20 = 0x1000,
            CmdSN = 0x1122_3344,
            ExpStatSN = 0x5566_7788,
        };
        var bytes = PduFramer.ToArray(pdu, DigestSettings.None);
        Assert.Equal(0x41, bytes[0]);
        Assert.Equal(0xC1, bytes[1]);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }, bytes[8..16]);
        Assert.Equal(new byte[] { 0x0A, 0x0B, 0x0C, 0x0D }, bytes[16..20]);
        Assert.Equal(new byte[] { 0, 0, 0x10, 0 }, bytes[20..24]);
        Assert.Equal(new byte[] { 0x11, 0x22, 0x33, 0x44 }, bytes[24..28]);
        Assert.Equal(new byte[] { 0x55, 0x66, 0x77, 0x88 }, bytes[28..32]);
        Assert.Equal(IscsiOpcode.ScsiCommand, pdu.Opcode);
        Assert.True(pdu.Immediate);
    }
}

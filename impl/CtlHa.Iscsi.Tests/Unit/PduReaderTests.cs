using System.Buffers;
using System.Buffers.Binary;
using CtlHa.Iscsi.Pdus;

namespace CtlHa.Iscsi.Tests.Unit;

/// <summary>PDU framing under every segmentation (HOUSE_STYLE: whole, inside a bigger buffer, split at every byte, one byte per segment).</summary>
public sealed class PduReaderTests
{
    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }

    private static ReadOnlySequence<byte> Split(byte[] bytes, params int[] cuts)
    {
        int[] bounds = [0, .. cuts.Where(c => c > 0 && c < bytes.Length).Distinct().Order(), bytes.Length];
        var first = new Segment(bytes.AsMemory(bounds[0], bounds[1] - bounds[0]), 0);
        Segment last = first;
        for (int i = 1; i < bounds.Length - 1; i++)
        {
            last = last.Append(bytes.AsMemory(bounds[i], bounds[i + 1] - bounds[i]));
        }
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private static ReadOnlySequence<byte> OneBytePerSegment(byte[] bytes) => Split(bytes, Enumerable.Range(1, bytes.Length - 1).ToArray());

    /// <summary>Builds PDU bytes: BHS, AHS, optional header digest, padded data, optional data digest.</summary>
    public static byte[] BuildPdu(IscsiOpcode opcode, byte[] ahs, byte[] data, bool headerDigest, bool dataDigest, uint itt = 0x11223344)
    {
        byte[] bhs = new byte[48];
        bhs[0] = (byte)opcode;
        bhs[1] = 0x80;
        bhs[4] = (byte)(ahs.Length / 4);
        bhs[5] = (byte)(data.Length >> 16);
        bhs[6] = (byte)(data.Length >> 8);
        bhs[7] = (byte)data.Length;
        BinaryPrimitives.WriteUInt32BigEndian(bhs.AsSpan(16), itt);
        var result = new List<byte>(bhs);
        result.AddRange(ahs);
        if (headerDigest)
        {
            byte[] d = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(d, Crc32C.Compute([.. bhs, .. ahs]));
            result.AddRange(d);
        }
        if (data.Length > 0)
        {
            byte[] padded = new byte[(data.Length + 3) & ~3];
            data.CopyTo(padded, 0);
            result.AddRange(padded);
            if (dataDigest)
            {
                byte[] d = new byte[4];
                BinaryPrimitives.WriteUInt32LittleEndian(d, Crc32C.Compute(padded));
                result.AddRange(d);
            }
        }
        return [.. result];
    }

    public static TheoryData<int, int, bool, bool> Shapes => new()
    {
        { 0, 0, false, false },
        { 0, 1, false, false },
        { 0, 5, false, false },
        { 8, 6, false, false },
        { 0, 7, true, false },
        { 0, 9, true, true },
        { 8, 3, true, true },
        { 0, 0, true, true },
    };

    private static void AssertFrame(in IscsiFrame frame, int ahsLength, byte[] data)
    {
        Assert.Equal(IscsiOpcode.ScsiCommand, frame.Opcode);
        Assert.Equal(0x11223344u, frame.InitiatorTaskTag);
        Assert.Equal(ahsLength, (int)frame.Ahs.Length);
        Assert.Equal(data, frame.Data.ToArray());
    }

    private static (byte[] Bytes, byte[] Data, PduReaderSettings Settings) Make(int ahsLength, int dataLength, bool hd, bool dd)
    {
        byte[] ahs = Enumerable.Range(0, ahsLength).Select(i => (byte)(0xA0 + i)).ToArray();
        byte[] data = Enumerable.Range(0, dataLength).Select(i => (byte)(i + 1)).ToArray();
        return (BuildPdu(IscsiOpcode.ScsiCommand, ahs, data, hd, dd), data, new PduReaderSettings(8192, hd, dd));
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Whole_pdu_is_framed_and_consumed(int ahsLength, int dataLength, bool hd, bool dd)
    {
        (byte[] bytes, byte[] data, PduReaderSettings settings) = Make(ahsLength, dataLength, hd, dd);
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.True(PduReader.TryRead(ref buffer, settings, out IscsiFrame frame));
        AssertFrame(frame, ahsLength, data);
        Assert.True(buffer.IsEmpty);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Pdu_inside_a_bigger_buffer_leaves_the_rest(int ahsLength, int dataLength, bool hd, bool dd)
    {
        (byte[] bytes, byte[] data, PduReaderSettings settings) = Make(ahsLength, dataLength, hd, dd);
        byte[] twice = [.. bytes, .. bytes, 0x01, 0x02];
        var buffer = new ReadOnlySequence<byte>(twice);
        Assert.True(PduReader.TryRead(ref buffer, settings, out IscsiFrame frame));
        AssertFrame(frame, ahsLength, data);
        Assert.True(PduReader.TryRead(ref buffer, settings, out frame));
        AssertFrame(frame, ahsLength, data);
        Assert.Equal(2, buffer.Length);
        Assert.False(PduReader.TryRead(ref buffer, settings, out _));
        Assert.Equal(2, buffer.Length);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Split_at_every_byte_frames_the_same_and_every_prefix_waits(int ahsLength, int dataLength, bool hd, bool dd)
    {
        (byte[] bytes, byte[] data, PduReaderSettings settings) = Make(ahsLength, dataLength, hd, dd);
        for (int cut = 1; cut < bytes.Length; cut++)
        {
            ReadOnlySequence<byte> prefix = new(bytes, 0, cut);
            ReadOnlySequence<byte> before = prefix;
            Assert.False(PduReader.TryRead(ref prefix, settings, out _));
            Assert.Equal(before.Length, prefix.Length); // nothing consumed while incomplete

            ReadOnlySequence<byte> split = Split(bytes, cut);
            Assert.True(PduReader.TryRead(ref split, settings, out IscsiFrame frame));
            AssertFrame(frame, ahsLength, data);
            Assert.True(split.IsEmpty);
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void One_byte_per_segment_frames_the_same(int ahsLength, int dataLength, bool hd, bool dd)
    {
        (byte[] bytes, byte[] data, PduReaderSettings settings) = Make(ahsLength, dataLength, hd, dd);
        ReadOnlySequence<byte> buffer = OneBytePerSegment(bytes);
        Assert.True(PduReader.TryRead(ref buffer, settings, out IscsiFrame frame));
        AssertFrame(frame, ahsLength, data);
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void Declared_length_over_the_limit_fails_as_soon_as_the_BHS_is_in()
    {
        byte[] bhs = BuildPdu(IscsiOpcode.NopOut, [], [], false, false);
        bhs[5] = 0x01; // 65536 bytes declared, none sent
        var buffer = new ReadOnlySequence<byte>(bhs);
        var ex = Assert.Throws<IscsiProtocolException>(() => PduReader.TryRead(ref buffer, new PduReaderSettings(8192, false, false), out _));
        Assert.True(ex.IsFatal);
        Assert.Contains("MaxRecvDataSegmentLength 8192", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Corrupt_header_digest_is_fatal_and_corrupt_data_digest_is_not()
    {
        byte[] bytes = BuildPdu(IscsiOpcode.ScsiCommand, [], [1, 2, 3], true, true);
        byte[] badHeader = (byte[])bytes.Clone();
        badHeader[49] ^= 0xFF;
        var buffer = new ReadOnlySequence<byte>(badHeader);
        Assert.True(Assert.Throws<IscsiProtocolException>(() => PduReader.TryRead(ref buffer, new PduReaderSettings(8192, true, true), out _)).IsFatal);

        byte[] badData = (byte[])bytes.Clone();
        badData[^1] ^= 0xFF;
        buffer = new ReadOnlySequence<byte>([.. badData, .. bytes]);
        var ex = Assert.Throws<IscsiProtocolException>(() => PduReader.TryRead(ref buffer, new PduReaderSettings(8192, true, true), out _));
        Assert.False(ex.IsFatal);
        Assert.Equal(RejectReason.DataDigestError, ex.Reason);
        Assert.Equal(bytes.Length, buffer.Length); // the bad PDU was skipped, the next one is intact
        Assert.True(PduReader.TryRead(ref buffer, new PduReaderSettings(8192, true, true), out _));
    }

    [Fact]
    public void Typed_views_read_fields_at_RFC_offsets()
    {
        byte[] h = new byte[48];
        h[0] = 0x41;
        h[1] = 0xE2; // F R W, ATTR 2 (ordered)
        BinaryPrimitives.WriteUInt64BigEndian(h.AsSpan(8), 0x0001_0000_0000_0000);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(16), 0xA);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(20), 4096);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(24), 77);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(28), 5);
        h[32] = 0x28;
        ScsiCommandPdu pdu = ScsiCommandPdu.Parse(h);
        Assert.Equal(new ScsiCommandPdu(true, true, true, true, Core.TaskAttribute.Ordered, 0x0001_0000_0000_0000, 0xA, 4096, 77, 5), pdu);

        byte[] login = new byte[48];
        login[0] = 0x43;
        login[1] = 0x87; // T, CSG 1, NSG 3
        BinaryPrimitives.WriteUInt64BigEndian(login.AsSpan(8), 0x8012_3456_789A_0000 | 0x0005);
        LoginRequestPdu l = LoginRequestPdu.Parse(login);
        Assert.True(l.Transit);
        Assert.Equal(LoginStage.LoginOperationalNegotiation, l.CurrentStage);
        Assert.Equal(LoginStage.FullFeaturePhase, l.NextStage);
        Assert.Equal(0x8012_3456_789Aul, l.Isid);
        Assert.Equal((ushort)5, l.Tsih);
    }

    [Fact]
    public void Builders_write_fields_at_RFC_offsets()
    {
        byte[] h = new byte[48];
        new DataInPdu(true, true, Core.ScsiStatus.Good, ResidualKind.Underflow, 0, 0x99, 3, 8192, 512, 1000).Write(h);
        Assert.Equal(0x25, h[0]);
        Assert.Equal(0x83, h[1]); // F U S
        Assert.Equal(1000, Bhs.DataSegmentLength(h));
        Assert.Equal(0x99u, BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(16)));
        Assert.Equal(0xFFFFFFFFu, BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(20)));
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(36)));
        Assert.Equal(8192u, BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(40)));
        Assert.Equal(512u, BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(44)));

        new ReadyToTransferPdu(0, 7, 0x55, 2, 65536, 262144).Write(h);
        Assert.Equal(0x31, h[0]);
        Assert.Equal(0x55u, BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(20)));
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(36)));
        Assert.Equal(262144u, BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(44)));
    }
}

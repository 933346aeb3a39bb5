using System.Buffers;
using FsCheck.Xunit;

namespace CtlHa.Initiator.Tests.Unit;

public sealed class Crc32CTests
{
    // RFC 3720 appendix B.4: the bytes are listed as they go on the wire (least-significant byte first).
    public static TheoryData<string, byte[], uint> Rfc3720Vectors => new()
    {
        { "32 bytes of zeroes", new byte[32], 0x8A9136AA },
        { "32 bytes of ones", Enumerable.Repeat((byte)0xFF, 32).ToArray(), 0x62A8AB43 },
        { "32 incrementing bytes", Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(), 0x46DD794E },
        { "32 decrementing bytes", Enumerable.Range(0, 32).Select(i => (byte)(31 - i)).ToArray(), 0x113FDB5C },
        {
            "an iSCSI READ (10) command PDU",
            Convert.FromHexString(
                "01C00000" + "00000000" + "00000000" + "00000000" + "14000000" + "00000400" +
                "00000014" + "00000018" + "28000000" + "00000000" + "02000000" + "00000000"),
            0xD9963A56
        },
    };

    [Theory]
    [MemberData(nameof(Rfc3720Vectors))]
    public void Crc32C_matches_the_RFC_3720_appendix_B4_vectors(string name, byte[] data, uint expected)
    {
        Assert.True(expected == Crc32C.Compute(data), name);
        Assert.True(expected == ~Crc32C.AppendSoftware(0xFFFFFFFF, data), name + " (software)");
    }

    [Fact]
    public void Crc32C_of_the_standard_check_string_is_E3069283()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
    }

    [Property(MaxTest = 200)]
    public bool Hardware_and_software_paths_agree_on_any_input(byte[] data) =>
        Crc32C.Compute(data) == ~Crc32C.AppendSoftware(0xFFFFFFFF, data);

    [Property(MaxTest = 200)]
    public bool Crc32C_over_a_split_sequence_equals_the_whole(byte[] data, byte cut)
    {
        var at = data.Length == 0 ? 0 : cut % data.Length;
        var first = new Segment(data.AsMemory(0, at));
        var last = first.Append(data.AsMemory(at));
        var sequence = new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
        return Crc32C.Compute(sequence) == Crc32C.Compute(data);
    }
}

/// <summary>A linked memory segment for building multi-segment sequences in tests.</summary>
internal sealed class Segment : ReadOnlySequenceSegment<byte>
{
    public Segment(ReadOnlyMemory<byte> memory)
    {
        Memory = memory;
    }

    public Segment Append(ReadOnlyMemory<byte> memory)
    {
        var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
        Next = next;
        return next;
    }

    public static ReadOnlySequence<byte> Split(byte[] bytes, int chunk)
    {
        if (bytes.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var first = new Segment(bytes.AsMemory(0, Math.Min(chunk, bytes.Length)));
        var last = first;
        for (var offset = first.Memory.Length; offset < bytes.Length; offset += chunk)
        {
            last = last.Append(bytes.AsMemory(offset, Math.Min(chunk, bytes.Length - offset)));
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    public static ReadOnlySequence<byte> SplitAt(byte[] bytes, int at)
    {
        var first = new Segment(bytes.AsMemory(0, at));
        var last = first.Append(bytes.AsMemory(at));
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }
}

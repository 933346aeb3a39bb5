namespace CtlHa.Iscsi.Tests.Unit;

/// <summary>RFC 3720 Appendix B.4 CRC32C examples (the value as a number; the wire carries it little-endian).</summary>
public sealed class Crc32CTests
{
    [Fact]
    public void Matches_the_RFC_3720_examples()
    {
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
        Assert.Equal(0x62A8AB43u, Crc32C.Compute(Enumerable.Repeat((byte)0xFF, 32).ToArray()));
        Assert.Equal(0x46DD794Eu, Crc32C.Compute(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()));
        Assert.Equal(0x113FDB5Cu, Crc32C.Compute(Enumerable.Range(0, 32).Select(i => (byte)(31 - i)).ToArray()));
    }

    [Fact]
    public void Incremental_equals_one_shot_at_every_split()
    {
        byte[] data = Enumerable.Range(0, 37).Select(i => (byte)(i * 13)).ToArray();
        uint whole = Crc32C.Compute(data);
        for (int cut = 0; cut <= data.Length; cut++)
        {
            Assert.Equal(whole, Crc32C.Finish(Crc32C.Append(Crc32C.Append(Crc32C.Seed, data.AsSpan(0, cut)), data.AsSpan(cut))));
        }
    }
}

using System.Runtime.CompilerServices;
using System.Text;

namespace CtlHa.Wire.Tests;

/// <summary>
/// spec/vectors/*.hex hold the exact frame of every sample. Encoding must reproduce the bytes and decoding the
/// bytes must reproduce the value. Set CTLHA_WRITE_VECTORS=1 to rewrite them after a deliberate format change.
/// </summary>
public sealed class GoldenVectorTests
{
    public static TheoryData<string> SampleNames()
    {
        var data = new TheoryData<string>();
        foreach (var (name, _) in Samples.All)
        {
            data.Add(name);
        }

        return data;
    }

    // Found from the test binary, not [CallerFilePath]: CI builds are deterministic and map source paths to "/_/".
    private static string VectorDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "CtlHa.sln")))
            {
                return Path.Combine(dir.FullName, "spec", "vectors");
            }
        }
        throw new DirectoryNotFoundException($"no CtlHa.sln above {AppContext.BaseDirectory}");
    }

    private static InterlinkMessage Sample(string name) => Samples.All.Single(s => s.Name == name).Message;

    [Theory]
    [MemberData(nameof(SampleNames))]
    public void Encoding_a_sample_gives_its_golden_bytes(string name)
    {
        var frame = InterlinkFrame.Encode(Sample(name));
        var path = Path.Combine(VectorDirectory(), name + ".hex");
        if (Environment.GetEnvironmentVariable("CTLHA_WRITE_VECTORS") == "1")
        {
            File.WriteAllText(path, Format(name, Sample(name), frame));
        }

        Assert.Equal(Convert.ToHexString(ReadVector(path)), Convert.ToHexString(frame));
    }

    [Theory]
    [MemberData(nameof(SampleNames))]
    public void Decoding_golden_bytes_gives_the_sample(string name)
    {
        var buffer = new System.Buffers.ReadOnlySequence<byte>(ReadVector(Path.Combine(VectorDirectory(), name + ".hex")));
        Assert.True(InterlinkFrame.TryReadFrame(ref buffer, out var message));
        Assert.True(buffer.IsEmpty);
        WireAssert.Equivalent(Sample(name), message);
    }

    [Fact]
    public void Every_message_type_has_a_golden_vector()
    {
        var covered = Samples.All.Select(s => s.Message.GetType()).ToHashSet();
        var missing = InterlinkFrame.UnionKeys.Keys.Where(t => !covered.Contains(t)).Select(t => t.Name).ToList();
        Assert.Empty(missing);
    }

    [Fact]
    public void Union_keys_are_the_documented_ones()
    {
        var keys = InterlinkFrame.UnionKeys.ToDictionary(kv => kv.Key.Name, kv => kv.Value);
        var expected = new Dictionary<string, int>
        {
            ["AuthChallenge"] = 0, ["AuthResponse"] = 1, ["Login"] = 2, ["Goodbye"] = 3, ["Heartbeat"] = 4,
            ["PortSync"] = 10, ["InitiatorSync"] = 11, ["LunSync"] = 12, ["ModeSync"] = 13, ["SyncComplete"] = 14, ["SyncFence"] = 15, ["SyncFenceAck"] = 16,
            ["PersistentReserveAction"] = 20, ["UnitAttention"] = 21, ["TaskManagement"] = 22,
            ["Serialize"] = 30, ["ReadyToRun"] = 31, ["FinishIo"] = 32, ["SerializeFailed"] = 33, ["DataMove"] = 34, ["DataMoveDone"] = 35,
        };
        Assert.Equal(expected.OrderBy(kv => kv.Key), keys.OrderBy(kv => kv.Key));
    }

    [Fact]
    public void Login_vector_matches_the_hand_written_bytes_in_PROTOCOL_md()
    {
        // PROTOCOL.md §3.3 walks through this frame byte by byte.
        var frame = InterlinkFrame.Encode(Sample("Login"));
        Assert.Equal(
            "00000027" + "92" + "02" + "99" + "02" + "02" + "01" + "A6" + "706169722D61" + "CD0400" + "CD0400" + "CD0800" + "CE00101000" + "AB" + "63746C686120302E312E30",
            Convert.ToHexString(frame));
    }

    internal static byte[] ReadVector(string path)
    {
        var hex = new StringBuilder();
        foreach (var line in File.ReadAllLines(path))
        {
            if (!line.StartsWith('#'))
            {
                hex.Append(line.Trim());
            }
        }

        return Convert.FromHexString(hex.ToString());
    }

    private static string Format(string name, InterlinkMessage message, byte[] frame)
    {
        var text = new StringBuilder();
        text.Append("# ").Append(name).Append(": ").Append(message.GetType().Name)
            .Append(" (union key ").Append(InterlinkFrame.UnionKeyOf(message.GetType())).Append(")\n");
        text.Append("# frame = 4-byte big-endian length + MessagePack [key, [fields...]]; see spec/PROTOCOL.md\n");
        var hex = Convert.ToHexString(frame).ToLowerInvariant();
        for (var i = 0; i < hex.Length; i += 64)
        {
            text.Append(hex.AsSpan(i, Math.Min(64, hex.Length - i))).Append('\n');
        }

        return text.ToString();
    }
}

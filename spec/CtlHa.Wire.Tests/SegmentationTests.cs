using System.Buffers;

namespace CtlHa.Wire.Tests;

/// <summary>Every frame decodes identically however TCP cuts it (HOUSE_STYLE "Parser tests cover every segmentation").</summary>
public sealed class SegmentationTests
{
    public static TheoryData<string> SampleNames() => GoldenVectorTests.SampleNames();

    private static (InterlinkMessage Message, byte[] Frame) Get(string name)
    {
        var message = Samples.All.Single(s => s.Name == name).Message;
        return (message, InterlinkFrame.Encode(message));
    }

    [Theory]
    [MemberData(nameof(SampleNames))]
    public void A_whole_frame_decodes_and_is_consumed_exactly(string name)
    {
        var (message, frame) = Get(name);
        var buffer = new ReadOnlySequence<byte>(frame);
        Assert.True(InterlinkFrame.TryReadFrame(ref buffer, out var decoded));
        Assert.True(buffer.IsEmpty);
        WireAssert.Equivalent(message, decoded);
    }

    [Theory]
    [MemberData(nameof(SampleNames))]
    public void A_frame_split_at_every_byte_decodes_identically(string name)
    {
        var (message, frame) = Get(name);
        for (var cut = 1; cut < frame.Length; cut++)
        {
            var buffer = Segments.Split(frame, cut);
            Assert.True(InterlinkFrame.TryReadFrame(ref buffer, out var decoded), $"cut at {cut}");
            Assert.True(buffer.IsEmpty);
            WireAssert.Equivalent(message, decoded);
        }
    }

    [Theory]
    [MemberData(nameof(SampleNames))]
    public void A_frame_of_one_byte_segments_decodes_identically(string name)
    {
        var (message, frame) = Get(name);
        var buffer = Segments.OneBytePerSegment(frame);
        Assert.True(InterlinkFrame.TryReadFrame(ref buffer, out var decoded));
        Assert.True(buffer.IsEmpty);
        WireAssert.Equivalent(message, decoded);
    }

    [Theory]
    [MemberData(nameof(SampleNames))]
    public void Every_prefix_of_a_frame_asks_for_more_and_leaves_the_buffer_alone(string name)
    {
        var (_, frame) = Get(name);
        for (var length = 0; length < frame.Length; length++)
        {
            var buffer = new ReadOnlySequence<byte>(frame, 0, length);
            Assert.False(InterlinkFrame.TryReadFrame(ref buffer, out _), $"prefix {length}");
            Assert.Equal(length, buffer.Length);
        }
    }

    [Theory]
    [MemberData(nameof(SampleNames))]
    public void A_frame_inside_a_bigger_buffer_leaves_the_rest_unconsumed(string name)
    {
        var (message, frame) = Get(name);
        var next = InterlinkFrame.Encode(new Heartbeat(99, 0, 98));
        var stream = frame.Concat(next).Concat(next[..3]).ToArray();
        var buffer = new ReadOnlySequence<byte>(stream);
        Assert.True(InterlinkFrame.TryReadFrame(ref buffer, out var first));
        WireAssert.Equivalent(message, first);
        Assert.True(InterlinkFrame.TryReadFrame(ref buffer, out var second));
        WireAssert.Equivalent(new Heartbeat(99, 0, 98), second);
        Assert.False(InterlinkFrame.TryReadFrame(ref buffer, out _));
        Assert.Equal(3, buffer.Length);
    }

    [Fact]
    public void A_stream_of_all_samples_fed_byte_by_byte_yields_all_of_them_in_order()
    {
        var stream = Samples.All.SelectMany(s => InterlinkFrame.Encode(s.Message)).ToArray();
        var messages = Segments.FeedIncrementally(stream, Enumerable.Range(1, stream.Length - 1).ToArray());
        Assert.Equal(Samples.All.Count, messages.Count);
        for (var i = 0; i < messages.Count; i++)
        {
            WireAssert.Equivalent(Samples.All[i].Message, messages[i]);
        }
    }

    [Fact]
    public void WriteFrame_to_a_buffer_writer_appends_exactly_the_encoded_frame()
    {
        var writer = new ArrayBufferWriter<byte>();
        writer.Write(new byte[] { 1, 2, 3 });
        var written = InterlinkFrame.WriteFrame(writer, Samples.All[0].Message);
        Assert.Equal(3 + written, writer.WrittenCount);
        Assert.Equal(InterlinkFrame.Encode(Samples.All[0].Message), writer.WrittenSpan[3..].ToArray());
    }
}

using System.Buffers;

namespace CtlHa.Wire.Tests;

/// <summary>Builds multi-segment ReadOnlySequences for segmentation tests.</summary>
public static class Segments
{
    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, Segment? previous)
        {
            Memory = memory;
            if (previous is not null)
            {
                RunningIndex = previous.RunningIndex + previous.Memory.Length;
                previous.Next = this;
            }
        }
    }

    /// <summary>A sequence whose segments are cut at <paramref name="cuts"/> (ascending offsets).</summary>
    public static ReadOnlySequence<byte> Split(byte[] bytes, params int[] cuts)
    {
        var bounds = cuts.Where(c => c > 0 && c < bytes.Length).Distinct().Order().Append(bytes.Length).ToArray();
        Segment? first = null;
        Segment? last = null;
        var start = 0;
        foreach (var end in bounds)
        {
            last = new Segment(bytes.AsMemory(start, end - start), last);
            first ??= last;
            start = end;
        }

        return first is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(first, 0, last!, last!.Memory.Length);
    }

    public static ReadOnlySequence<byte> OneBytePerSegment(byte[] bytes) =>
        Split(bytes, Enumerable.Range(1, Math.Max(0, bytes.Length - 1)).ToArray());

    /// <summary>
    /// Feeds <paramref name="stream"/> to the frame reader the way a pipe would: only the bytes "received so far"
    /// (prefixes ending at each cut) are visible; unconsumed bytes stay. Returns every decoded message.
    /// </summary>
    public static List<InterlinkMessage> FeedIncrementally(byte[] stream, int[] cuts)
    {
        var messages = new List<InterlinkMessage>();
        var consumed = 0;
        foreach (var received in cuts.Where(c => c > 0 && c < stream.Length).Order().Append(stream.Length))
        {
            if (received <= consumed)
            {
                continue;
            }

            var window = Split(stream[consumed..received], cuts.Select(c => c - consumed).ToArray());
            var before = window.Length;
            while (InterlinkFrame.TryReadFrame(ref window, out var message))
            {
                messages.Add(message);
            }

            consumed += (int)(before - window.Length);
        }

        Assert.Equal(stream.Length, consumed);
        return messages;
    }
}

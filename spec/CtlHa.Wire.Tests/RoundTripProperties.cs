using System.Buffers;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace CtlHa.Wire.Tests;

public sealed class RoundTripProperties
{
    [Property(Arbitrary = [typeof(WireArbitraries)], MaxTest = 300)]
    public bool Any_valid_message_decodes_to_itself(InterlinkMessage message)
    {
        var frame = InterlinkFrame.Encode(message);
        var buffer = new ReadOnlySequence<byte>(frame);
        return InterlinkFrame.TryReadFrame(ref buffer, out var decoded)
            && buffer.IsEmpty
            && WireAssert.AreEquivalent(message, decoded);
    }

    [Property(Arbitrary = [typeof(WireArbitraries)], MaxTest = 100)]
    public bool Any_valid_message_encodes_to_the_same_bytes_twice_and_after_decoding(InterlinkMessage message)
    {
        var frame = InterlinkFrame.Encode(message);
        var decoded = InterlinkFrame.DecodePayload(frame.AsMemory(4));
        return frame.AsSpan().SequenceEqual(InterlinkFrame.Encode(message))
            && frame.AsSpan().SequenceEqual(InterlinkFrame.Encode(decoded));
    }

    [Property(Arbitrary = [typeof(WireArbitraries)], MaxTest = 100)]
    public Property Any_split_of_a_stream_of_messages_decodes_identically(InterlinkMessage a, InterlinkMessage b, InterlinkMessage c)
    {
        var stream = InterlinkFrame.Encode(a).Concat(InterlinkFrame.Encode(b)).Concat(InterlinkFrame.Encode(c)).ToArray();
        var cuts = Gen.ListOf(Gen.Choose(1, Math.Max(1, stream.Length - 1)), 0).SelectMany(_ => Gen.Choose(0, 12).SelectMany(n => Gen.ArrayOf(Gen.Choose(1, stream.Length - 1), n)));
        return Prop.ForAll(cuts.ToArbitrary(), cutPoints =>
        {
            var messages = Segments.FeedIncrementally(stream, cutPoints);
            return messages.Count == 3
                && WireAssert.AreEquivalent(a, messages[0])
                && WireAssert.AreEquivalent(b, messages[1])
                && WireAssert.AreEquivalent(c, messages[2]);
        });
    }

    [Property(MaxTest = 500)]
    public bool Random_bytes_never_fail_with_anything_but_a_protocol_error(byte[] payload)
    {
        var buffer = new ReadOnlySequence<byte>(Raw.Frame(payload ?? []));
        try
        {
            InterlinkFrame.TryReadFrame(ref buffer, out _);
            return true;
        }
        catch (InterlinkProtocolException)
        {
            return true;
        }
    }

    [Property(Arbitrary = [typeof(WireArbitraries)], MaxTest = 300)]
    public bool A_valid_message_with_one_byte_flipped_decodes_or_fails_with_a_protocol_error(InterlinkMessage message, int position, byte xor)
    {
        var payload = Raw.PayloadOf(message);
        payload[(int)((uint)position % (uint)payload.Length)] ^= (byte)(xor | 1);
        var buffer = new ReadOnlySequence<byte>(Raw.Frame(payload));
        try
        {
            InterlinkFrame.TryReadFrame(ref buffer, out _);
            return true;
        }
        catch (InterlinkProtocolException)
        {
            return true;
        }
    }
}

using System.Buffers;
using MessagePack;

namespace CtlHa.Wire.Tests;

/// <summary>Bad frames fail with the right typed error and never anything else (PROTOCOL.md §7).</summary>
public sealed class HostileFrameTests
{
    [Fact]
    public void An_unknown_union_key_is_UnknownType()
    {
        var frame = Raw.Frame((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2);
            w.Write(99);
            w.WriteArrayHeader(0);
        });
        Assert.Equal(InterlinkErrorKind.UnknownType, Raw.KindOf(frame));
    }

    [Fact]
    public void A_negative_union_key_is_UnknownType()
    {
        var frame = Raw.Frame((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2);
            w.Write(-1);
            w.WriteArrayHeader(0);
        });
        Assert.Equal(InterlinkErrorKind.UnknownType, Raw.KindOf(frame));
    }

    [Fact]
    public void A_payload_cut_short_inside_its_frame_is_Truncated()
    {
        foreach (var (name, message) in Samples.All)
        {
            var payload = Raw.PayloadOf(message);
            for (var length = 1; length < payload.Length; length++)
            {
                var kind = Raw.KindOf(Raw.Frame(payload[..length]));
                Assert.True(kind is InterlinkErrorKind.Truncated or InterlinkErrorKind.Malformed, $"{name} cut to {length}: {kind}");
            }
        }
    }

    [Fact]
    public void A_payload_missing_its_last_byte_is_Truncated()
    {
        var payload = Raw.PayloadOf(Samples.All.Single(s => s.Name == "Login").Message);
        Assert.Equal(InterlinkErrorKind.Truncated, Raw.KindOf(Raw.Frame(payload[..^1])));
    }

    [Fact]
    public void An_oversized_length_is_refused_as_soon_as_the_prefix_arrives()
    {
        var prefixOnly = new byte[] { 0x00, 0x20, 0x00, 0x00 };
        Assert.Equal(InterlinkErrorKind.Oversized, Raw.KindOf(prefixOnly));
        var huge = new byte[] { 0xFF, 0xFF, 0xFF, 0xFF };
        Assert.Equal(InterlinkErrorKind.Oversized, Raw.KindOf(huge));
    }

    [Fact]
    public void The_largest_allowed_length_waits_for_its_bytes()
    {
        var prefix = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(prefix, WireLimits.MaxFrameLength);
        var buffer = new ReadOnlySequence<byte>(prefix);
        Assert.False(InterlinkFrame.TryReadFrame(ref buffer, out _));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(prefix, WireLimits.MaxFrameLength + 1);
        Assert.Equal(InterlinkErrorKind.Oversized, Raw.KindOf(prefix));
    }

    [Fact]
    public void A_frame_over_the_negotiated_smaller_limit_is_Oversized()
    {
        var big = new DataMove(new Nexus(0, 0, 0), 1, 1, 1, DataDirection.In, 0, WireLimits.MaxDataSegment, new byte[WireLimits.MaxDataSegment], true);
        var frame = InterlinkFrame.Encode(big);
        Assert.Equal(InterlinkErrorKind.Oversized, Raw.KindOf(frame, maxFrameLength: 1000));
        var ex = Assert.Throws<InterlinkProtocolException>(() => InterlinkFrame.Encode(big, maxFrameLength: 1000));
        Assert.Equal(InterlinkErrorKind.Oversized, ex.Kind);
    }

    [Fact]
    public void A_zero_length_frame_is_Malformed()
    {
        Assert.Equal(InterlinkErrorKind.Malformed, Raw.KindOf([0, 0, 0, 0]));
    }

    [Fact]
    public void Trailing_bytes_after_the_message_are_TrailingBytes()
    {
        foreach (var (name, message) in Samples.All)
        {
            var payload = Raw.PayloadOf(message);
            Assert.True(Raw.KindOf(Raw.Frame([.. payload, 0xC0])) == InterlinkErrorKind.TrailingBytes, name);
            Assert.True(Raw.KindOf(Raw.Frame([.. payload, .. payload])) == InterlinkErrorKind.TrailingBytes, name);
        }
    }

    [Fact]
    public void A_message_with_one_field_too_few_or_too_many_is_Malformed()
    {
        var few = Raw.Frame((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2);
            w.Write(4);
            w.WriteArrayHeader(1);
            w.Write(1);
        });
        var many = Raw.Frame((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2);
            w.Write(4);
            w.WriteArrayHeader(4);
            w.Write(1);
            w.Write(2);
            w.Write(3);
            w.Write(4);
        });
        Assert.Equal(InterlinkErrorKind.Malformed, Raw.KindOf(few));
        Assert.Equal(InterlinkErrorKind.Malformed, Raw.KindOf(many));
    }

    [Fact]
    public void A_nested_object_with_the_wrong_field_count_is_Malformed()
    {
        // ReadyToRun [Nexus, orig, primary] with a 2-field nexus.
        var frame = Raw.Frame((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2);
            w.Write(31);
            w.WriteArrayHeader(3);
            w.WriteArrayHeader(2);
            w.Write(1);
            w.Write(5);
            w.Write(42);
            w.Write(9001);
        });
        Assert.Equal(InterlinkErrorKind.Malformed, Raw.KindOf(frame));
    }

    [Fact]
    public void Deeply_nested_arrays_are_Malformed_without_recursing()
    {
        var frame = Raw.Frame((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2);
            w.Write(4);
            w.WriteArrayHeader(3);
            for (var i = 0; i < 100_000; i++)
            {
                w.WriteArrayHeader(1);
            }

            w.Write(1);
            w.Write(2);
            w.Write(3);
        });
        Assert.Equal(InterlinkErrorKind.Malformed, Raw.KindOf(frame));
    }

    [Fact]
    public void A_map_where_a_message_array_belongs_is_Malformed()
    {
        var frame = Raw.Frame((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2);
            w.Write(4);
            w.WriteMapHeader(3);
            w.Write(0);
            w.Write(1);
            w.Write(1);
            w.Write(2);
            w.Write(2);
            w.Write(3);
        });
        Assert.Equal(InterlinkErrorKind.Malformed, Raw.KindOf(frame));
    }

    [Fact]
    public void A_bare_scalar_frame_is_Malformed()
    {
        Assert.Equal(InterlinkErrorKind.Malformed, Raw.KindOf(Raw.Frame([0x05])));
        Assert.Equal(InterlinkErrorKind.Malformed, Raw.KindOf(Raw.Frame([0xC1])));
    }

    [Fact]
    public void A_str32_length_beyond_the_frame_is_a_protocol_error_not_a_crash()
    {
        // Found by the byte-flip property: SyncComplete with one byte turned into a str32 marker.
        byte[] payload = [0x92, 0x0E, 0x94, 0xCD, 0x04, 0xDB, 0xDB, 0x95, 0xCD, 0x13, 0x9D, 0xCE, 0xD7, 0x85, 0x2B, 0x34];
        var kind = Raw.KindOf(Raw.Frame(payload));
        Assert.True(kind is InterlinkErrorKind.Truncated or InterlinkErrorKind.Malformed, kind.ToString());
    }

    [Fact]
    public void A_string_where_an_integer_belongs_is_Malformed()
    {
        var frame = Raw.Frame((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2);
            w.Write(4);
            w.WriteArrayHeader(3);
            w.Write("one");
            w.Write(2);
            w.Write(3);
        });
        Assert.Equal(InterlinkErrorKind.Malformed, Raw.KindOf(frame));
    }

    [Fact]
    public void An_integer_too_big_for_its_field_is_Malformed()
    {
        // Login.NodeId is a byte; 300 does not fit.
        var frame = Raw.Frame((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2);
            w.Write(2);
            w.WriteArrayHeader(9);
            w.Write(1u);
            w.Write(2);
            w.Write(300);
            w.Write("pair-a");
            w.Write(1024u);
            w.Write(1024u);
            w.Write(2048u);
            w.Write(WireLimits.MaxFrameLength);
            w.Write("x");
        });
        Assert.Equal(InterlinkErrorKind.Malformed, Raw.KindOf(frame));
    }

    [Fact]
    public void Nil_where_bytes_are_required_is_Malformed()
    {
        var frame = Raw.Frame((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2);
            w.Write(1);
            w.WriteArrayHeader(1);
            w.WriteNil();
        });
        Assert.Equal(InterlinkErrorKind.Malformed, Raw.KindOf(frame));
    }

    [Fact]
    public void An_undefined_enum_value_is_OutOfRange()
    {
        var frame = Raw.Frame((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2);
            w.Write(0);
            w.WriteArrayHeader(2);
            w.Write(7);
            w.Write(new byte[32]);
        });
        Assert.Equal(InterlinkErrorKind.OutOfRange, Raw.KindOf(frame));
    }

    [Fact]
    public void Encoding_an_invalid_message_throws_OutOfRange_and_writes_nothing()
    {
        var writer = new ArrayBufferWriter<byte>();
        var ex = Assert.Throws<InterlinkProtocolException>(() => InterlinkFrame.WriteFrame(writer, new Heartbeat(0, 0, 0)));
        Assert.Equal(InterlinkErrorKind.OutOfRange, ex.Kind);
        Assert.Equal(0, writer.WrittenCount);
    }
}

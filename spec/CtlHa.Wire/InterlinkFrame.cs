using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using MessagePack;

namespace CtlHa.Wire;

/// <summary>
/// Interlink framing (spec/PROTOCOL.md §2): <c>[u32 big-endian length][length bytes = one MessagePack union]</c>.
/// The length is checked against the limit before its bytes are awaited; a frame is accepted only if the
/// schema walk and MessagePack consumed it exactly and the message's <see cref="InterlinkMessage.Validate"/> passed.
/// </summary>
public static class InterlinkFrame
{
    /// <summary>Options for every (de)serialization: hash-collision-resistant, depth-limited (csharp-anchors §7.3).</summary>
    public static MessagePackSerializerOptions Options { get; } =
        MessagePackSerializerOptions.Standard.WithSecurity(MessagePackSecurity.UntrustedData);

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_scratch;

    /// <summary>
    /// Resumable frame reader. Returns false (buffer untouched) until a whole frame is present; then
    /// decodes it, advances <paramref name="buffer"/> past it and returns true. Throws
    /// <see cref="InterlinkProtocolException"/> for a bad length (as soon as the 4 prefix bytes are in) or a bad payload.
    /// </summary>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, [NotNullWhen(true)] out InterlinkMessage? message) =>
        TryReadFrame(ref buffer, WireLimits.MaxFrameLength, out message);

    /// <inheritdoc cref="TryReadFrame(ref ReadOnlySequence{byte}, out InterlinkMessage?)"/>
    /// <param name="buffer">Bytes received and not yet consumed.</param>
    /// <param name="maxFrameLength">This node's receive limit (≤ <see cref="WireLimits.MaxFrameLength"/>).</param>
    /// <param name="message">The decoded, validated message.</param>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, int maxFrameLength, [NotNullWhen(true)] out InterlinkMessage? message)
    {
        message = null;
        if (!TryReadLength(buffer, maxFrameLength, out var length))
        {
            return false;
        }

        if (buffer.Length - WireLimits.LengthPrefixSize < length)
        {
            return false;
        }

        var payload = buffer.Slice(WireLimits.LengthPrefixSize, length);
        message = DecodePayload(payload);
        buffer = buffer.Slice(payload.End);
        return true;
    }

    /// <summary>
    /// Reads and checks the length prefix once 4 bytes are present. Exposed so transports can report
    /// an oversized frame before buffering it.
    /// </summary>
    public static bool TryReadLength(in ReadOnlySequence<byte> buffer, int maxFrameLength, out int length)
    {
        length = 0;
        if (buffer.Length < WireLimits.LengthPrefixSize)
        {
            return false;
        }

        Span<byte> prefix = stackalloc byte[WireLimits.LengthPrefixSize];
        buffer.Slice(0, WireLimits.LengthPrefixSize).CopyTo(prefix);
        var declared = BinaryPrimitives.ReadUInt32BigEndian(prefix);
        if (declared == 0)
        {
            throw new InterlinkProtocolException(InterlinkErrorKind.Malformed, "frame length 0");
        }

        if (declared > (uint)Math.Min(maxFrameLength, WireLimits.MaxFrameLength))
        {
            throw new InterlinkProtocolException(InterlinkErrorKind.Oversized, $"frame length {declared} exceeds the limit {Math.Min(maxFrameLength, WireLimits.MaxFrameLength)}");
        }

        length = (int)declared;
        return true;
    }

    /// <summary>Decodes one frame payload (without the prefix). Throws <see cref="InterlinkProtocolException"/>.</summary>
    public static InterlinkMessage DecodePayload(ReadOnlySequence<byte> payload)
    {
        try
        {
            var walker = new MessagePackReader(payload);
            MessageShapes.Check(ref walker);
            if (!walker.End)
            {
                throw new InterlinkProtocolException(InterlinkErrorKind.TrailingBytes, $"{payload.Length - walker.Consumed} bytes after the message");
            }

            var reader = new MessagePackReader(payload);
            var message = MessagePackSerializer.Deserialize<InterlinkMessage>(ref reader, Options)
                ?? throw new InterlinkProtocolException(InterlinkErrorKind.Malformed, "nil message");
            if (!reader.End)
            {
                throw new InterlinkProtocolException(InterlinkErrorKind.TrailingBytes, $"{payload.Length - reader.Consumed} bytes after the message");
            }

            message.Validate();
            return message;
        }
        catch (EndOfStreamException ex)
        {
            throw new InterlinkProtocolException(InterlinkErrorKind.Truncated, "message ends before its structure does", ex);
        }
        catch (MessagePackSerializationException ex) when (ex.InnerException is EndOfStreamException)
        {
            throw new InterlinkProtocolException(InterlinkErrorKind.Truncated, "message ends before its structure does", ex);
        }
        catch (MessagePackSerializationException ex) when (ex.InnerException is InterlinkProtocolException inner)
        {
            throw new InterlinkProtocolException(inner.Kind, inner.Message, ex);
        }
        catch (MessagePackSerializationException ex)
        {
            throw new InterlinkProtocolException(InterlinkErrorKind.Malformed, "malformed MessagePack: " + (ex.InnerException?.Message ?? ex.Message), ex);
        }
        catch (OverflowException ex)
        {
            throw new InterlinkProtocolException(InterlinkErrorKind.Malformed, "integer does not fit its field", ex);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IndexOutOfRangeException or InvalidCastException)
        {
            // E.g. a str32/bin32 length beyond int range makes the reader's slicing throw; untrusted bytes must
            // only ever produce a protocol error.
            throw new InterlinkProtocolException(InterlinkErrorKind.Malformed, "malformed MessagePack: " + ex.Message, ex);
        }
    }

    /// <inheritdoc cref="DecodePayload(ReadOnlySequence{byte})"/>
    public static InterlinkMessage DecodePayload(ReadOnlyMemory<byte> payload) => DecodePayload(new ReadOnlySequence<byte>(payload));

    /// <summary>
    /// Validates <paramref name="message"/>, then writes prefix + payload. Throws
    /// <see cref="InterlinkProtocolException"/> (OutOfRange/Malformed from Validate, Oversized if the payload exceeds
    /// <paramref name="maxFrameLength"/>, which is the peer's announced limit). Returns the bytes written.
    /// </summary>
    public static int WriteFrame(IBufferWriter<byte> writer, InterlinkMessage message, int maxFrameLength = WireLimits.MaxFrameLength)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(message);
        message.Validate();
        var scratch = t_scratch ??= new ArrayBufferWriter<byte>(4096);
        scratch.ResetWrittenCount();
        MessagePackSerializer.Serialize(scratch, message, Options);
        var length = scratch.WrittenCount;
        var limit = Math.Min(maxFrameLength, WireLimits.MaxFrameLength);
        if (length > limit)
        {
            throw new InterlinkProtocolException(InterlinkErrorKind.Oversized, $"{message.GetType().Name} encodes to {length} bytes, over the limit {limit}");
        }

        var span = writer.GetSpan(WireLimits.LengthPrefixSize + length);
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)length);
        scratch.WrittenSpan.CopyTo(span[WireLimits.LengthPrefixSize..]);
        writer.Advance(WireLimits.LengthPrefixSize + length);
        if (scratch.Capacity > 256 * 1024)
        {
            t_scratch = null; // don't pin a 1 MiB buffer per thread after a rare large frame
        }

        return WireLimits.LengthPrefixSize + length;
    }

    /// <summary>The whole frame (prefix + payload) as a new array; for tests, vectors and the handshake.</summary>
    public static byte[] Encode(InterlinkMessage message, int maxFrameLength = WireLimits.MaxFrameLength)
    {
        var writer = new ArrayBufferWriter<byte>();
        WriteFrame(writer, message, maxFrameLength);
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>The union key of a message type (PROTOCOL.md §3).</summary>
    public static int UnionKeyOf(Type messageType) => MessageShapes.UnionKeys[messageType];

    /// <summary>Every message type with its union key.</summary>
    public static IReadOnlyDictionary<Type, int> UnionKeys => MessageShapes.UnionKeys;
}

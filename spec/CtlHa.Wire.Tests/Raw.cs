using System.Buffers;
using System.Buffers.Binary;
using MessagePack;

namespace CtlHa.Wire.Tests;

/// <summary>Hand-built (possibly hostile) frames.</summary>
public static class Raw
{
    public delegate void Body(ref MessagePackWriter writer);

    public static byte[] Payload(Body body)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        body(ref writer);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] Frame(byte[] payload)
    {
        var frame = new byte[4 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)payload.Length);
        payload.CopyTo(frame, 4);
        return frame;
    }

    public static byte[] Frame(Body body) => Frame(Payload(body));

    public static byte[] PayloadOf(InterlinkMessage message) => InterlinkFrame.Encode(message)[4..];

    public static InterlinkErrorKind KindOf(byte[] frame, int maxFrameLength = WireLimits.MaxFrameLength)
    {
        var buffer = new ReadOnlySequence<byte>(frame);
        var ex = Assert.Throws<InterlinkProtocolException>(() => InterlinkFrame.TryReadFrame(ref buffer, maxFrameLength, out _));
        return ex.Kind;
    }
}

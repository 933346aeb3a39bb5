namespace CtlHa.Wire;

/// <summary>Why a frame or message was refused (spec/PROTOCOL.md §7). Every kind drops the link.</summary>
public enum InterlinkErrorKind
{
    /// <summary>The union key names no message type of this protocol version.</summary>
    UnknownType,

    /// <summary>The MessagePack object ends before its declared structure (or the stream ended mid-frame).</summary>
    Truncated,

    /// <summary>The declared frame length exceeds the limit.</summary>
    Oversized,

    /// <summary>Bytes are left in the frame after one complete MessagePack object.</summary>
    TrailingBytes,

    /// <summary>Not well-formed for the schema: wrong MessagePack type, wrong field count, nil where a value is required, zero frame length.</summary>
    Malformed,

    /// <summary>Well-formed, but a field is outside its documented range.</summary>
    OutOfRange,
}

/// <summary>A peer protocol violation on the interlink. The receiver drops the link and logs <see cref="Exception.Message"/>.</summary>
public sealed class InterlinkProtocolException : Exception
{
    public InterlinkProtocolException(InterlinkErrorKind kind, string message)
        : base(message) => Kind = kind;

    public InterlinkProtocolException(InterlinkErrorKind kind, string message, Exception innerException)
        : base(message, innerException) => Kind = kind;

    public InterlinkProtocolException()
        : this(InterlinkErrorKind.Malformed, "Malformed interlink frame")
    {
    }

    public InterlinkProtocolException(string message)
        : this(InterlinkErrorKind.Malformed, message)
    {
    }

    public InterlinkProtocolException(string message, Exception innerException)
        : this(InterlinkErrorKind.Malformed, message, innerException)
    {
    }

    public InterlinkErrorKind Kind { get; }
}

namespace CtlHa.Initiator;

/// <summary>Base of every failure the initiator reports as an exception (SCSI errors are values, not exceptions).</summary>
public class IscsiException : Exception
{
    public IscsiException()
    {
    }

    public IscsiException(string message)
        : base(message)
    {
    }

    public IscsiException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The target broke the protocol (bad lengths, unexpected PDU, unknown tag ...).</summary>
public sealed class IscsiProtocolException : IscsiException
{
    public IscsiProtocolException(string message)
        : base(message)
    {
    }
}

/// <summary>A header or data digest did not match (RFC 7143 §13.12).</summary>
public sealed class IscsiDigestException : IscsiException
{
    public IscsiDigestException(string message)
        : base(message)
    {
    }
}

/// <summary>The TCP connection ended or was dropped; outstanding commands fail with this.</summary>
public sealed class IscsiConnectionLostException : IscsiException
{
    public IscsiConnectionLostException(string message)
        : base(message)
    {
    }

    public IscsiConnectionLostException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A deadline passed before the target answered.</summary>
public sealed class IscsiTimeoutException : IscsiException
{
    public IscsiTimeoutException(string message)
        : base(message)
    {
    }
}

/// <summary>Login failed: a non-zero Status-Class, or a negotiation the initiator cannot accept (RFC 7143 §11.13.5).</summary>
public sealed class IscsiLoginException : IscsiException
{
    public IscsiLoginException(string message, byte statusClass = 0, byte statusDetail = 0)
        : base(message)
    {
        StatusClass = statusClass;
        StatusDetail = statusDetail;
    }

    public byte StatusClass { get; }

    public byte StatusDetail { get; }
}

/// <summary>The target answered a PDU of ours with Reject (RFC 7143 §11.17).</summary>
public sealed class IscsiRejectException : IscsiException
{
    public IscsiRejectException(byte reason)
        : base($"Target rejected the PDU, reason 0x{reason:X2}.")
    {
        Reason = reason;
    }

    public byte Reason { get; }
}

/// <summary>The command was ended by a task management function before its status arrived.</summary>
public sealed class IscsiTaskAbortedException : IscsiException
{
    public IscsiTaskAbortedException(string message)
        : base(message)
    {
    }
}

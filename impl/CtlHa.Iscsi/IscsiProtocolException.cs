using CtlHa.Iscsi.Pdus;

namespace CtlHa.Iscsi;

/// <summary>RFC 7143 §11.17.1 Reject reasons.</summary>
public enum RejectReason : byte
{
    DataDigestError = 0x02,
    SnackReject = 0x03,
    ProtocolError = 0x04,
    CommandNotSupported = 0x05,
    ImmediateCommandReject = 0x06,
    TaskInProgress = 0x07,
    InvalidDataAck = 0x08,
    InvalidPduField = 0x09,
    LongOperationReject = 0x0A,
    WaitingForLogout = 0x0C,
}

/// <summary>
/// A peer protocol violation (house style: typed, kept apart from SCSI errors and transport ends).
/// Non-fatal ones are answered with a Reject carrying <see cref="OffendingHeader"/>; fatal ones
/// (lengths or headers that can no longer be trusted) also drop the connection.
/// </summary>
public sealed class IscsiProtocolException : Exception
{
    public IscsiProtocolException(RejectReason reason, string message, BhsBuffer offendingHeader, bool fatal)
        : base(message)
    {
        Reason = reason;
        OffendingHeader = offendingHeader;
        HasHeader = true;
        IsFatal = fatal;
    }

    public IscsiProtocolException(string message)
        : base(message)
    {
        Reason = RejectReason.ProtocolError;
        IsFatal = true;
    }

    public IscsiProtocolException()
        : this("iSCSI protocol error")
    {
    }

    public IscsiProtocolException(string message, Exception innerException)
        : base(message, innerException)
    {
        Reason = RejectReason.ProtocolError;
        IsFatal = true;
    }

    public RejectReason Reason { get; }

    public BhsBuffer OffendingHeader { get; }

    public bool HasHeader { get; }

    public bool IsFatal { get; }
}

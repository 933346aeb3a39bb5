using System.Buffers.Binary;

namespace CtlHa.Iscsi.Pdus;

/// <summary>
/// RFC 7143 §11.15 Logout Response: [0] 0x26 | [1] 0x80 | [2] Response | [16] ITT | [24] StatSN | [28] ExpCmdSN | [32] MaxCmdSN |
/// [40..41] Time2Wait | [42..43] Time2Retain.
/// </summary>
public readonly record struct LogoutResponsePdu(LogoutResponse Response, uint InitiatorTaskTag, ushort Time2Wait, ushort Time2Retain)
{
    public void Write(Span<byte> bhs)
    {
        bhs[..Bhs.Length].Clear();
        bhs[0] = (byte)IscsiOpcode.LogoutResponse;
        bhs[1] = 0x80;
        bhs[2] = (byte)Response;
        Bhs.WriteUInt32(bhs, 16, InitiatorTaskTag);
        BinaryPrimitives.WriteUInt16BigEndian(bhs[40..], Time2Wait);
        BinaryPrimitives.WriteUInt16BigEndian(bhs[42..], Time2Retain);
    }
}

/// <summary>RFC 7143 §11.15.1 logout response codes.</summary>
public enum LogoutResponse : byte
{
    Success = 0,
    CidNotFound = 1,
    RecoveryNotSupported = 2,
    CleanupFailed = 3,
}

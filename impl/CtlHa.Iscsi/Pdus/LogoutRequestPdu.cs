using System.Buffers.Binary;

namespace CtlHa.Iscsi.Pdus;

/// <summary>RFC 7143 §11.14 Logout Request: [1] 1 ReasonCode(7) | [16] ITT | [20..21] CID | [24] CmdSN | [28] ExpStatSN.</summary>
public readonly record struct LogoutRequestPdu(bool Immediate, LogoutReason Reason, uint InitiatorTaskTag, ushort Cid, uint CmdSN, uint ExpStatSN)
{
    public static LogoutRequestPdu Parse(ReadOnlySpan<byte> bhs) => new(
        Bhs.IsImmediate(bhs),
        (LogoutReason)(bhs[1] & 0x7F),
        Bhs.ReadUInt32(bhs, 16),
        BinaryPrimitives.ReadUInt16BigEndian(bhs[20..]),
        Bhs.ReadUInt32(bhs, 24),
        Bhs.ReadUInt32(bhs, 28));
}

/// <summary>RFC 7143 §11.14.1 logout reason codes.</summary>
public enum LogoutReason : byte
{
    CloseSession = 0,
    CloseConnection = 1,
    RemoveConnectionForRecovery = 2,
}

using System.Buffers.Binary;

namespace CtlHa.Iscsi.Pdus;

/// <summary>
/// RFC 7143 §11.10 Text Request: [1] F C | [5..7] DSL | [8..15] LUN | [16] ITT | [20] TTT | [24] CmdSN | [28] ExpStatSN.
/// </summary>
public readonly record struct TextRequestPdu(bool Immediate, bool Final, bool Continue, ulong Lun, uint InitiatorTaskTag, uint TargetTransferTag, uint CmdSN, uint ExpStatSN)
{
    public static TextRequestPdu Parse(ReadOnlySpan<byte> bhs) => new(
        Bhs.IsImmediate(bhs),
        (bhs[1] & 0x80) != 0,
        (bhs[1] & 0x40) != 0,
        BinaryPrimitives.ReadUInt64BigEndian(bhs[8..]),
        Bhs.ReadUInt32(bhs, 16),
        Bhs.ReadUInt32(bhs, 20),
        Bhs.ReadUInt32(bhs, 24),
        Bhs.ReadUInt32(bhs, 28));
}

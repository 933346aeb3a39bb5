using System.Buffers.Binary;

namespace CtlHa.Iscsi.Pdus;

/// <summary>
/// RFC 7143 §11.18 NOP-Out: [0] .I 0x00 | [1] F | [5..7] DSL | [8..15] LUN | [16] ITT (0xffffffff: no reply wanted) |
/// [20] TTT (echoes a target ping, else 0xffffffff) | [24] CmdSN | [28] ExpStatSN.
/// </summary>
public readonly record struct NopOutPdu(bool Immediate, ulong Lun, uint InitiatorTaskTag, uint TargetTransferTag, uint CmdSN, uint ExpStatSN)
{
    public static NopOutPdu Parse(ReadOnlySpan<byte> bhs) => new(
        Bhs.IsImmediate(bhs),
        BinaryPrimitives.ReadUInt64BigEndian(bhs[8..]),
        Bhs.ReadUInt32(bhs, 16),
        Bhs.ReadUInt32(bhs, 20),
        Bhs.ReadUInt32(bhs, 24),
        Bhs.ReadUInt32(bhs, 28));
}

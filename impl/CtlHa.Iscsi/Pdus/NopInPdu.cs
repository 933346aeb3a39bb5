using System.Buffers.Binary;

namespace CtlHa.Iscsi.Pdus;

/// <summary>
/// RFC 7143 §11.19 NOP-In: [0] 0x20 | [1] 0x80 | [5..7] DSL | [8..15] LUN | [16] ITT (0xffffffff for a target ping) |
/// [20] TTT (0xffffffff for a reply) | [24] StatSN | [28] ExpCmdSN | [32] MaxCmdSN.
/// </summary>
public readonly record struct NopInPdu(ulong Lun, uint InitiatorTaskTag, uint TargetTransferTag, int DataSegmentLength)
{
    public void Write(Span<byte> bhs)
    {
        bhs[..Bhs.Length].Clear();
        bhs[0] = (byte)IscsiOpcode.NopIn;
        bhs[1] = 0x80;
        Bhs.SetDataSegmentLength(bhs, DataSegmentLength);
        BinaryPrimitives.WriteUInt64BigEndian(bhs[8..], Lun);
        Bhs.WriteUInt32(bhs, 16, InitiatorTaskTag);
        Bhs.WriteUInt32(bhs, 20, TargetTransferTag);
    }
}

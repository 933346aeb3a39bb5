using System.Buffers.Binary;

namespace CtlHa.Iscsi.Pdus;

/// <summary>
/// RFC 7143 §11.11 Text Response: [0] 0x24 | [1] F C | [5..7] DSL | [8..15] LUN | [16] ITT | [20] TTT (0xffffffff when final) |
/// [24] StatSN | [28] ExpCmdSN | [32] MaxCmdSN.
/// </summary>
public readonly record struct TextResponsePdu(bool Final, bool Continue, ulong Lun, uint InitiatorTaskTag, uint TargetTransferTag, int DataSegmentLength)
{
    public void Write(Span<byte> bhs)
    {
        bhs[..Bhs.Length].Clear();
        bhs[0] = (byte)IscsiOpcode.TextResponse;
        bhs[1] = (byte)((Final ? 0x80 : 0) | (Continue ? 0x40 : 0));
        Bhs.SetDataSegmentLength(bhs, DataSegmentLength);
        BinaryPrimitives.WriteUInt64BigEndian(bhs[8..], Lun);
        Bhs.WriteUInt32(bhs, 16, InitiatorTaskTag);
        Bhs.WriteUInt32(bhs, 20, TargetTransferTag);
    }
}

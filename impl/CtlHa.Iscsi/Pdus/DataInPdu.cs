using System.Buffers.Binary;
using CtlHa.Core;

namespace CtlHa.Iscsi.Pdus;

/// <summary>
/// RFC 7143 §11.7 SCSI Data-In: [0] 0x25 | [1] F A . . . O U S | [3] Status (valid with S) | [5..7] DSL | [8..15] LUN |
/// [16] ITT | [20] TTT (0xffffffff) | [24] StatSN (valid with S) | [28] ExpCmdSN | [32] MaxCmdSN | [36] DataSN |
/// [40] Buffer Offset | [44] Residual Count (valid with S).
/// </summary>
public readonly record struct DataInPdu(
    bool Final,
    bool HasStatus,
    ScsiStatus Status,
    ResidualKind Residual,
    ulong Lun,
    uint InitiatorTaskTag,
    uint DataSN,
    uint BufferOffset,
    uint ResidualCount,
    int DataSegmentLength)
{
    public void Write(Span<byte> bhs)
    {
        bhs[..Bhs.Length].Clear();
        bhs[0] = (byte)IscsiOpcode.DataIn;
        byte flags = 0;
        if (Final || HasStatus)
        {
            flags |= 0x80;
        }
        if (HasStatus)
        {
            flags |= (byte)(0x01 | (byte)Residual);
            bhs[3] = (byte)Status;
            Bhs.WriteUInt32(bhs, 44, ResidualCount);
        }
        bhs[1] = flags;
        Bhs.SetDataSegmentLength(bhs, DataSegmentLength);
        BinaryPrimitives.WriteUInt64BigEndian(bhs[8..], Lun);
        Bhs.WriteUInt32(bhs, 16, InitiatorTaskTag);
        Bhs.WriteUInt32(bhs, 20, Bhs.ReservedTag);
        Bhs.WriteUInt32(bhs, 36, DataSN);
        Bhs.WriteUInt32(bhs, 40, BufferOffset);
    }
}

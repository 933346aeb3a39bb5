using System.Buffers.Binary;

namespace CtlHa.Iscsi.Pdus;

/// <summary>
/// RFC 7143 §11.8 Ready To Transfer (R2T): [0] 0x31 | [1] 0x80 | [8..15] LUN | [16] ITT | [20] TTT | [24] StatSN |
/// [28] ExpCmdSN | [32] MaxCmdSN | [36] R2TSN | [40] Buffer Offset | [44] Desired Data Transfer Length.
/// </summary>
public readonly record struct ReadyToTransferPdu(ulong Lun, uint InitiatorTaskTag, uint TargetTransferTag, uint R2TSN, uint BufferOffset, uint DesiredDataTransferLength)
{
    public void Write(Span<byte> bhs)
    {
        bhs[..Bhs.Length].Clear();
        bhs[0] = (byte)IscsiOpcode.ReadyToTransfer;
        bhs[1] = 0x80;
        BinaryPrimitives.WriteUInt64BigEndian(bhs[8..], Lun);
        Bhs.WriteUInt32(bhs, 16, InitiatorTaskTag);
        Bhs.WriteUInt32(bhs, 20, TargetTransferTag);
        Bhs.WriteUInt32(bhs, 36, R2TSN);
        Bhs.WriteUInt32(bhs, 40, BufferOffset);
        Bhs.WriteUInt32(bhs, 44, DesiredDataTransferLength);
    }
}

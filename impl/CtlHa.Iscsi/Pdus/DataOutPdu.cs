namespace CtlHa.Iscsi.Pdus;

/// <summary>
/// RFC 7143 §11.7 SCSI Data-Out: [1] F | [5..7] DSL | [8..15] LUN | [16] ITT | [20] TTT | [28] ExpStatSN |
/// [36] DataSN | [40] Buffer Offset.
/// </summary>
public readonly record struct DataOutPdu(bool Final, uint InitiatorTaskTag, uint TargetTransferTag, uint ExpStatSN, uint DataSN, uint BufferOffset)
{
    public static DataOutPdu Parse(ReadOnlySpan<byte> bhs) => new(
        Bhs.IsFinal(bhs),
        Bhs.ReadUInt32(bhs, 16),
        Bhs.ReadUInt32(bhs, 20),
        Bhs.ReadUInt32(bhs, 28),
        Bhs.ReadUInt32(bhs, 36),
        Bhs.ReadUInt32(bhs, 40));
}

using CtlHa.Core;

namespace CtlHa.Iscsi.Pdus;

/// <summary>
/// RFC 7143 §11.4 SCSI Response: [0] 0x21 | [1] 1 . . o u O U . | [2] Response | [3] Status | [5..7] DSL | [16] ITT |
/// [20] SNACK Tag | [24] StatSN | [28] ExpCmdSN | [32] MaxCmdSN | [36] ExpDataSN | [40] Bidi Read Residual | [44] Residual Count.
/// Data segment: SenseLength(2) + sense data (§11.4.7).
/// </summary>
public readonly record struct ScsiResponsePdu(uint InitiatorTaskTag, ScsiStatus Status, ResidualKind Residual, uint ResidualCount, uint ExpDataSN, int DataSegmentLength)
{
    /// <summary>iSCSI Response field: command completed at target.</summary>
    public const byte CommandCompleted = 0x00;

    public void Write(Span<byte> bhs)
    {
        bhs[..Bhs.Length].Clear();
        bhs[0] = (byte)IscsiOpcode.ScsiResponse;
        bhs[1] = (byte)(0x80 | (byte)Residual);
        bhs[2] = CommandCompleted;
        bhs[3] = (byte)Status;
        Bhs.SetDataSegmentLength(bhs, DataSegmentLength);
        Bhs.WriteUInt32(bhs, 16, InitiatorTaskTag);
        Bhs.WriteUInt32(bhs, 36, ExpDataSN);
        Bhs.WriteUInt32(bhs, 44, ResidualCount);
    }
}

/// <summary>The O and U residual bits (RFC 7143 §11.4.5), as they sit in byte 1 of SCSI Response and Data-In.</summary>
public enum ResidualKind : byte
{
    None = 0,
    Underflow = 0x02,
    Overflow = 0x04,
}

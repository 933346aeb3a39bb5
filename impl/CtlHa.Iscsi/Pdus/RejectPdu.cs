namespace CtlHa.Iscsi.Pdus;

/// <summary>
/// RFC 7143 §11.17 Reject: [0] 0x3f | [1] 0x80 | [2] Reason | [5..7] DSL (48) | [16] 0xffffffff | [24] StatSN |
/// [28] ExpCmdSN | [32] MaxCmdSN | [36] DataSN/R2TSN. Data segment: the rejected PDU's BHS.
/// </summary>
public readonly record struct RejectPdu(RejectReason Reason)
{
    public void Write(Span<byte> bhs)
    {
        bhs[..Bhs.Length].Clear();
        bhs[0] = (byte)IscsiOpcode.Reject;
        bhs[1] = 0x80;
        bhs[2] = (byte)Reason;
        Bhs.SetDataSegmentLength(bhs, Bhs.Length);
        Bhs.WriteUInt32(bhs, 16, Bhs.ReservedTag);
    }
}

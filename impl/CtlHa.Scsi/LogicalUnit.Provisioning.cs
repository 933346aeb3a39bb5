namespace CtlHa.Scsi;

// Thin-provisioning thresholds (SBC-4 §4.7.3.6, 38/07 THIN PROVISIONING SOFT THRESHOLD REACHED).
public sealed partial class LogicalUnit
{
    private long _thresholdInformation;

    /// <summary>
    /// INFORMATION of the pending 38/07: the byte offset of the threshold descriptor that was crossed in the Logical
    /// Block Provisioning mode page (as CTL). Set before the UA; the HA layer sets it from a peer's UnitAttention message.
    /// </summary>
    public ulong ThresholdInformation
    {
        get => (ulong)Interlocked.Read(ref _thresholdInformation);
        set => Interlocked.Exchange(ref _thresholdInformation, (long)value);
    }
}

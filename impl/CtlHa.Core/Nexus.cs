namespace CtlHa.Core;

/// <summary>
/// An I_T nexus as SAM-5 §4.7 defines it: an initiator port and a target port.
/// For iSCSI (RFC 7143 §4.4.4) the initiator port name is "InitiatorName,i,0x&lt;ISID&gt;" and
/// the target port name is "TargetName,t,0x&lt;TPGT&gt;".
/// </summary>
/// <param name="Id">Process-unique id assigned by the frontend; cheap dictionary key.</param>
/// <param name="InitiatorName">iSCSI InitiatorName (the PR TransportID, SPC-5 §7.6.4.6).</param>
/// <param name="Isid">48-bit ISID.</param>
/// <param name="TargetName">iSCSI TargetName.</param>
/// <param name="RelativeTargetPortId">SPC-5 relative target port identifier (never 0).</param>
public sealed record ITNexus(long Id, string InitiatorName, ulong Isid, string TargetName, ushort RelativeTargetPortId)
{
    public string InitiatorPortName => $"{InitiatorName},i,0x{Isid:x12}";

    public override string ToString() => $"{InitiatorName}/{Isid:x12}@{RelativeTargetPortId}";
}

/// <summary>SAM-5 §4.7.2 single-level LUN encoding (peripheral or flat addressing).</summary>
public static class LunAddress
{
    /// <summary>Decodes an 8-byte LUN field (big-endian ulong) into a LUN number, or -1 if unsupported.</summary>
    public static int Decode(ulong lun)
    {
        if ((lun & 0x0000_FFFF_FFFF_FFFFUL) != 0)
        {
            return -1;
        }
        int method = (int)(lun >> 62);
        int value = (int)((lun >> 48) & 0x3FFF);
        return method switch
        {
            0 when value < 256 => value, // peripheral device addressing, bus 0
            1 => value,                  // flat space addressing
            _ => -1,
        };
    }

    /// <summary>Encodes a LUN number: peripheral addressing below 256, flat space above (as Linux and libiscsi expect).</summary>
    public static ulong Encode(int lun) =>
        lun < 256 ? (ulong)lun << 48 : ((ulong)(0x4000 | (lun & 0x3FFF))) << 48;
}

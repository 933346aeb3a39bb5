using System.Buffers.Binary;

namespace CtlHa.Initiator.Scsi;

/// <summary>
/// The 8-byte LUN field, SAM-5 §4.7: LUNs below 256 use peripheral device addressing (byte0 = 00h, byte1 = LUN);
/// up to 16383 use flat space addressing (byte0 = 40h | LUN bits 13-8, byte1 = LUN bits 7-0).
/// </summary>
public static class ScsiLun
{
    public const int MaxFlatLun = 0x3FFF;

    public static ulong Encode(int lun)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(lun);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(lun, MaxFlatLun);
        Span<byte> field = stackalloc byte[8];
        if (lun < 256)
        {
            field[1] = (byte)lun;
        }
        else
        {
            field[0] = (byte)(0x40 | (lun >> 8));
            field[1] = (byte)lun;
        }

        return BinaryPrimitives.ReadUInt64BigEndian(field);
    }

    /// <summary>The LUN number of a peripheral or flat-space LUN field; null for other address methods.</summary>
    public static int? Decode(ulong field)
    {
        var byte0 = (byte)(field >> 56);
        var byte1 = (byte)(field >> 48);
        return (byte0 >> 6) switch
        {
            0 when byte0 == 0 => byte1,
            1 => ((byte0 & 0x3F) << 8) | byte1,
            _ => null,
        };
    }
}

using System.Buffers.Binary;

namespace CtlHa.Initiator.Scsi;

/// <summary>
/// Decoded sense data, SPC-5 §4.4. Fixed format (response code 70h/71h): byte2 low nibble key, bytes 3-6
/// INFORMATION (valid when byte0 bit7), byte7 additional length, 12 ASC, 13 ASCQ, 15-17 sense-key specific.
/// Descriptor format (72h/73h): byte1 key, 2 ASC, 3 ASCQ, 7 additional length, then descriptors
/// (type 00h = information, 8-byte value at descriptor offset 4).
/// </summary>
public sealed record SenseData(
    byte ResponseCode,
    SenseKey Key,
    byte Asc,
    byte Ascq,
    ulong? Information,
    bool Deferred,
    bool DescriptorFormat)
{
    public ushort AdditionalSenseCode => (ushort)((Asc << 8) | Ascq);

    public static bool TryParse(ReadOnlySpan<byte> sense, out SenseData? data)
    {
        data = null;
        if (sense.Length < 2)
        {
            return false;
        }

        var responseCode = (byte)(sense[0] & 0x7F);
        switch (responseCode)
        {
            case 0x70 or 0x71:
            {
                if (sense.Length < 3)
                {
                    return false;
                }

                ulong? information = (sense[0] & 0x80) != 0 && sense.Length >= 7
                    ? BinaryPrimitives.ReadUInt32BigEndian(sense[3..])
                    : null;
                data = new SenseData(responseCode, (SenseKey)(sense[2] & 0x0F),
                    sense.Length > 12 ? sense[12] : (byte)0, sense.Length > 13 ? sense[13] : (byte)0,
                    information, responseCode == 0x71, DescriptorFormat: false);
                return true;
            }

            case 0x72 or 0x73:
            {
                if (sense.Length < 4)
                {
                    return false;
                }

                ulong? information = null;
                if (sense.Length >= 8)
                {
                    var end = Math.Min(sense.Length, 8 + sense[7]);
                    var position = 8;
                    while (position + 2 <= end)
                    {
                        var type = sense[position];
                        var length = sense[position + 1];
                        if (type == 0x00 && length >= 0x0A && position + 12 <= end)
                        {
                            information = BinaryPrimitives.ReadUInt64BigEndian(sense[(position + 4)..]);
                        }

                        position += 2 + length;
                    }
                }

                data = new SenseData(responseCode, (SenseKey)(sense[1] & 0x0F), sense[2], sense[3],
                    information, responseCode == 0x73, DescriptorFormat: true);
                return true;
            }

            default:
                return false;
        }
    }

    public override string ToString() =>
        $"{Key}/{Asc:X2}h/{Ascq:X2}h" + (Information is { } info ? $" info=0x{info:X}" : "") + (Deferred ? " deferred" : "");
}

using System.Buffers.Binary;
using CtlHa.Core;

namespace CtlHa.Ha;

/// <summary>Sense data bytes ↔ <see cref="Sense"/> values, for FinishIo and SerializeFailed.</summary>
internal static class SenseBytes
{
    /// <summary>
    /// Parses fixed (SPC-5 §4.4.3: 0 response code, 2 key, 3..6 INFORMATION, 12 ASC, 13 ASCQ, 15..17 SKS) or descriptor
    /// format (§4.4.2: 1 key, 2 ASC, 3 ASCQ, descriptors from 8: type 00h information, 02h sense key specific).
    /// </summary>
    public static (Sense Sense, bool Descriptor)? Parse(ReadOnlySpan<byte> data)
    {
        if (data.Length < 8)
        {
            return null;
        }
        int code = data[0] & 0x7F;
        if (code is 0x72 or 0x73)
        {
            var sense = new Sense((SenseKey)(data[1] & 0x0F), data[2], data[3]);
            int end = Math.Min(data.Length, 8 + data[7]);
            for (int i = 8; i + 2 <= end;)
            {
                int type = data[i];
                int len = data[i + 1];
                if (i + 2 + len > end)
                {
                    break;
                }
                if (type == 0x00 && len >= 10)
                {
                    sense = sense.WithInformation(BinaryPrimitives.ReadUInt64BigEndian(data[(i + 4)..]));
                }
                else if (type == 0x02 && len >= 6 && (data[i + 4] & 0x80) != 0)
                {
                    sense = sense.WithSks((uint)(data[i + 4] << 16 | data[i + 5] << 8 | data[i + 6]));
                }
                i += 2 + len;
            }
            return (sense, true);
        }
        if (code is 0x70 or 0x71 && data.Length >= 14)
        {
            var sense = new Sense((SenseKey)(data[2] & 0x0F), data[12], data[13]);
            if ((data[0] & 0x80) != 0)
            {
                sense = sense.WithInformation(BinaryPrimitives.ReadUInt32BigEndian(data[3..]));
            }
            if (data.Length >= 18 && (data[15] & 0x80) != 0)
            {
                sense = sense.WithSks((uint)(data[15] << 16 | data[16] << 8 | data[17]));
            }
            return (sense, false);
        }
        return null;
    }

    /// <summary>The status and sense bytes an outcome travels as.</summary>
    public static (byte Status, byte[] Sense) Encode(ScsiOutcome outcome)
    {
        if (outcome.Status == ScsiStatus.CheckCondition && outcome.Sense is { } sense)
        {
            return ((byte)outcome.Status, sense.ToArray(outcome.DescriptorSense));
        }
        return ((byte)outcome.Status, []);
    }

    /// <summary>The outcome a status and sense received from the peer stand for.</summary>
    public static ScsiOutcome Decode(byte status, ReadOnlySpan<byte> sense, bool reportTaskAborted)
    {
        var scsiStatus = (ScsiStatus)status;
        if (scsiStatus == ScsiStatus.TaskAborted)
        {
            return ScsiOutcome.Aborted(reportTaskAborted);
        }
        if (scsiStatus == ScsiStatus.CheckCondition && Parse(sense) is { } parsed)
        {
            return ScsiOutcome.Check(parsed.Sense, parsed.Descriptor);
        }
        if (scsiStatus == ScsiStatus.CheckCondition)
        {
            return ScsiOutcome.Check(new Sense(SenseKey.HardwareError, 0x44, 0x00));
        }
        return new ScsiOutcome(scsiStatus);
    }
}

using System.Buffers.Binary;

namespace CtlHa.Core;

/// <summary>
/// A sense condition as a value (house style: SCSI errors are values, never exceptions).
/// Encoded as fixed (SPC-5 §4.4.3, response code 70h) or descriptor (§4.4.2, 72h) format
/// depending on the control mode page D_SENSE bit.
/// </summary>
public readonly record struct Sense(SenseKey Key, byte Asc, byte Ascq)
{
    /// <summary>INFORMATION field, when valid.</summary>
    public ulong? Information { get; init; }

    /// <summary>3-byte sense-key-specific field (SKSV is bit 7 of the first byte), when valid.</summary>
    public uint? SenseKeySpecific { get; init; }

    /// <summary>Field pointer SKS for ILLEGAL REQUEST (SPC-5 §4.4.2.4.2): C/D, BPV, bit pointer, field pointer.</summary>
    public static uint FieldPointer(bool inCdb, ushort byteOffset, int bitPointer = -1)
    {
        uint v = 0x800000u | (inCdb ? 0x400000u : 0u) | byteOffset;
        if (bitPointer >= 0)
        {
            v |= 0x080000u | ((uint)(bitPointer & 7) << 16);
        }
        return v;
    }

    public Sense WithInformation(ulong info) => this with { Information = info };

    public Sense WithSks(uint sks) => this with { SenseKeySpecific = sks };

    public const int FixedLength = 18;

    /// <summary>Encodes into <paramref name="dest"/> and returns the length written (18 fixed, 8+ descriptor).</summary>
    public int Encode(Span<byte> dest, bool descriptorFormat)
    {
        if (!descriptorFormat)
        {
            dest[..FixedLength].Clear();
            dest[0] = 0x70;
            dest[2] = (byte)Key;
            if (Information is { } info)
            {
                dest[0] |= 0x80; // VALID
                BinaryPrimitives.WriteUInt32BigEndian(dest[3..], (uint)info);
            }
            dest[7] = FixedLength - 8; // ADDITIONAL SENSE LENGTH
            dest[12] = Asc;
            dest[13] = Ascq;
            if (SenseKeySpecific is { } sks)
            {
                dest[15] = (byte)((sks >> 16) | 0x80);
                dest[16] = (byte)(sks >> 8);
                dest[17] = (byte)sks;
            }
            return FixedLength;
        }

        int len = 8;
        dest[..8].Clear();
        dest[0] = 0x72;
        dest[1] = (byte)Key;
        dest[2] = Asc;
        dest[3] = Ascq;
        if (Information is { } information)
        {
            // Information descriptor (type 00h), SPC-5 §4.4.2.2.
            dest.Slice(len, 12).Clear();
            dest[len] = 0x00;
            dest[len + 1] = 0x0A;
            dest[len + 2] = 0x80;
            BinaryPrimitives.WriteUInt64BigEndian(dest[(len + 4)..], information);
            len += 12;
        }
        if (SenseKeySpecific is { } sksd)
        {
            // Sense key specific descriptor (type 02h), SPC-5 §4.4.2.3.
            dest.Slice(len, 8).Clear();
            dest[len] = 0x02;
            dest[len + 1] = 0x06;
            dest[len + 4] = (byte)((sksd >> 16) | 0x80);
            dest[len + 5] = (byte)(sksd >> 8);
            dest[len + 6] = (byte)sksd;
            len += 8;
        }
        dest[7] = (byte)(len - 8);
        return len;
    }

    public byte[] ToArray(bool descriptorFormat)
    {
        Span<byte> buf = stackalloc byte[64];
        int n = Encode(buf, descriptorFormat);
        return buf[..n].ToArray();
    }

    public override string ToString() => $"{(byte)Key:X1}/{Asc:X2}/{Ascq:X2}";
}

using System.Buffers.Binary;
using CtlHa.Spec;

namespace CtlHa.Model;

/// <summary>
/// SPC-5 4.4.2 sense-key specific field pointer (SKSV = 1): which CDB byte (C/D = 1) or parameter-list byte
/// (C/D = 0) is wrong, and optionally which bit of it (BPV = 1, bit 7..0).
/// </summary>
public readonly record struct FieldPointer(bool InCdb, ushort Field, byte? Bit = null)
{
    public static FieldPointer Cdb(int field, int? bit = null) => new(true, (ushort)field, (byte?)bit);

    public static FieldPointer Parameter(int field, int? bit = null) => new(false, (ushort)field, (byte?)bit);

    public override string ToString() => $"{(InCdb ? "cdb" : "param")}[{Field}]{(Bit is { } b ? $".{b}" : string.Empty)}";
}

/// <summary>A sense condition to report: key/ASC/ASCQ plus the optional INFORMATION and field pointer.</summary>
public readonly record struct SenseCondition(byte Key, byte Asc, byte Ascq, ulong? Information = null, FieldPointer? Pointer = null)
{
    public static implicit operator SenseCondition(GateSense s) => new(s.Key, s.Asc, s.Ascq);

    public override string ToString() => $"{Key:X2}/{Asc:X2}/{Ascq:X2}";
}

/// <summary>Well-known sense conditions (SPC-5 Annex F, with the sense keys CTL uses).</summary>
public static class Senses
{
    public const byte NoSense = 0x0;
    public const byte NotReady = 0x2;
    public const byte IllegalRequest = 0x5;
    public const byte UnitAttention = 0x6;
    public const byte DataProtect = 0x7;
    public const byte Miscompare = 0xE;

    public static SenseCondition InvalidOpcode => new(IllegalRequest, 0x20, 0x00);

    public static SenseCondition LbaOutOfRange(ulong information) => new(IllegalRequest, 0x21, 0x00, information);

    public static SenseCondition InvalidFieldInCdb(int field, int? bit = null) =>
        new(IllegalRequest, 0x24, 0x00, null, FieldPointer.Cdb(field, bit));

    public static SenseCondition InvalidFieldInParameterList(int field, int? bit = null) =>
        new(IllegalRequest, 0x26, 0x00, null, FieldPointer.Parameter(field, bit));

    /// <summary>05/26/00 without a field pointer (CTL UNMAP header errors).</summary>
    public static SenseCondition InvalidParameterList => new(IllegalRequest, 0x26, 0x00);

    public static SenseCondition InvalidReleaseOfPersistentReservation => new(IllegalRequest, 0x26, 0x04);

    public static SenseCondition ParameterListLengthError => new(IllegalRequest, 0x1A, 0x00);

    public static SenseCondition HardwareWriteProtected => new(DataProtect, 0x27, 0x01);

    public static SenseCondition SoftwareWriteProtected => new(DataProtect, 0x27, 0x02);

    public static SenseCondition MiscompareDuringVerify(ulong offset) => new(Miscompare, 0x1D, 0x00, offset);

    public static SenseCondition LunNotSupported => new(IllegalRequest, 0x25, 0x00);

    public static SenseCondition None => new(NoSense, 0x00, 0x00);
}

/// <summary>Builds sense data in either SPC-5 format.</summary>
public static class SenseBuilder
{
    /// <summary>Fixed format size used by the model: 18 bytes (ADDITIONAL SENSE LENGTH = 10).</summary>
    public const int FixedLength = 18;

    /// <summary>
    /// SPC-5 4.4.3 fixed format, current error: [0] 70h|VALID [2] key [3..6] INFORMATION [7] 0Ah
    /// [12] ASC [13] ASCQ [15..17] sense-key specific. INFORMATION that does not fit 32 bits leaves VALID clear.
    /// </summary>
    public static byte[] Fixed(SenseCondition c)
    {
        var s = new byte[FixedLength];
        s[0] = 0x70;
        s[2] = c.Key;
        if (c.Information is { } info && info <= uint.MaxValue)
        {
            s[0] |= 0x80;
            BinaryPrimitives.WriteUInt32BigEndian(s.AsSpan(3), (uint)info);
        }

        s[7] = FixedLength - 8;
        s[12] = c.Asc;
        s[13] = c.Ascq;
        if (c.Pointer is { } p)
        {
            WriteSks(s.AsSpan(15, 3), p);
        }

        return s;
    }

    /// <summary>
    /// SPC-5 4.4.2 descriptor format, current error: [0] 72h [1] key [2] ASC [3] ASCQ [7] additional length,
    /// then the Information descriptor (00h, 12 bytes) and the Sense key specific descriptor (02h, 8 bytes) when present.
    /// </summary>
    public static byte[] Descriptor(SenseCondition c)
    {
        var list = new List<byte> { 0x72, c.Key, c.Asc, c.Ascq, 0, 0, 0, 0 };
        if (c.Information is { } info)
        {
            var d = new byte[12];
            d[0] = 0x00;
            d[1] = 0x0A;
            d[2] = 0x80;
            BinaryPrimitives.WriteUInt64BigEndian(d.AsSpan(4), info);
            list.AddRange(d);
        }

        if (c.Pointer is { } p)
        {
            var d = new byte[8];
            d[0] = 0x02;
            d[1] = 0x06;
            WriteSks(d.AsSpan(4, 3), p);
            list.AddRange(d);
        }

        var s = list.ToArray();
        s[7] = (byte)(s.Length - 8);
        return s;
    }

    public static byte[] Build(SenseCondition c, bool descriptorFormat) => descriptorFormat ? Descriptor(c) : Fixed(c);

    // SPC-5 4.4.2.4.2 field pointer: SKSV | C/D | BPV | BIT POINTER, then FIELD POINTER (2 bytes).
    private static void WriteSks(Span<byte> sks, FieldPointer p)
    {
        sks[0] = 0x80;
        if (p.InCdb)
        {
            sks[0] |= 0x40;
        }

        if (p.Bit is { } bit)
        {
            sks[0] |= (byte)(0x08 | (bit & 0x07));
        }

        BinaryPrimitives.WriteUInt16BigEndian(sks[1..], p.Field);
    }
}

/// <summary>Decoded sense data of either format, for tests and differential comparison.</summary>
public sealed record SenseInfo(bool Descriptor, byte Key, byte Asc, byte Ascq, ulong? Information, FieldPointer? Pointer)
{
    /// <summary>Decodes fixed (70h/71h) or descriptor (72h/73h) sense data. Throws on anything else.</summary>
    public static SenseInfo Decode(ReadOnlySpan<byte> s)
    {
        if (s.Length < 8)
        {
            throw new ArgumentException("Sense data shorter than 8 bytes.", nameof(s));
        }

        var code = s[0] & 0x7F;
        if (code is 0x70 or 0x71)
        {
            ulong? info = (s[0] & 0x80) != 0 ? BinaryPrimitives.ReadUInt32BigEndian(s[3..]) : null;
            var asc = s.Length > 12 ? s[12] : (byte)0;
            var ascq = s.Length > 13 ? s[13] : (byte)0;
            var pointer = s.Length >= 18 ? ReadSks(s.Slice(15, 3)) : null;
            return new SenseInfo(false, (byte)(s[2] & 0x0F), asc, ascq, info, pointer);
        }

        if (code is 0x72 or 0x73)
        {
            ulong? info = null;
            FieldPointer? pointer = null;
            var end = Math.Min(s.Length, 8 + s[7]);
            for (var i = 8; i + 2 <= end;)
            {
                var type = s[i];
                var len = s[i + 1];
                var d = s.Slice(i, Math.Min(2 + len, end - i));
                if (type == 0x00 && d.Length >= 12 && (d[2] & 0x80) != 0)
                {
                    info = BinaryPrimitives.ReadUInt64BigEndian(d[4..]);
                }
                else if (type == 0x02 && d.Length >= 7)
                {
                    pointer = ReadSks(d.Slice(4, 3));
                }

                i += 2 + len;
            }

            return new SenseInfo(true, (byte)(s[1] & 0x0F), s[2], s[3], info, pointer);
        }

        throw new ArgumentException($"Unknown sense response code {s[0]:X2}h.", nameof(s));
    }

    /// <summary>"kk/aa/qq" — the form tests compare.</summary>
    public string Code => $"{Key:X2}/{Asc:X2}/{Ascq:X2}";

    public bool Is(byte key, byte asc, byte ascq) => Key == key && Asc == asc && Ascq == ascq;

    public override string ToString()
    {
        var text = Code;
        if (Information is { } i)
        {
            text += $" info={i}";
        }

        if (Pointer is { } p)
        {
            text += $" sks={p}";
        }

        return text;
    }

    private static FieldPointer? ReadSks(ReadOnlySpan<byte> sks)
    {
        if ((sks[0] & 0x80) == 0)
        {
            return null;
        }

        byte? bit = (sks[0] & 0x08) != 0 ? (byte)(sks[0] & 0x07) : null;
        return new FieldPointer((sks[0] & 0x40) != 0, BinaryPrimitives.ReadUInt16BigEndian(sks[1..]), bit);
    }
}

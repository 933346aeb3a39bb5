using System.Buffers.Binary;
using CtlHa.Spec;

namespace CtlHa.Model.Tests;

/// <summary>CDB builders (SPC-5 / SBC-4 layouts) and fixtures shared by the tests.</summary>
internal static class Cdb
{
    public static byte[] TestUnitReady() => new byte[6];

    public static byte[] RequestSense(byte alloc = 252, bool desc = false) => [0x03, (byte)(desc ? 1 : 0), 0, 0, alloc, 0];

    public static byte[] Inquiry(ushort alloc = 255, bool evpd = false, byte page = 0) =>
        [0x12, (byte)(evpd ? 1 : 0), page, (byte)(alloc >> 8), (byte)alloc, 0];

    public static byte[] Read6(uint lba, byte blocks) => [0x08, (byte)((lba >> 16) & 0x1F), (byte)(lba >> 8), (byte)lba, blocks, 0];

    public static byte[] Write6(uint lba, byte blocks) => [0x0A, (byte)((lba >> 16) & 0x1F), (byte)(lba >> 8), (byte)lba, blocks, 0];

    public static byte[] Read10(uint lba, ushort blocks) => Ten(0x28, lba, blocks);

    public static byte[] Write10(uint lba, ushort blocks) => Ten(0x2A, lba, blocks);

    public static byte[] WriteAndVerify10(uint lba, ushort blocks) => Ten(0x2E, lba, blocks);

    public static byte[] Verify10(uint lba, ushort blocks, int bytchk)
    {
        var c = Ten(0x2F, lba, blocks);
        c[1] = (byte)(bytchk << 1);
        return c;
    }

    public static byte[] PreFetch10(uint lba, ushort blocks) => Ten(0x34, lba, blocks);

    public static byte[] SynchronizeCache10(uint lba, ushort blocks) => Ten(0x35, lba, blocks);

    public static byte[] WriteSame10(uint lba, ushort blocks, bool unmap = false)
    {
        var c = Ten(0x41, lba, blocks);
        c[1] = (byte)(unmap ? 0x08 : 0);
        return c;
    }

    public static byte[] Read12(uint lba, uint blocks) => Twelve(0xA8, lba, blocks);

    public static byte[] Write12(uint lba, uint blocks) => Twelve(0xAA, lba, blocks);

    public static byte[] Read16(ulong lba, uint blocks) => Sixteen(0x88, lba, blocks);

    public static byte[] Write16(ulong lba, uint blocks) => Sixteen(0x8A, lba, blocks);

    public static byte[] WriteSame16(ulong lba, uint blocks, bool unmap = false, bool ndob = false)
    {
        var c = Sixteen(0x93, lba, blocks);
        c[1] = (byte)((unmap ? 0x08 : 0) | (ndob ? 0x01 : 0));
        return c;
    }

    public static byte[] CompareAndWrite(ulong lba, byte blocks)
    {
        var c = Sixteen(0x89, lba, 0);
        c[13] = blocks;
        return c;
    }

    public static byte[] Unmap(ushort paramLen) => [0x42, 0, 0, 0, 0, 0, 0, (byte)(paramLen >> 8), (byte)paramLen, 0];

    public static byte[] UnmapParameters(params (ulong Lba, uint Count)[] ranges)
    {
        var p = new byte[8 + (16 * ranges.Length)];
        BinaryPrimitives.WriteUInt16BigEndian(p, (ushort)(p.Length - 2));
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)(16 * ranges.Length));
        for (var i = 0; i < ranges.Length; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(p.AsSpan(8 + (16 * i)), ranges[i].Lba);
            BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(16 + (16 * i)), ranges[i].Count);
        }

        return p;
    }

    public static byte[] GetLbaStatus(ulong lba, uint alloc = 24)
    {
        var c = Sixteen(0x9E, lba, alloc);
        c[1] = 0x12;
        return c;
    }

    public static byte[] ReadCapacity10() => new byte[10].With(0, 0x25);

    public static byte[] ReadCapacity16(uint alloc = 32)
    {
        var c = Sixteen(0x9E, 0, alloc);
        c[1] = 0x10;
        return c;
    }

    public static byte[] ModeSense6(byte page, byte subpage = 0, int pc = 0, bool dbd = false, byte alloc = 255) =>
        [0x1A, (byte)(dbd ? 0x08 : 0), (byte)((pc << 6) | page), subpage, alloc, 0];

    public static byte[] ModeSense10(byte page, byte subpage = 0, int pc = 0, bool dbd = false, bool llbaa = false, ushort alloc = 4096) =>
        [0x5A, (byte)((dbd ? 0x08 : 0) | (llbaa ? 0x10 : 0)), (byte)((pc << 6) | page), subpage, 0, 0, 0, (byte)(alloc >> 8), (byte)alloc, 0];

    public static byte[] ModeSelect6(byte length, bool rtd = false) => [0x15, (byte)(0x10 | (rtd ? 0x02 : 0)), 0, 0, length, 0];

    public static byte[] ModeSelect10(ushort length) => [0x55, 0x10, 0, 0, 0, 0, 0, (byte)(length >> 8), (byte)length, 0];

    /// <summary>A MODE SELECT(6) parameter list: 4-byte header, no block descriptor, then the page.</summary>
    public static byte[] ModeSelect6Parameters(byte[] page) => [0, 0, 0, 0, .. page];

    public static byte[] Reserve6() => [0x16, 0, 0, 0, 0, 0];

    public static byte[] Release6() => [0x17, 0, 0, 0, 0, 0];

    public static byte[] PrIn(byte serviceAction, ushort alloc = 1024) => [0x5E, serviceAction, 0, 0, 0, 0, 0, (byte)(alloc >> 8), (byte)alloc, 0];

    public static byte[] PrOut(byte serviceAction, PrType type = 0, uint length = 24) =>
        [0x5F, serviceAction, (byte)type, 0, 0, (byte)(length >> 24), (byte)(length >> 16), (byte)(length >> 8), (byte)length, 0];

    public static byte[] PrOutParameters(ulong key, ulong saKey = 0, byte flags = 0)
    {
        var p = new byte[24];
        BinaryPrimitives.WriteUInt64BigEndian(p, key);
        BinaryPrimitives.WriteUInt64BigEndian(p.AsSpan(8), saKey);
        p[20] = flags;
        return p;
    }

    public static byte[] ReportLuns(byte select = 0, uint alloc = 256) =>
        [0xA0, 0, select, 0, 0, 0, (byte)(alloc >> 24), (byte)(alloc >> 16), (byte)(alloc >> 8), (byte)alloc, 0, 0];

    public static byte[] Rtpg(int pdf = 0, uint alloc = 1024) =>
        [0xA3, (byte)((pdf << 5) | 0x0A), 0, 0, 0, 0, (byte)(alloc >> 24), (byte)(alloc >> 16), (byte)(alloc >> 8), (byte)alloc, 0, 0];

    private static byte[] Ten(byte op, uint lba, ushort blocks)
    {
        var c = new byte[10];
        c[0] = op;
        BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt16BigEndian(c.AsSpan(7), blocks);
        return c;
    }

    private static byte[] Twelve(byte op, uint lba, uint blocks)
    {
        var c = new byte[12];
        c[0] = op;
        BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(6), blocks);
        return c;
    }

    private static byte[] Sixteen(byte op, ulong lba, uint blocks)
    {
        var c = new byte[16];
        c[0] = op;
        BinaryPrimitives.WriteUInt64BigEndian(c.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(10), blocks);
        return c;
    }

    private static byte[] With(this byte[] b, int index, byte value)
    {
        b[index] = value;
        return b;
    }
}

internal static class Fixture
{
    public static readonly Nexus A = new("iqn.2026-11.test:a", 0x400001370000, 1, 1);
    public static readonly Nexus B = new("iqn.2026-11.test:b", 0x400001370001, 1, 1);
    public static readonly Nexus C = new("iqn.2026-11.test:c", 0x400001370002, 2, 2);
    public static readonly Nexus D = new("iqn.2026-11.test:d", 0x400001370003, 2, 2);

    public static IReadOnlyList<Nexus> All { get; } = [A, B, C, D];

    public const int BlockSize = 512;

    /// <summary>A model whose nexuses A..D have already seen (and cleared) their POWER ON UA.</summary>
    public static LogicalUnitModel Settled(LunConfig? config = null)
    {
        var m = new LogicalUnitModel(config ?? new LunConfig(BlockCount: 64));
        foreach (var n in All)
        {
            m.Execute(n, Cdb.TestUnitReady());
        }

        return m;
    }

    /// <summary>A non-HA-looking pair: node 1 primary, node 2 secondary in the given mode and link state.</summary>
    public static LunConfig Pair(HaMode mode, LinkState link = LinkState.Online, ulong blocks = 64) => new(BlockCount: blocks)
    {
        Node1View = new LunHaView(1, HaRole.Primary, false, link, mode),
        Node2View = new LunHaView(2, HaRole.Secondary, link == LinkState.Online, link, mode),
    };

    public static byte[] Pattern(int blocks, byte seed)
    {
        var b = new byte[blocks * BlockSize];
        for (var i = 0; i < b.Length; i++)
        {
            b[i] = (byte)(seed + (i * 7));
        }

        return b;
    }

    public static void AssertGood(ModelResult r) => Assert.True(r.Status == ScsiStatus.Good, $"expected GOOD, got {r}");

    public static void AssertCheck(ModelResult r, byte key, byte asc, byte ascq)
    {
        Assert.True(r.Status == ScsiStatus.CheckCondition, $"expected CHECK CONDITION {key:X2}/{asc:X2}/{ascq:X2}, got {r}");
        var s = r.DecodedSense!;
        Assert.True(s.Is(key, asc, ascq), $"expected {key:X2}/{asc:X2}/{ascq:X2}, got {s}");
    }

    public static void AssertConflict(ModelResult r) =>
        Assert.True(r.Status == ScsiStatus.ReservationConflict, $"expected RESERVATION CONFLICT, got {r}");

    /// <summary>MODE SELECT(6) of one page.</summary>
    public static ModelResult SelectPage(LogicalUnitModel m, Nexus n, byte[] page)
    {
        var p = Cdb.ModeSelect6Parameters(page);
        return m.Execute(n, Cdb.ModeSelect6((byte)p.Length), p);
    }

    public static ModelResult Register(LogicalUnitModel m, Nexus n, ulong key) =>
        m.Execute(n, Cdb.PrOut(0x00), Cdb.PrOutParameters(0, key));

    public static ModelResult Reserve(LogicalUnitModel m, Nexus n, ulong key, PrType type) =>
        m.Execute(n, Cdb.PrOut(0x01, type), Cdb.PrOutParameters(key));
}

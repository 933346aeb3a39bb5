using System.Buffers.Binary;
using CtlHa.Model;
using FsCheck;
using FsCheck.Fluent;
using InitiatorCdb = CtlHa.Initiator.Scsi.Cdb;

namespace CtlHa.Conformance.Differential;

/// <summary>
/// FsCheck generators of differential steps: SCSI commands from several initiators over a small LUN so data,
/// reservations and unit attentions collide. Every generator is pure; a step carries all its bytes.
/// </summary>
public static class DiffGen
{
    /// <summary>LUN size of a differential run: 128 blocks of 512 bytes.</summary>
    public const ulong BlockCount = 128;

    /// <summary>Writes and reads cluster in LBAs 0..15 so that initiators overwrite each other.</summary>
    private const int HotRegion = 16;

    private static readonly ulong[] Keys = [0x0, 0xA1, 0xB2, 0xC3];

    private static readonly byte[] PrTypes = [0x1, 0x3, 0x5, 0x6, 0x7, 0x8];

    /// <summary>One of the initiators 1..<paramref name="initiators"/>.</summary>
    public static Gen<int> Initiator(int initiators) => Gen.Choose(1, initiators);

    /// <summary>A data block of "seed" content: 0 is all zeros, other seeds a pattern that depends on seed and block only.</summary>
    public static byte[] Pattern(int blocks, byte seed)
    {
        var data = new byte[blocks * (int)DiffTarget.BlockSize];
        if (seed == 0)
        {
            return data;
        }

        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (byte)((i / DiffTarget.BlockSize * 31) + (i * 7) + (seed * 13) + 1);
        }

        return data;
    }

    /// <summary>An LBA: mostly in the hot region, sometimes at the end of the LUN or beyond it.</summary>
    public static Gen<ulong> Lba() => Gen.Frequency(
        (12, Gen.Choose(0, HotRegion - 1).Select(x => (ulong)x)),
        (2, Gen.Choose((int)BlockCount - 4, (int)BlockCount + 2).Select(x => (ulong)x)),
        (1, Gen.Elements(0xFFFF_FFFFUL, 0x1_0000_0000UL, ulong.MaxValue)));

    private static Gen<byte> Seed() => Gen.Elements<byte>(0, 1, 2, 3);

    /// <summary>Any step, weighted toward data and reservation traffic.</summary>
    public static Gen<DiffStep> Step(int initiators = 3)
    {
        var who = Initiator(initiators);
        return Gen.Frequency(
            (6, Rw(who)),
            (2, WriteSame(who)),
            (1, Unmap(who)),
            (2, CompareAndWrite(who)),
            (1, Verify(who)),
            (1, from i in who from l in Gen.Choose(0, HotRegion) from n in Gen.Choose(0, 4)
                select new DiffStep(i, $"SYNCHRONIZE CACHE(10) lba={l} len={n}", InitiatorCdb.SynchronizeCache10((uint)l, (ushort)n), [], 0)),
            (2, from i in who select new DiffStep(i, "TEST UNIT READY", InitiatorCdb.TestUnitReady(), [], 0)),
            (1, from i in who from desc in Gen.Elements(false, true) from alloc in Gen.Elements<byte>(18, 252)
                select new DiffStep(i, $"REQUEST SENSE desc={(desc ? 1 : 0)} alloc={alloc}", InitiatorCdb.RequestSense(alloc, desc), [], alloc)),
            (1, from i in who select new DiffStep(i, "REPORT LUNS", InitiatorCdb.ReportLuns(256), [], 256)),
            (2, Inquiry(who)),
            (1, ReadCapacity(who)),
            (2, ModeSense(who)),
            (2, ModeSelect(who)),
            (3, PrIn(who)),
            (7, PrOut(who)),
            (2, from i in who from reserve in Gen.Elements(true, false)
                select reserve
                    ? new DiffStep(i, "RESERVE(6)", InitiatorCdb.Reserve6(), [], 0)
                    : new DiffStep(i, "RELEASE(6)", InitiatorCdb.Release6(), [], 0)),
            (2, BadCdb(who)));
    }

    /// <summary>A sequence of 0..<paramref name="maxLength"/> steps.</summary>
    public static Gen<DiffStep[]> Sequence(int maxLength, int initiators = 3) =>
        Gen.Choose(0, maxLength).SelectMany(n => Step(initiators).ArrayOf(n));

    /// <summary>Shrinks a sequence by dropping one step, or the first/second half (order is kept).</summary>
    public static IEnumerable<DiffStep[]> Shrink(DiffStep[] steps)
    {
        if (steps.Length > 1)
        {
            yield return steps[..(steps.Length / 2)];
            yield return steps[(steps.Length / 2)..];
        }

        for (var i = steps.Length - 1; i >= 0; i--)
        {
            yield return [.. steps[..i], .. steps[(i + 1)..]];
        }
    }

    public static Arbitrary<DiffStep[]> Sequences(int maxLength, int initiators = 3) => Arb.From(Sequence(maxLength, initiators), Shrink);

    private static Gen<DiffStep> Rw(Gen<int> who) =>
        from i in who
        from write in Gen.Elements(true, false)
        from sixteen in Gen.Elements(true, false)
        from lba in Lba()
        from n in Gen.Frequency((1, Gen.Constant(0)), (8, Gen.Choose(1, 4)))
        from seed in Seed()
        select write
            ? new DiffStep(i, $"WRITE({(sixteen ? 16 : 10)}) lba={lba} len={n} seed={seed}",
                sixteen ? InitiatorCdb.Write16(lba, (uint)n) : InitiatorCdb.Write10((uint)lba, (ushort)n), Pattern(n, seed), 0)
            : new DiffStep(i, $"READ({(sixteen ? 16 : 10)}) lba={lba} len={n}",
                sixteen ? InitiatorCdb.Read16(lba, (uint)n) : InitiatorCdb.Read10((uint)lba, (ushort)n), [], n * (int)DiffTarget.BlockSize);

    /// <summary>WRITE SAME (10) 41h / (16) 93h, SBC-4 5.49/5.50: byte1 UNMAP 08h (NDOB 01h in 16); LBA; NUMBER OF BLOCKS.</summary>
    private static Gen<DiffStep> WriteSame(Gen<int> who) =>
        from i in who
        from sixteen in Gen.Elements(true, false)
        from lba in Lba()
        from n in Gen.Choose(1, 4)
        from unmap in Gen.Elements(true, false)
        from ndob in Gen.Frequency((4, Gen.Constant(false)), (1, Gen.Constant(true)))
        from seed in Seed()
        let useNdob = sixteen && ndob
        select new DiffStep(i,
            $"WRITE SAME({(sixteen ? 16 : 10)}) lba={lba} len={n}{(unmap ? " UNMAP" : "")}{(useNdob ? " NDOB" : $" seed={seed}")}",
            WriteSameCdb(sixteen, lba, (uint)n, unmap, useNdob), useNdob ? [] : Pattern(1, seed), 0);

    private static byte[] WriteSameCdb(bool sixteen, ulong lba, uint blocks, bool unmap, bool ndob)
    {
        if (sixteen)
        {
            var c = new byte[16];
            c[0] = 0x93;
            c[1] = (byte)((unmap ? 0x08 : 0) | (ndob ? 0x01 : 0));
            BinaryPrimitives.WriteUInt64BigEndian(c.AsSpan(2), lba);
            BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(10), blocks);
            return c;
        }

        var t = new byte[10];
        t[0] = 0x41;
        t[1] = (byte)(unmap ? 0x08 : 0);
        BinaryPrimitives.WriteUInt32BigEndian(t.AsSpan(2), (uint)lba);
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(7), (ushort)blocks);
        return t;
    }

    /// <summary>UNMAP 42h, SBC-4 5.37: 7-8 PARAMETER LIST LENGTH; list = 8-byte header + 16-byte descriptors (LBA, count).</summary>
    private static Gen<DiffStep> Unmap(Gen<int> who) =>
        from i in who
        from lba in Lba()
        from n in Gen.Choose(0, 6)
        select new DiffStep(i, $"UNMAP lba={lba} len={n}", [0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0], UnmapParameters(lba, (uint)n), 0);

    private static byte[] UnmapParameters(ulong lba, uint blocks)
    {
        var p = new byte[24];
        BinaryPrimitives.WriteUInt16BigEndian(p, 22);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), 16);
        BinaryPrimitives.WriteUInt64BigEndian(p.AsSpan(8), lba);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(16), blocks);
        return p;
    }

    private static Gen<DiffStep> CompareAndWrite(Gen<int> who) =>
        from i in who
        from lba in Lba()
        from expect in Seed()
        from write in Seed()
        select new DiffStep(i, $"COMPARE AND WRITE lba={lba} expect={expect} write={write}",
            InitiatorCdb.CompareAndWrite(lba, 1), [.. Pattern(1, expect), .. Pattern(1, write)], 0);

    /// <summary>VERIFY (10) 2Fh, SBC-4 5.33: byte1 BYTCHK (bits 2-1); 2-5 LBA; 7-8 VERIFICATION LENGTH.</summary>
    private static Gen<DiffStep> Verify(Gen<int> who) =>
        from i in who
        from lba in Lba()
        from n in Gen.Choose(0, 2)
        from bytchk in Gen.Elements(0, 1, 1, 3, 2)
        from seed in Seed()
        select new DiffStep(i, $"VERIFY(10) lba={lba} len={n} bytchk={bytchk}{(bytchk is 1 or 3 ? $" seed={seed}" : "")}",
            VerifyCdb((uint)lba, (ushort)n, bytchk),
            bytchk switch { 1 => Pattern(n, seed), 3 => Pattern(1, seed), _ => [] }, 0);

    private static byte[] VerifyCdb(uint lba, ushort blocks, int bytchk)
    {
        var c = new byte[10];
        c[0] = 0x2F;
        c[1] = (byte)(bytchk << 1);
        BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt16BigEndian(c.AsSpan(7), blocks);
        return c;
    }

    private static Gen<DiffStep> Inquiry(Gen<int> who) =>
        from i in who
        from page in Gen.Elements<int>(-1, -1, 0x00, 0x80, 0x83, 0x83)
        from alloc in Gen.Elements<ushort>(36, 96, 255, 5)
        select page < 0
            ? new DiffStep(i, $"INQUIRY alloc={alloc}", InitiatorCdb.Inquiry(false, 0, alloc), [], alloc)
            : new DiffStep(i, $"INQUIRY VPD {page:X2}h alloc={alloc}", InitiatorCdb.Inquiry(true, (byte)page, alloc), [], alloc);

    private static Gen<DiffStep> ReadCapacity(Gen<int> who) =>
        from i in who
        from sixteen in Gen.Elements(true, false)
        select sixteen
            ? new DiffStep(i, "READ CAPACITY(16)", InitiatorCdb.ReadCapacity16(32), [], 32)
            : new DiffStep(i, "READ CAPACITY(10)", InitiatorCdb.ReadCapacity10(), [], 8);

    private static Gen<DiffStep> ModeSense(Gen<int> who) =>
        from i in who
        from ten in Gen.Elements(true, false)
        from page in Gen.Elements<byte>(0x08, 0x0A, 0x3F, 0x1C)
        from pc in Gen.Elements<byte>(0, 0, 1, 2, 3)
        from dbd in Gen.Elements(true, false)
        select ten
            ? new DiffStep(i, $"MODE SENSE(10) page={page:X2}h pc={pc} dbd={(dbd ? 1 : 0)}", InitiatorCdb.ModeSense10(page, 0, pc, dbd, 1024), [], 1024)
            : new DiffStep(i, $"MODE SENSE(6) page={page:X2}h pc={pc} dbd={(dbd ? 1 : 0)}", InitiatorCdb.ModeSense6(page, 0, pc, dbd, 255), [], 255);

    /// <summary>
    /// MODE SELECT (6) of the caching page (WCE), the control page (D_SENSE, SWP), or a bad image (a non-changeable bit
    /// flipped, or a wrong page length). Page images start from the CTL defaults the model publishes (ctl-ha.md §13.1).
    /// </summary>
    private static Gen<DiffStep> ModeSelect(Gen<int> who)
    {
        var config = new LunConfig(BlockCount: BlockCount);
        var caching = ModePages.Default(ModePages.Caching, config);
        var control = ModePages.Default(ModePages.Control, config);
        return Gen.Frequency(
            (3, from i in who from wce in Gen.Elements(true, false)
                select Select(i, $"MODE SELECT(6) caching WCE={(wce ? 1 : 0)}", With(caching, 2, wce ? (byte)(caching[2] | 0x04) : (byte)(caching[2] & ~0x04)))),
            (3, from i in who from dsense in Gen.Elements(true, false) from swp in Gen.Frequency((3, Gen.Constant(false)), (1, Gen.Constant(true)))
                select Select(i, $"MODE SELECT(6) control D_SENSE={(dsense ? 1 : 0)} SWP={(swp ? 1 : 0)}",
                    With(With(control, 2, dsense ? (byte)(control[2] | 0x04) : (byte)(control[2] & ~0x04)), 4, swp ? (byte)(control[4] | 0x08) : (byte)(control[4] & ~0x08)))),
            (1, from i in who select Select(i, "MODE SELECT(6) caching with RCD flipped in a bad length", With(caching, 1, (byte)(caching[1] - 2)))),
            (1, from i in who select Select(i, "MODE SELECT(6) control with byte 3 bit 7 set", With(control, 3, (byte)(control[3] | 0x80)))));
    }

    private static DiffStep Select(int initiator, string label, byte[] page)
    {
        byte[] parameters = [0, 0, 0, 0, .. page];
        return new DiffStep(initiator, label, InitiatorCdb.ModeSelect6((byte)parameters.Length), parameters, 0);
    }

    private static byte[] With(byte[] source, int index, byte value)
    {
        var copy = (byte[])source.Clone();
        copy[index] = value;
        return copy;
    }

    private static Gen<DiffStep> PrIn(Gen<int> who) =>
        from i in who
        from sa in Gen.Elements<byte>(0, 1, 2, 3)
        select new DiffStep(i, $"PR IN {PrInName(sa)}", PrInCdb(sa, 1024), [], 1024);

    private static byte[] PrInCdb(byte sa, ushort alloc) => [0x5E, sa, 0, 0, 0, 0, 0, (byte)(alloc >> 8), (byte)alloc, 0];

    private static string PrInName(byte sa) => sa switch
    {
        0 => "READ KEYS",
        1 => "READ RESERVATION",
        2 => "REPORT CAPABILITIES",
        _ => "READ FULL STATUS",
    };

    /// <summary>
    /// PERSISTENT RESERVE OUT 5Fh, SPC-5 6.17: byte1 SERVICE ACTION; byte2 SCOPE/TYPE; 5-8 PARAMETER LIST LENGTH (24);
    /// parameters: 0-7 RESERVATION KEY, 8-15 SERVICE ACTION RESERVATION KEY, 20 flags.
    /// </summary>
    private static Gen<DiffStep> PrOut(Gen<int> who) =>
        from i in who
        from sa in Gen.Frequency((4, Gen.Constant<byte>(0)), (2, Gen.Constant<byte>(6)), (4, Gen.Constant<byte>(1)), (2, Gen.Constant<byte>(2)),
            (1, Gen.Constant<byte>(3)), (2, Gen.Constant<byte>(4)), (1, Gen.Constant<byte>(5)))
        from type in Gen.Elements(PrTypes)
        from key in Gen.Elements(Keys)
        from saKey in Gen.Elements(Keys)
        select new DiffStep(i, $"PR OUT {PrOutName(sa)} type={type} key={key:X} sakey={saKey:X}",
            [0x5F, sa, type, 0, 0, 0, 0, 0, 24, 0], PrOutParameters(key, saKey), 0);

    private static byte[] PrOutParameters(ulong key, ulong saKey)
    {
        var p = new byte[24];
        BinaryPrimitives.WriteUInt64BigEndian(p, key);
        BinaryPrimitives.WriteUInt64BigEndian(p.AsSpan(8), saKey);
        return p;
    }

    private static string PrOutName(byte sa) => sa switch
    {
        0 => "REGISTER",
        1 => "RESERVE",
        2 => "RELEASE",
        3 => "CLEAR",
        4 => "PREEMPT",
        5 => "PREEMPT AND ABORT",
        _ => "REGISTER AND IGNORE",
    };

    /// <summary>Bad CDBs: an unsupported opcode, an unknown service action, a reserved or unsupported bit set.</summary>
    private static Gen<DiffStep> BadCdb(Gen<int> who) =>
        from i in who
        from kind in Gen.Choose(0, 6)
        select kind switch
        {
            0 => new DiffStep(i, "opcode E7h (unsupported)", [0xE7, 0, 0, 0, 0, 0, 0, 0, 0, 0], [], 0),
            1 => new DiffStep(i, "PR IN service action 1Fh", PrInCdb(0x1F, 1024), [], 1024),
            2 => new DiffStep(i, "INQUIRY EVPD=0 page 80h", InitiatorCdb.Inquiry(false, 0x80, 255), [], 255),
            3 => new DiffStep(i, "INQUIRY VPD 99h (unsupported)", InitiatorCdb.Inquiry(true, 0x99, 255), [], 255),
            4 => new DiffStep(i, "TEST UNIT READY byte 1 = 01h (reserved)", [0x00, 0x01, 0, 0, 0, 0], [], 0),
            5 => new DiffStep(i, "READ(10) RDPROTECT=1 lba=0 len=1", With(InitiatorCdb.Read10(0, 1), 1, 0x20), [], 512),
            _ => new DiffStep(i, "MODE SENSE(6) page 3Eh (unsupported)", InitiatorCdb.ModeSense6(0x3E, 0, 0, false, 255), [], 255),
        };
}

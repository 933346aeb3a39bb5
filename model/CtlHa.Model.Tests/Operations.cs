using FsCheck;
using FsCheck.Fluent;
using static CtlHa.Model.Tests.Fixture;

namespace CtlHa.Model.Tests;

/// <summary>One step of a generated command sequence; prints as a readable trace line.</summary>
public abstract record Op
{
    public abstract ModelResult? Apply(LogicalUnitModel m);
}

public sealed record WriteOp(Nexus N, uint Lba, ushort Blocks, byte Seed) : Op
{
    public override ModelResult? Apply(LogicalUnitModel m) => m.Execute(N, Cdb.Write10(Lba, Blocks), Pattern(Blocks, Seed));

    public override string ToString() => $"{N.Initiator[^1]}: WRITE(10) lba={Lba} n={Blocks} seed={Seed}";
}

public sealed record ReadOp(Nexus N, uint Lba, ushort Blocks) : Op
{
    public override ModelResult? Apply(LogicalUnitModel m) => m.Execute(N, Cdb.Read10(Lba, Blocks));

    public override string ToString() => $"{N.Initiator[^1]}: READ(10) lba={Lba} n={Blocks}";
}

public sealed record UnmapOp(Nexus N, uint Lba, uint Blocks) : Op
{
    public override ModelResult? Apply(LogicalUnitModel m)
    {
        var p = Cdb.UnmapParameters((Lba, Blocks));
        return m.Execute(N, Cdb.Unmap((ushort)p.Length), p);
    }

    public override string ToString() => $"{N.Initiator[^1]}: UNMAP lba={Lba} n={Blocks}";
}

public sealed record TurOp(Nexus N) : Op
{
    public override ModelResult? Apply(LogicalUnitModel m) => m.Execute(N, Cdb.TestUnitReady());

    public override string ToString() => $"{N.Initiator[^1]}: TEST UNIT READY";
}

public sealed record PrOutOp(Nexus N, byte ServiceAction, PrType Type, ulong Key, ulong SaKey) : Op
{
    public override ModelResult? Apply(LogicalUnitModel m) => m.Execute(N, Cdb.PrOut(ServiceAction, Type), Cdb.PrOutParameters(Key, SaKey));

    public override string ToString() =>
        $"{N.Initiator[^1]}: PR OUT {Name} type={Type} key={Key:X} sakey={SaKey:X}";

    private string Name => ServiceAction switch
    {
        0 => "REGISTER",
        1 => "RESERVE",
        2 => "RELEASE",
        3 => "CLEAR",
        4 => "PREEMPT",
        5 => "PREEMPT AND ABORT",
        _ => "REGISTER AND IGNORE",
    };
}

public sealed record Scsi2Op(Nexus N, bool Reserve) : Op
{
    public override ModelResult? Apply(LogicalUnitModel m) => m.Execute(N, Reserve ? Cdb.Reserve6() : Cdb.Release6());

    public override string ToString() => $"{N.Initiator[^1]}: {(Reserve ? "RESERVE(6)" : "RELEASE(6)")}";
}

public sealed record CachingOp(Nexus N, bool WriteCache) : Op
{
    public override ModelResult? Apply(LogicalUnitModel m) => SelectPage(m, N, UnitAttentionTests.CachingWith((byte)(0x10 | (WriteCache ? 0x04 : 0))));

    public override string ToString() => $"{N.Initiator[^1]}: MODE SELECT caching WCE={(WriteCache ? 1 : 0)}";
}

public sealed record ResetOp(Nexus N, int Kind) : Op
{
    public override ModelResult? Apply(LogicalUnitModel m)
    {
        switch (Kind)
        {
            case 0:
                m.LunReset(N);
                break;
            case 1:
                m.TargetReset(N);
                break;
            default:
                m.NexusLoss(N);
                break;
        }

        return null;
    }

    public override string ToString() => $"{N.Initiator[^1]}: {(Kind == 0 ? "LUN RESET" : Kind == 1 ? "TARGET RESET" : "NEXUS LOSS")}";
}

/// <summary>Generators of operations over the nexuses A, B (node 1) and C, D (node 2) on a 64-block LUN.</summary>
public static class OpGen
{
    public static Gen<Nexus> Nexus(IReadOnlyList<Nexus> from) => Gen.Elements(from.ToArray());

    public static Gen<Op> Any(IReadOnlyList<Nexus> who, ulong[] keys, bool allowClearAndPreempt = true, Nexus? protectedNexus = null)
    {
        var n = Nexus(who);
        var key = Gen.Elements(keys);
        var type = Gen.Elements(Enum.GetValues<PrType>());
        var lba = Gen.Choose(0, 60).Select(x => (uint)x);
        var blocks = Gen.Choose(1, 4).Select(x => (ushort)x);
        var services = allowClearAndPreempt ? new byte[] { 0, 1, 2, 3, 4, 5, 6 } : [0, 1, 2, 6];
        var prOut =
            from nx in n
            from sa in Gen.Elements(services)
            from t in type
            from k in key
            from sk in key
            where !(protectedNexus is not null && nx == protectedNexus && sa is 0 or 6)
            select (Op)new PrOutOp(nx, sa, t, k, sk);
        return Gen.Frequency(
            (4, from nx in n from l in lba from b in blocks from s in Gen.Choose(0, 255) select (Op)new WriteOp(nx, l, b, (byte)s)),
            (3, from nx in n from l in lba from b in blocks select (Op)new ReadOp(nx, l, b)),
            (1, from nx in n from l in lba from b in blocks select (Op)new UnmapOp(nx, l, b)),
            (2, from nx in n select (Op)new TurOp(nx)),
            (6, prOut),
            (1, from nx in n from r in Gen.Elements(true, false) select (Op)new Scsi2Op(nx, r)),
            (1, from nx in n from w in Gen.Elements(true, false) select (Op)new CachingOp(nx, w)),
            (1, from nx in n from k in Gen.Choose(0, 2) select (Op)new ResetOp(nx, k)));
    }

    public static Arbitrary<Op[]> Sequence(Gen<Op> op, int max = 40) => Gen.Choose(0, max).SelectMany(len => op.ArrayOf(len)).ToArbitrary();

    /// <summary>Reports every pending UA of a nexus (TEST UNIT READY until it stops returning UNIT ATTENTION).</summary>
    public static void Drain(LogicalUnitModel m, Nexus n)
    {
        for (var i = 0; i < 32; i++)
        {
            var r = m.Execute(n, Cdb.TestUnitReady());
            if (r.DecodedSense is not { Key: 0x06 })
            {
                return;
            }
        }
    }
}

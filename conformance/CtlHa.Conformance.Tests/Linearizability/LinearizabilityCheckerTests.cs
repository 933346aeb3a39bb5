using CtlHa.Conformance.Differential;
using CtlHa.Conformance.Linearizability;
using CtlHa.Conformance.Suites;
using CtlHa.Initiator.Scsi;
using CtlHa.Model;
using CtlHa.Spec;
using FsCheck.Xunit;

namespace CtlHa.Conformance.Tests.Linearizability;

/// <summary>The checker on hand-made histories (no sockets): outcomes come from the model run in a chosen order.</summary>
public sealed class LinearizabilityCheckerTests
{
    private const ulong Lba = 5;

    private static readonly LinClient[] Clients =
    [
        new(0, PairNode.A, 1, new Nexus("iqn.2026-11.org.ctlha:lin-host1", 0x4000_0151_0000, 1, 1)),
        new(1, PairNode.B, 2, new Nexus("iqn.2026-11.org.ctlha:lin-host2", 0x4000_0151_0001, 2, 257)),
        new(2, PairNode.B, 1, new Nexus("iqn.2026-11.org.ctlha:lin-host1", 0x4000_0151_0002, 2, 257)),
    ];

    private static readonly LinClient A = Clients[0];
    private static readonly LinClient B = Clients[1];

    /// <summary>A settled LUN: no pending UA on any client, LBA 5 holds counter 7.</summary>
    private static LogicalUnitModel Initial()
    {
        var m = new LogicalUnitModel(new LunConfig(BlockCount: 64, BlockSize: 512)
        {
            Ports = [new ModelPort(1, 1), new ModelPort(2, 257)],
            Node1View = new LunHaView(1, HaRole.Primary, false, LinkState.Online, HaMode.Shared),
            Node2View = new LunHaView(2, HaRole.Secondary, true, LinkState.Online, HaMode.Shared),
        });
        foreach (var c in Clients)
        {
            for (var i = 0; i < 4 && Run(m, c, LinCommands.TestUnitReady()).Status != 0; i++)
            {
            }
        }

        Assert.Equal(0, Run(m, A, LinCommands.Write(Lba, 7)).Status);
        return m;
    }

    private static DiffOutcome Run(LogicalUnitModel m, LinClient c, LinCommand command) =>
        DiffOutcome.FromModel(m.Execute(c.Nexus, command.Cdb, command.DataOut, (uint)command.ExpectedLength));

    private static LinOperation Op(int id, LinClient c, LinCommand command, long from, long? to, DiffOutcome? outcome) => new()
    {
        Id = id,
        Client = c,
        Cdb = command.Cdb,
        DataOut = command.DataOut,
        ExpectedLength = command.ExpectedLength,
        Label = command.Label,
        Render = command.Render,
        Invoked = from,
        Responded = to,
        Outcome = to is null ? null : outcome,
    };

    private static LinCheckResult Check(params LinOperation[] ops) => new LinearizabilityChecker().Check(ops, Initial());

    [Fact]
    public void Overlapping_CAWs_where_one_wins_are_linearizable_and_the_winner_goes_first()
    {
        var truth = Initial();
        var win = Run(truth, A, LinCommands.CompareAndWrite(Lba, 7));
        var lose = Run(truth, B, LinCommands.CompareAndWrite(Lba, 7));
        var read = Run(truth, B, LinCommands.Read(Lba));
        Assert.Equal("MISCOMPARE", LinCommands.Text(lose));

        var result = Check(
            Op(0, B, LinCommands.CompareAndWrite(Lba, 7), 0, 100, lose),
            Op(1, A, LinCommands.CompareAndWrite(Lba, 7), 10, 90, win),
            Op(2, B, LinCommands.Read(Lba), 110, 120, read));

        Assert.Equal(LinVerdict.Linearizable, result.Verdict);
        Assert.Equal([1, 0, 2], result.Order.Select(o => o.Id));
        Assert.Equal("value=8", LinCommands.Read(Lba).Render(read));
    }

    [Fact]
    public void Two_CAWs_both_succeeding_on_the_same_expected_value_are_not_linearizable()
    {
        var good = Run(Initial(), A, LinCommands.CompareAndWrite(Lba, 7));
        var result = Check(
            Op(0, A, LinCommands.CompareAndWrite(Lba, 7), 0, 100, good),
            Op(1, B, LinCommands.CompareAndWrite(Lba, 7), 10, 90, good));

        Assert.Equal(LinVerdict.NotLinearizable, result.Verdict);
        Assert.Single(result.Order);
        var text = string.Join("\n", result.Explanation);
        Assert.Contains("observed GOOD, the model says MISCOMPARE", text, StringComparison.Ordinal);
        Assert.Contains("longest order the model accepts (1 operations)", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_read_through_the_other_node_that_misses_a_completed_CAW_is_not_linearizable_but_an_overlapping_one_is()
    {
        var truth = Initial();
        var stale = Run(truth.Clone(), B, LinCommands.Read(Lba));
        var good = Run(truth, A, LinCommands.CompareAndWrite(Lba, 7));

        var after = Check(
            Op(0, A, LinCommands.CompareAndWrite(Lba, 7), 0, 10, good),
            Op(1, B, LinCommands.Read(Lba), 20, 30, stale));
        Assert.Equal(LinVerdict.NotLinearizable, after.Verdict);
        Assert.Contains(after.Explanation, l => l.Contains("observed value=7, the model says value=8", StringComparison.Ordinal));

        var overlapping = Check(
            Op(0, A, LinCommands.CompareAndWrite(Lba, 7), 0, 25, good),
            Op(1, B, LinCommands.Read(Lba), 20, 30, stale));
        Assert.Equal(LinVerdict.Linearizable, overlapping.Verdict);
    }

    [Fact]
    public void A_registration_the_other_node_does_not_show_after_it_completed_is_not_linearizable()
    {
        var truth = Initial();
        var noKeys = Run(truth.Clone(), B, LinCommands.ReadKeys());
        var registered = Run(truth, A, LinCommands.RegisterAndIgnore(0xA0));

        var result = Check(
            Op(0, A, LinCommands.RegisterAndIgnore(0xA0), 0, 10, registered),
            Op(1, B, LinCommands.ReadKeys(), 11, 20, noKeys));

        Assert.Equal(LinVerdict.NotLinearizable, result.Verdict);
        Assert.Contains(result.Explanation, l => l.Contains("observed gen=0 keys=[], the model says gen=1 keys=[A0]", StringComparison.Ordinal));
    }

    [Fact]
    public void A_unit_attention_from_a_preempt_must_reach_the_preempted_nexus_on_the_other_node()
    {
        var truth = Initial();
        Assert.Equal(0, Run(truth, B, LinCommands.RegisterAndIgnore(0xA1)).Status);
        Assert.Equal(0, Run(truth, B, LinCommands.Reserve(0xA1, PersistentReservationType.WriteExclusive)).Status);
        Assert.Equal(0, Run(truth, A, LinCommands.RegisterAndIgnore(0xA0)).Status);
        var start = truth.Clone();
        var missed = Run(truth.Clone(), B, LinCommands.TestUnitReady());
        var preempt = Run(truth, A, LinCommands.Preempt(0xA0, 0xA1, PersistentReservationType.ExclusiveAccess));
        var ua = Run(truth, B, LinCommands.TestUnitReady());
        Assert.StartsWith("CHECK 06/2A", LinCommands.Text(ua), StringComparison.Ordinal);

        var ops = new[]
        {
            Op(0, A, LinCommands.Preempt(0xA0, 0xA1, PersistentReservationType.ExclusiveAccess), 0, 10, preempt),
            Op(1, B, LinCommands.TestUnitReady(), 20, 30, missed),
        };
        Assert.Equal(LinVerdict.NotLinearizable, new LinearizabilityChecker().Check(ops, start).Verdict);
        Assert.Equal(LinVerdict.Linearizable, new LinearizabilityChecker().Check([ops[0], ops[1] with { Outcome = ua }], start).Verdict);
    }

    [Fact]
    public void A_pending_operation_may_have_taken_effect_or_not()
    {
        var truth = Initial();
        var before = Run(truth.Clone(), B, LinCommands.Read(Lba));
        Run(truth, A, LinCommands.CompareAndWrite(Lba, 7));
        var afterCaw = Run(truth, B, LinCommands.Read(Lba));

        foreach (var observed in new[] { before, afterCaw })
        {
            var result = Check(
                Op(0, A, LinCommands.CompareAndWrite(Lba, 7), 0, null, null),
                Op(1, B, LinCommands.Read(Lba), 20, 30, observed));
            Assert.Equal(LinVerdict.Linearizable, result.Verdict);
        }

        var lost = Check(
            Op(0, A, LinCommands.CompareAndWrite(Lba, 7), 0, 5, DiffOutcome.FromException(new IOException("connection reset"))),
            Op(1, B, LinCommands.Read(Lba), 20, 30, afterCaw));
        Assert.Equal(LinVerdict.Linearizable, lost.Verdict);
    }

    [Fact]
    public void BUSY_means_not_executed()
    {
        var busy = new DiffOutcome(0x08, null, []);
        var stale = Run(Initial(), B, LinCommands.Read(Lba));
        var result = Check(
            Op(0, A, LinCommands.CompareAndWrite(Lba, 7), 0, 10, busy),
            Op(1, B, LinCommands.Read(Lba), 20, 30, stale));
        Assert.Equal(LinVerdict.Linearizable, result.Verdict);
    }

    [Fact]
    public void The_explanation_is_the_shortest_failing_prefix()
    {
        var truth = Initial();
        var good = Run(truth, A, LinCommands.CompareAndWrite(Lba, 7));
        var ops = new List<LinOperation>
        {
            Op(0, A, LinCommands.CompareAndWrite(Lba, 7), 0, 100, good),
            Op(1, B, LinCommands.CompareAndWrite(Lba, 7), 10, 90, good),
        };
        for (var i = 0; i < 8; i++)
        {
            var c = Clients[i % 3];
            ops.Add(Op(ops.Count, c, LinCommands.Read(Lba), 200 + (i * 20), 210 + (i * 20), Run(truth, c, LinCommands.Read(Lba))));
        }

        var result = new LinearizabilityChecker().Check(ops, Initial());
        Assert.Equal(LinVerdict.NotLinearizable, result.Verdict);
        Assert.Equal([0, 1], result.FailingPrefix.Select(o => o.Id).Order());
        Assert.StartsWith("not linearizable: the first 2 of 10 answers", result.Explanation[0], StringComparison.Ordinal);
    }

    [Fact]
    public void The_search_gives_up_as_inconclusive_at_its_step_limit()
    {
        var truth = Initial();
        var ops = Enumerable.Range(0, 12)
            .Select(i => Op(i, Clients[i % 3], LinCommands.ReadKeys(), i, 1000 + i, Run(truth, Clients[i % 3], LinCommands.ReadKeys())))
            .Append(Op(12, A, LinCommands.RegisterAndIgnore(0xA0), 0, 2000, DiffOutcome.FromModel(ModelResult.Good())))
            .ToArray();
        var result = new LinearizabilityChecker(maxSteps: 5).Check(ops, Initial());
        Assert.Equal(LinVerdict.Inconclusive, result.Verdict);
    }

    [Fact]
    public void Commands_that_change_state_outside_the_memo_key_are_refused()
    {
        var modeSelect = new LinCommand(Cdb.ModeSelect10(0), [], 0, "MODE SELECT", LinCommands.Text);
        Assert.Throws<ArgumentException>(() => Check(Op(0, A, modeSelect, 0, 1, DiffOutcome.FromModel(ModelResult.Good()))));
    }

    /// <summary>
    /// Soundness: any history made by running the model in some order of points, each inside its operation's
    /// interval (clients sequential), is accepted.
    /// </summary>
    [Property(MaxTest = 150)]
    public bool Histories_produced_by_a_sequential_run_inside_their_intervals_are_linearizable(int seed)
    {
        var random = new Random(seed);
        var planned = new List<(LinClient Client, LinCommand Command, long From, long To, double Point)>();
        foreach (var c in Clients)
        {
            long cursor = random.Next(5);
            for (var j = random.Next(2, 6); j > 0; j--)
            {
                var from = cursor + random.Next(5);
                var to = from + 1 + random.Next(40);
                planned.Add((c, RandomCommand(random, c), from, to, from + (random.NextDouble() * (to - from))));
                cursor = to + 1;
            }
        }

        var truth = Initial();
        var ops = planned.OrderBy(p => p.Point)
            .Select(p => (p, Outcome: Run(truth, p.Client, p.Command)))
            .OrderBy(x => x.p.From)
            .Select((x, i) => Op(i, x.p.Client, x.p.Command, x.p.From, x.p.To, x.Outcome))
            .ToArray();
        return new LinearizabilityChecker().Check(ops, Initial()).Verdict == LinVerdict.Linearizable;
    }

    private static LinCommand RandomCommand(Random random, LinClient c)
    {
        var own = LinClientScript.KeyOf(c.Id);
        var types = new[] { PersistentReservationType.WriteExclusive, PersistentReservationType.ExclusiveAccess };
        return random.Next(10) switch
        {
            0 or 1 => LinCommands.CompareAndWrite(Lba, 7 + random.Next(3)),
            2 => LinCommands.Read(Lba),
            3 => LinCommands.RegisterAndIgnore(own),
            4 => LinCommands.Reserve(own, types[random.Next(2)]),
            5 => LinCommands.Release(own, types[random.Next(2)]),
            6 => LinCommands.Preempt(own, LinClientScript.KeyOf(random.Next(3)), types[random.Next(2)]),
            7 => LinCommands.ReadKeys(),
            8 => LinCommands.ReadReservation(),
            _ => LinCommands.TestUnitReady(),
        };
    }
}

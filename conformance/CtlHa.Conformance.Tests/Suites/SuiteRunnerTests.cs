using CtlHa.Conformance.Suites;

namespace CtlHa.Conformance.Tests.Suites;

/// <summary>The runner's budget split, skip rules and failure handling, with scripted suites (no nodes).</summary>
public sealed class SuiteRunnerTests
{
    /// <summary>A suite whose behaviour is a delegate; it records the context it was given.</summary>
    private sealed class ScriptedSuite(string name, SuiteNeeds needs, Func<SuiteContext, CancellationToken, Task<SuiteResult>> body) : IConformanceSuite
    {
        public string Name => name;

        public string Description => "scripted";

        public SuiteNeeds Needs => needs;

        public SuiteContext? Context { get; private set; }

        public DateTimeOffset StartedAt { get; private set; }

        public Task<SuiteResult> RunAsync(SuiteContext context, CancellationToken cancellationToken)
        {
            Context = context;
            StartedAt = DateTimeOffset.UtcNow;
            return body(context, cancellationToken);
        }
    }

    private sealed class FakePair(SuiteNeeds capabilities, Exception? onDispose = null) : IPairUnderTest
    {
        public int Disposed { get; private set; }

        public SuiteNeeds Capabilities => capabilities;

        public Uri UrlOf(PairNode node) => new($"iscsi://127.0.0.1:{3260 + (int)node}/iqn.2026-11.org.ctlha:fake");

        public Task SetRoleAsync(PairNode node, bool primary, int? lun, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task KillAsync(PairNode node, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task RestartAsync(PairNode node, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task CutLinkAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task StallLinkAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task RestoreLinkAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<bool> WaitLinkedAsync(TimeSpan timeout, CancellationToken cancellationToken) => Task.FromResult(true);

        public ValueTask DisposeAsync()
        {
            Disposed++;
            return onDispose is null ? ValueTask.CompletedTask : ValueTask.FromException(onDispose);
        }
    }

    private static ScriptedSuite Passing(string name, SuiteNeeds needs = SuiteNeeds.OwnNodes, int cases = 1, long operations = 10) =>
        new(name, needs, (_, _) => Task.FromResult(new SuiteResult(name, cases, operations, [], TimeSpan.FromMilliseconds(1))));

    /// <summary>Runs until its deadline, as a real suite does.</summary>
    private static ScriptedSuite UntilDeadline(string name) =>
        new(name, SuiteNeeds.OwnNodes, async (context, ct) =>
        {
            var wait = context.Deadline - DateTimeOffset.UtcNow;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, ct);
            }

            return new SuiteResult(name, 1, 1, [], wait);
        });

    private static SuiteRunOptions Options(TimeSpan budget, PairSource? pair = null, bool ownNodes = true) => new()
    {
        Budget = budget,
        Seed = 42,
        OwnNodes = ownNodes,
        Pair = pair,
        ReplayCommand = suite => $"ctlha-conform self --seed 42 --suite {suite}",
    };

    [Fact]
    public void The_budget_is_split_equally_among_the_suites_left()
    {
        Assert.Equal(TimeSpan.FromSeconds(20), SuiteRunner.SliceFor(TimeSpan.FromSeconds(60), 3));
        Assert.Equal(TimeSpan.FromSeconds(60), SuiteRunner.SliceFor(TimeSpan.FromSeconds(60), 1));
        Assert.Equal(TimeSpan.Zero, SuiteRunner.SliceFor(TimeSpan.FromSeconds(-1), 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => SuiteRunner.SliceFor(TimeSpan.FromSeconds(1), 0));
    }

    [Fact(Timeout = 30_000)]
    public async Task A_suite_that_finishes_early_gives_its_time_to_the_ones_after_it()
    {
        var quick = Passing("quick");
        var second = UntilDeadline("second");
        var third = UntilDeadline("third");

        var report = await SuiteRunner.RunAsync([quick, second, third], Options(TimeSpan.FromSeconds(3)), CancellationToken.None);

        Assert.True(report.Passed);
        // quick was offered a third (1 s) and used ~0: second gets half of what is left when it starts, third all the
        // rest. Checked against when each one actually started (not against wall-clock durations, which a busy test
        // host stretches: a late Task.Delay in second only shortens third's share, as it should).
        var runDeadline = quick.StartedAt + TimeSpan.FromSeconds(3);
        var quickSlice = quick.Context!.Deadline - quick.StartedAt;
        var secondSlice = second.Context!.Deadline - second.StartedAt;
        var thirdSlice = third.Context!.Deadline - third.StartedAt;
        Assert.InRange(quickSlice.TotalSeconds, 0.9, 1.05);
        Assert.InRange(secondSlice.TotalSeconds, 1.3, 1.55); // ~3 s left when it starts: half
        Assert.InRange((secondSlice - (runDeadline - second.StartedAt) / 2).TotalSeconds, -0.1, 0.1);
        Assert.InRange((third.Context.Deadline - runDeadline).TotalSeconds, -0.1, 0.1); // third: the rest, up to the run's end
        Assert.True(thirdSlice > TimeSpan.Zero);
        Assert.InRange(report.Duration.TotalSeconds, 2.5, 4.5);
    }

    [Fact(Timeout = 30_000)]
    public async Task Every_suite_gets_the_run_seed_so_one_suite_can_be_replayed_alone()
    {
        var a = Passing("a");
        var b = Passing("b");

        var report = await SuiteRunner.RunAsync([a, b], Options(TimeSpan.FromSeconds(2)), CancellationToken.None);

        Assert.Equal(42, a.Context!.Seed);
        Assert.Equal(42, b.Context!.Seed);
        Assert.Equal(42, report.Seed);
        Assert.Equal("ctlha-conform self --seed 42 --suite b", report.Suites[1].ReplayCommand);
        Assert.Equal(20, report.TotalOperations);
        Assert.Equal(2, report.TotalCases);
    }

    [Fact(Timeout = 30_000)]
    public async Task Suites_whose_needs_the_target_cannot_meet_are_skipped_with_the_reason()
    {
        var own = Passing("own", SuiteNeeds.OwnNodes);
        var needsPair = Passing("pair-only", SuiteNeeds.Pair);
        var needsRoles = Passing("roles", SuiteNeeds.Pair | SuiteNeeds.RoleControl);
        var needsFaults = Passing("faults", SuiteNeeds.Pair | SuiteNeeds.FaultControl);
        var pair = new FakePair(SuiteNeeds.Pair | SuiteNeeds.RoleControl);
        var source = new PairSource(pair.Capabilities, _ => Task.FromResult<IPairUnderTest>(pair), Shared: true);

        var report = await SuiteRunner.RunAsync([own, needsPair, needsRoles, needsFaults], Options(TimeSpan.FromSeconds(2), source, ownNodes: false), CancellationToken.None);

        Assert.Equal([SuiteVerdict.Skipped, SuiteVerdict.Passed, SuiteVerdict.Passed, SuiteVerdict.Skipped], report.Suites.Select(s => s.Verdict));
        Assert.Contains("only `ctlha-conform self`", report.Suites[0].SkipReason, StringComparison.Ordinal);
        Assert.Contains("kill/restart", report.Suites[3].SkipReason, StringComparison.Ordinal);
        Assert.Null(own.Context);
        Assert.Null(needsFaults.Context);
        Assert.Same(pair, needsPair.Context!.Pair);
        Assert.Same(pair, needsRoles.Context!.Pair);
        Assert.True(report.Passed, "skips do not fail a run");
        Assert.Equal(1, pair.Disposed);
    }

    [Fact(Timeout = 30_000)]
    public async Task Without_a_pair_the_pair_suites_are_skipped_with_the_given_reason()
    {
        var report = await SuiteRunner.RunAsync([Passing("pair-only", SuiteNeeds.Pair)],
            Options(TimeSpan.FromSeconds(1)) with { NoPairReason = "no embedded pair yet" }, CancellationToken.None);

        Assert.Equal(SuiteVerdict.Skipped, report.Suites[0].Verdict);
        Assert.Equal("no embedded pair yet", report.Suites[0].SkipReason);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_pair_that_is_not_shared_is_opened_for_each_suite_and_disposed_after_it()
    {
        var pairs = new List<FakePair>();
        var source = new PairSource(SuiteNeeds.Pair, _ =>
        {
            var p = new FakePair(SuiteNeeds.Pair);
            pairs.Add(p);
            return Task.FromResult<IPairUnderTest>(p);
        }, Shared: false);

        var report = await SuiteRunner.RunAsync([Passing("one", SuiteNeeds.Pair), Passing("two", SuiteNeeds.Pair)], Options(TimeSpan.FromSeconds(2), source), CancellationToken.None);

        Assert.True(report.Passed);
        Assert.Equal(2, pairs.Count);
        Assert.All(pairs, p => Assert.Equal(1, p.Disposed));
    }

    [Fact(Timeout = 30_000)]
    public async Task A_pair_that_cannot_be_opened_fails_that_suite_only()
    {
        var source = new PairSource(SuiteNeeds.Pair, _ => throw new InvalidOperationException("node B did not start"), Shared: false);

        var report = await SuiteRunner.RunAsync([Passing("needs-pair", SuiteNeeds.Pair), Passing("own")], Options(TimeSpan.FromSeconds(2), source), CancellationToken.None);

        Assert.Equal([SuiteVerdict.Failed, SuiteVerdict.Passed], report.Suites.Select(s => s.Verdict));
        Assert.Contains("node B did not start", report.Suites[0].Result!.Failures[0].Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_suite_that_throws_fails_with_the_message_and_the_run_goes_on()
    {
        var throwing = new ScriptedSuite("throws", SuiteNeeds.OwnNodes, (context, _) =>
        {
            context.Progress(new SuiteProgress(3, 77, 0, null));
            throw new InvalidOperationException("backing file vanished");
        });
        var after = Passing("after");

        var report = await SuiteRunner.RunAsync([throwing, after], Options(TimeSpan.FromSeconds(2)), CancellationToken.None);

        Assert.False(report.Passed);
        var failed = report.Suites[0];
        Assert.Equal(SuiteVerdict.Failed, failed.Verdict);
        var failure = Assert.Single(failed.Result!.Failures);
        Assert.Contains("InvalidOperationException: backing file vanished", failure.Message, StringComparison.Ordinal);
        Assert.Equal("ctlha-conform self --seed 42 --suite throws", failure.Replay);
        Assert.Equal(3, failed.Cases);
        Assert.Equal(77, failed.Operations);
        Assert.Equal(SuiteVerdict.Passed, report.Suites[1].Verdict);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_suite_that_ignores_its_deadline_is_cancelled_after_the_grace_and_failed()
    {
        var stubborn = new ScriptedSuite("stubborn", SuiteNeeds.OwnNodes, async (_, ct) =>
        {
            await Task.Delay(TimeSpan.FromMinutes(5), ct);
            return new SuiteResult("stubborn", 0, 0, [], TimeSpan.Zero);
        });

        var report = await SuiteRunner.RunAsync([stubborn], Options(TimeSpan.FromSeconds(1)) with { OverrunGrace = TimeSpan.FromMilliseconds(300) }, CancellationToken.None);

        Assert.Equal(SuiteVerdict.Failed, report.Suites[0].Verdict);
        Assert.Contains("after its deadline", report.Suites[0].Result!.Failures[0].Message, StringComparison.Ordinal);
        Assert.InRange(report.Duration.TotalSeconds, 1.0, 5);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_failing_case_fails_the_run_and_keeps_its_trace()
    {
        var failing = new ScriptedSuite("failing", SuiteNeeds.OwnNodes, (_, _) => Task.FromResult(new SuiteResult("failing", 2, 5,
            [new SuiteFailure("case 2", "GOOD ≠ CHECK CONDITION", ["B: init2 WRITE(10) lba=8 len=1 → GOOD"], "case 2")], TimeSpan.Zero)));

        var report = await SuiteRunner.RunAsync([failing], Options(TimeSpan.FromSeconds(1)), CancellationToken.None);

        Assert.False(report.Passed);
        Assert.Equal(1, report.TotalFailures);
        Assert.Equal("B: init2 WRITE(10) lba=8 len=1 → GOOD", report.Suites[0].Result!.Failures[0].Trace[0]);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_cancelled_run_reports_the_suites_it_did_not_start_as_skipped()
    {
        using var cts = new CancellationTokenSource();
        var first = new ScriptedSuite("first", SuiteNeeds.OwnNodes, async (_, _) =>
        {
            await cts.CancelAsync();
            return new SuiteResult("first", 1, 1, [], TimeSpan.Zero);
        });

        var report = await SuiteRunner.RunAsync([first, Passing("second")], Options(TimeSpan.FromSeconds(2)), cts.Token);

        Assert.Equal(SuiteVerdict.Passed, report.Suites[0].Verdict);
        Assert.Equal(SuiteVerdict.Skipped, report.Suites[1].Verdict);
        Assert.Equal("run cancelled", report.Suites[1].SkipReason);
    }

    [Fact(Timeout = 30_000)]
    public async Task Unexpected_node_errors_found_when_the_pair_stops_fail_the_suite_that_used_it()
    {
        var pair = new FakePair(SuiteNeeds.Pair, new InvalidOperationException("node logged 1 unexpected error line(s)"));
        var source = new PairSource(SuiteNeeds.Pair, _ => Task.FromResult<IPairUnderTest>(pair), Shared: false);

        var report = await SuiteRunner.RunAsync([Passing("one", SuiteNeeds.Pair, cases: 4)], Options(TimeSpan.FromSeconds(1), source), CancellationToken.None);

        var outcome = report.Suites[0];
        Assert.Equal(SuiteVerdict.Failed, outcome.Verdict);
        Assert.Equal(4, outcome.Cases);
        Assert.Contains("unexpected error", Assert.Single(outcome.Result!.Failures).Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_suite_that_starts_its_own_nodes_gets_no_pair_even_if_it_kills_and_promotes_them()
    {
        var opened = 0;
        var source = new PairSource(SuiteNeeds.Pair, _ =>
        {
            opened++;
            return Task.FromResult<IPairUnderTest>(new FakePair(SuiteNeeds.Pair));
        }, Shared: false);
        var ownPairs = Passing("own-pairs", SuiteNeeds.OwnNodes | SuiteNeeds.RoleControl | SuiteNeeds.FaultControl);

        var self = await SuiteRunner.RunAsync([ownPairs], Options(TimeSpan.FromSeconds(1), source), CancellationToken.None);
        var pair = await SuiteRunner.RunAsync([ownPairs], Options(TimeSpan.FromSeconds(1), source, ownNodes: false), CancellationToken.None);

        Assert.Equal(SuiteVerdict.Passed, self.Suites[0].Verdict);
        Assert.Null(ownPairs.Context!.Pair);
        Assert.Equal(0, opened);
        Assert.Equal(SuiteVerdict.Skipped, pair.Suites[0].Verdict);
    }
}

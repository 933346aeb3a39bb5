using System.Diagnostics;

namespace CtlHa.Conformance.Suites;

/// <summary>
/// Where suites that need a pair get one: the embedded pair of <c>self</c> (a fresh one per suite, so one suite's
/// faults never leak into the next) or the running pair of <c>pair</c> (one, shared, never torn down by the runner).
/// </summary>
/// <param name="Capabilities">What the pairs it opens can do (checked against each suite's needs before opening).</param>
/// <param name="OpenAsync">Opens (or returns) the pair.</param>
/// <param name="Shared">True: open once, reuse for every suite, dispose at the end of the run.</param>
public sealed record PairSource(SuiteNeeds Capabilities, Func<CancellationToken, Task<IPairUnderTest>> OpenAsync, bool Shared);

/// <summary>How <see cref="SuiteRunner"/> runs: budget, seed, what the target offers and who listens.</summary>
public sealed record SuiteRunOptions
{
    /// <summary>The whole run's time; split among the suites that can run (see <see cref="SuiteRunner.SliceFor"/>).</summary>
    public required TimeSpan Budget { get; init; }

    /// <summary>The run's seed, handed unchanged to every suite, so <c>--seed N --suite S</c> replays suite S alone.</summary>
    public required int Seed { get; init; }

    /// <summary>
    /// Whether suites that start their own nodes may run (<c>self</c>: yes; <c>pair</c>: no, the user's pair is the
    /// subject). Pair needs come from <see cref="Pair"/>.
    /// </summary>
    public bool OwnNodes { get; init; }

    /// <summary>The pair for suites that need one, or null (such suites are then skipped with the reason).</summary>
    public PairSource? Pair { get; init; }

    /// <summary>Why there is no pair (shown as the skip reason), when <see cref="Pair"/> is null.</summary>
    public string NoPairReason { get; init; } = "no pair to run against";

    /// <summary>The command line that replays one suite of this run (shown with each failure).</summary>
    public Func<string, string> ReplayCommand { get; init; } = suite => $"--seed <seed> --suite {suite}";

    /// <summary>How long past its deadline a suite may keep going before it is cancelled and failed.</summary>
    public TimeSpan OverrunGrace { get; init; } = TimeSpan.FromSeconds(45);

    public Action<IConformanceSuite, TimeSpan>? SuiteStarting { get; init; }

    public Action<IConformanceSuite, SuiteProgress>? Progress { get; init; }

    public Action<SuiteOutcome>? SuiteFinished { get; init; }

    public Action<string>? Log { get; init; }
}

public enum SuiteVerdict
{
    Passed,
    Failed,
    Skipped,
}

/// <summary>One suite's end: its result (null when skipped), why it was skipped, and the command that replays it.</summary>
public sealed record SuiteOutcome(string Name, SuiteVerdict Verdict, SuiteResult? Result, string? SkipReason, string ReplayCommand)
{
    public long Operations => Result?.Operations ?? 0;

    public int Cases => Result?.Cases ?? 0;

    public int FailureCount => Result?.Failures.Count ?? 0;
}

/// <summary>A whole run: the seed to replay it, and every suite's outcome in order.</summary>
public sealed record SuiteRunReport(int Seed, TimeSpan Budget, IReadOnlyList<SuiteOutcome> Suites, TimeSpan Duration)
{
    /// <summary>True when no suite failed (skips do not fail a run: they are listed with their reason).</summary>
    public bool Passed => Suites.All(s => s.Verdict != SuiteVerdict.Failed);

    public long TotalOperations => Suites.Sum(s => s.Operations);

    public int TotalCases => Suites.Sum(s => s.Cases);

    public int TotalFailures => Suites.Sum(s => s.FailureCount);
}

/// <summary>
/// Runs conformance suites in order within one time budget. Each runnable suite gets an equal share of what is left
/// when it starts, so a suite that finishes early gives its time back to the ones after it. A suite whose needs the
/// target cannot meet is skipped with the reason; a suite that throws fails with the exception's message (the run goes
/// on); a suite that overruns its deadline by more than the grace is cancelled and failed.
/// </summary>
public static class SuiteRunner
{
    /// <summary>Picks a seed for a run without <c>--seed</c> (non-negative, so it types back unchanged).</summary>
    public static int NewSeed() => Random.Shared.Next(1, int.MaxValue);

    /// <summary>The share of <paramref name="remaining"/> for the next of <paramref name="suitesLeft"/> suites.</summary>
    public static TimeSpan SliceFor(TimeSpan remaining, int suitesLeft)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(suitesLeft, 1);
        return remaining <= TimeSpan.Zero ? TimeSpan.Zero : remaining / suitesLeft;
    }

    /// <summary>Null when <paramref name="suite"/> can run with what the options offer, else the reason it cannot.</summary>
    public static string? SkipReason(IConformanceSuite suite, SuiteRunOptions options)
    {
        ArgumentNullException.ThrowIfNull(suite);
        ArgumentNullException.ThrowIfNull(options);
        var needs = suite.Needs;
        if (needs.HasFlag(SuiteNeeds.OwnNodes))
        {
            // It starts its own nodes (or pairs): the other flags describe what it does to them, not what it asks of ours.
            return options.OwnNodes ? null : "starts its own nodes: only `ctlha-conform self` runs it";
        }

        var pairNeeds = needs & ~SuiteNeeds.OwnNodes;
        if (pairNeeds == 0)
        {
            return null;
        }

        if (options.Pair is not { } pair)
        {
            return options.NoPairReason;
        }

        var missing = pairNeeds & ~(pair.Capabilities | SuiteNeeds.Pair);
        return missing == 0 ? null : $"needs {Describe(missing)}, which this pair's adapter does not offer";
    }

    /// <summary>Human words for needs (skip reasons).</summary>
    public static string Describe(SuiteNeeds needs)
    {
        var parts = new List<string>();
        if (needs.HasFlag(SuiteNeeds.OwnNodes))
        {
            parts.Add("its own nodes");
        }

        if (needs.HasFlag(SuiteNeeds.Pair))
        {
            parts.Add("a pair");
        }

        if (needs.HasFlag(SuiteNeeds.RoleControl))
        {
            parts.Add("promote/demote (--control-a/-b or --promote-a/... commands)");
        }

        if (needs.HasFlag(SuiteNeeds.FaultControl))
        {
            parts.Add("kill/restart and link cut/stall (only the embedded pair of `self`)");
        }

        return parts.Count == 0 ? "nothing" : string.Join(", ", parts);
    }

    public static async Task<SuiteRunReport> RunAsync(IReadOnlyList<IConformanceSuite> suites, SuiteRunOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(suites);
        ArgumentNullException.ThrowIfNull(options);
        var clock = Stopwatch.StartNew();
        var outcomes = new SuiteOutcome?[suites.Count];
        var runnable = new List<int>();
        for (var i = 0; i < suites.Count; i++)
        {
            if (SkipReason(suites[i], options) is { } reason)
            {
                outcomes[i] = new SuiteOutcome(suites[i].Name, SuiteVerdict.Skipped, null, reason, options.ReplayCommand(suites[i].Name));
            }
            else
            {
                runnable.Add(i);
            }
        }

        IPairUnderTest? shared = null;
        try
        {
            for (var k = 0; k < runnable.Count; k++)
            {
                var suite = suites[runnable[k]];
                var replay = options.ReplayCommand(suite.Name);
                if (cancellationToken.IsCancellationRequested)
                {
                    outcomes[runnable[k]] = new SuiteOutcome(suite.Name, SuiteVerdict.Skipped, null, "run cancelled", replay);
                    continue;
                }

                var slice = SliceFor(options.Budget - clock.Elapsed, runnable.Count - k);
                options.SuiteStarting?.Invoke(suite, slice);
                SuiteOutcome outcome;
                if (slice <= TimeSpan.Zero)
                {
                    outcome = new SuiteOutcome(suite.Name, SuiteVerdict.Skipped, null, "the budget was used up before it started", replay);
                }
                else
                {
                    (outcome, shared) = await RunOneAsync(suite, slice, options, shared, replay, cancellationToken).ConfigureAwait(false);
                }

                outcomes[runnable[k]] = outcome;
                options.SuiteFinished?.Invoke(outcome);
            }
        }
        finally
        {
            if (shared is not null)
            {
                await shared.DisposeAsync().ConfigureAwait(false);
            }
        }

        return new SuiteRunReport(options.Seed, options.Budget, [.. outcomes.Select(o => o!)], clock.Elapsed);
    }

    private static async Task<(SuiteOutcome Outcome, IPairUnderTest? Shared)> RunOneAsync(IConformanceSuite suite, TimeSpan slice, SuiteRunOptions options,
        IPairUnderTest? shared, string replay, CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        var deadline = DateTimeOffset.UtcNow + slice;
        var last = new SuiteProgress(0, 0, 0, null);
        var needsPair = NeedsPair(suite);
        IPairUnderTest? own = null;
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(slice + options.OverrunGrace);
        SuiteOutcome outcome;
        try
        {
            IPairUnderTest? pair = null;
            if (needsPair)
            {
                var source = options.Pair!;
                try
                {
                    if (source.Shared)
                    {
                        shared ??= await source.OpenAsync(limit.Token).ConfigureAwait(false);
                        pair = shared;
                    }
                    else
                    {
                        pair = own = await source.OpenAsync(limit.Token).ConfigureAwait(false);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    return (Failed(suite, last, started.Elapsed, "pair", $"could not open the pair: {Message(e)}", replay), shared);
                }
            }

            var context = new SuiteContext
            {
                Seed = options.Seed,
                Deadline = deadline,
                Pair = pair,
                Progress = p =>
                {
                    last = p;
                    options.Progress?.Invoke(suite, p);
                },
                Log = line => options.Log?.Invoke($"{suite.Name}: {line}"),
            };
            try
            {
                var result = await suite.RunAsync(context, limit.Token).ConfigureAwait(false);
                var verdict = result.Passed ? SuiteVerdict.Passed : SuiteVerdict.Failed;
                outcome = new SuiteOutcome(suite.Name, verdict, result with { Suite = suite.Name }, null, replay);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                outcome = Failed(suite, last, started.Elapsed, "budget",
                    $"still running {options.OverrunGrace.TotalSeconds:F0}s after its deadline ({slice.TotalSeconds:F0}s slice): cancelled", replay);
            }
            catch (OperationCanceledException)
            {
                outcome = Failed(suite, last, started.Elapsed, "cancelled", "the run was cancelled", replay);
            }
            catch (Exception e)
            {
                outcome = Failed(suite, last, started.Elapsed, "suite", $"the suite threw {Message(e)}", replay);
            }
        }
        catch
        {
            if (own is not null)
            {
                await own.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }

        if (own is not null)
        {
            try
            {
                await own.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // The pair's nodes logged errors nobody expected, or would not stop: that is this suite's failure too.
                var result = outcome.Result ?? new SuiteResult(suite.Name, last.Cases, last.Operations, [], started.Elapsed);
                outcome = outcome with
                {
                    Verdict = SuiteVerdict.Failed,
                    Result = result with { Failures = [.. result.Failures, new SuiteFailure("pair teardown", $"stopping the pair failed: {Message(e)}", [], replay)] },
                };
            }
        }

        return (outcome, shared);
    }

    /// <summary>A suite gets a pair when it asks for one and does not start its own nodes (SuiteContext.Pair: null for OwnNodes suites).</summary>
    private static bool NeedsPair(IConformanceSuite suite) =>
        !suite.Needs.HasFlag(SuiteNeeds.OwnNodes) && (suite.Needs & ~SuiteNeeds.OwnNodes) != 0;

    private static SuiteOutcome Failed(IConformanceSuite suite, SuiteProgress last, TimeSpan duration, string caseName, string message, string replay) =>
        new(suite.Name, SuiteVerdict.Failed,
            new SuiteResult(suite.Name, last.Cases, last.Operations, [new SuiteFailure(caseName, message, [], replay)], duration), null, replay);

    private static string Message(Exception e) => $"{e.GetType().Name}: {e.Message}";
}

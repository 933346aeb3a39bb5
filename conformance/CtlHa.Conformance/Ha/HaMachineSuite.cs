using System.Diagnostics;
using System.Globalization;
using CtlHa.Conformance.Suites;
using CtlHa.Spec;
using FsCheck;
using FsCheck.Experimental;
using Microsoft.FSharp.Core;

namespace CtlHa.Conformance.Ha;

/// <summary>
/// The HA/ALUA machine suite (issue 6): model-based sequences of SCSI commands from initiators on both nodes, link
/// cut/stall/restore, SIGKILL and restart, promote/demote, each checked against the set of answers the model allows.
/// </summary>
/// <remarks>
/// Every case starts its own fresh embedded pair (a state machine needs a known initial state, and shrinking re-runs
/// prefixes), so the pair in <see cref="SuiteContext.Pair"/> is not driven; the needs say what the suite does to a
/// pair: roles, kills and link faults, which only an embedded pair offers. Case k of seed N uses seed N+k and mode
/// (N+k) mod 3 (standby, shared, proxy): <c>--seed N+k</c> replays it as the first case.
/// </remarks>
public sealed class HaMachineSuite : IConformanceSuite
{
    /// <summary>Operations per sequence (at most).</summary>
    public const int MaxSteps = 25;

    /// <summary>How long shrinking may go on past the deadline (the runner cancels a suite 45 s past it).</summary>
    public static readonly TimeSpan ShrinkGrace = TimeSpan.FromSeconds(35);

    private static readonly HaMode[] Modes = [HaMode.Standby, HaMode.Shared, HaMode.Proxy];

    public string Name => "ha-machine";

    public string Description => "HA/ALUA state machine: commands through both nodes, link faults, kills, restarts and role changes against the model's allowed outcomes";

    public SuiteNeeds Needs => SuiteNeeds.Pair | SuiteNeeds.RoleControl | SuiteNeeds.FaultControl;

    /// <summary>The HA mode of the case run with <paramref name="caseSeed"/>.</summary>
    public static HaMode ModeOf(int caseSeed) => Modes[(int)((uint)caseSeed % 3)];

    public async Task<SuiteResult> RunAsync(SuiteContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var clock = Stopwatch.StartNew();
        var failures = new List<SuiteFailure>();
        var cases = 0;
        long operations = 0;
        var operationTime = TimeSpan.Zero;
        var late = 0;
        var disturbed = 0;
        // A case takes a few seconds (two node starts); do not start one that cannot finish before the deadline.
        while (DateTimeOffset.UtcNow + TimeSpan.FromSeconds(4) < context.Deadline && !cancellationToken.IsCancellationRequested && failures.Count == 0)
        {
            var caseSeed = unchecked(context.Seed + cases);
            var mode = ModeOf(caseSeed);
            var log = new HaRunLog(mode, caseSeed, context.Deadline + ShrinkGrace, cancellationToken) { Log = context.Log };
            context.Progress(new SuiteProgress(cases, operations, failures.Count, $"case {cases + 1} seed {caseSeed} {mode.ToString().ToLowerInvariant()}"));
            string? thrown = null;
            try
            {
                await Task.Run(() => Check.One(Config(caseSeed), new HaMachine(log, MaxSteps).ToProperty()), cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                thrown = e.Message;
            }

            cases++;
            operations += log.Operations;
            operationTime += log.OperationTime;
            late += log.LateUas;
            disturbed += log.DisturbedRuns;
            if (thrown is not null)
            {
                var trace = log.FailingTrace is { } t
                    ? [$"mode {mode.ToString().ToLowerInvariant()}, fresh pair (A primary, B secondary, linked); init1,init2 on A; init3,init4 on B", .. t]
                    : (IReadOnlyList<string>)[.. thrown.Split('\n').Take(60)];
                failures.Add(new SuiteFailure(
                    $"seed {caseSeed} ({mode.ToString().ToLowerInvariant()})",
                    log.FailingMessage ?? FirstLine(thrown),
                    trace,
                    $"--suite {Name} --seed {caseSeed.ToString(CultureInfo.InvariantCulture)}"));
                context.Log($"ha-machine seed {caseSeed}: FAILED after {log.Runs} runs (shrinking included)\n{string.Join("\n", trace)}\nlast pair log lines:\n{log.LastPairLogs}");
            }
            else
            {
                context.Log($"ha-machine seed {caseSeed} {mode.ToString().ToLowerInvariant()}: {log.Operations} operations passed");
            }

            context.Progress(new SuiteProgress(cases, operations, failures.Count, null));
        }

        var rate = operationTime.TotalSeconds > 0 ? operations / operationTime.TotalSeconds : 0;
        context.Log($"ha-machine: {cases} cases, {operations} operations, {rate:0.0} operations/s while sequences ran ({operationTime.TotalSeconds:0.0} s of {clock.Elapsed.TotalSeconds:0.0} s; the rest is node start/stop); late UAs accepted {late}, runs disturbed by an unplanned link loss (not judged from there) {disturbed}, H1 relaxations {HaExclusions.H1Applied}");
        return new SuiteResult(Name, cases, operations, failures, clock.Elapsed);
    }

    /// <summary>One sequence (MaxTest 1) of up to <see cref="MaxSteps"/> operations, generated from <paramref name="caseSeed"/>.</summary>
    public static Config Config(int caseSeed) =>
        FsCheck.Config.QuickThrowOnFailure
            .WithMaxTest(1)
            .WithStartSize(MaxSteps)
            .WithEndSize(MaxSteps)
            .WithQuietOnSuccess(true)
            .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd(unchecked((ulong)(uint)caseSeed * 0x9E3779B97F4A7C15UL + 1), 0x9E3779B97F4A7C15UL), FSharpOption<int>.None)));

    private static string FirstLine(string text) => text.Split('\n', 2)[0];
}

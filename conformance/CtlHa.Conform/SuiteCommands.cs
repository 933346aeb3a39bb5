using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using CtlHa.Conformance.Ha;
using CtlHa.Conformance.Suites;
using CtlHa.Conformance.Suites.Adapters;
using CtlHa.Initiator;
using Spectre.Console;

namespace CtlHa.Conform;

/// <summary>
/// <c>ctlha-conform self</c> (every suite against an embedded pair and nodes it starts) and <c>ctlha-conform pair</c>
/// (the iSCSI-level suites against a running pair, controlled through an adapter). Both: <c>--budget</c>, <c>--seed</c>
/// (always printed, so a run can be replayed), <c>--junit</c>, <c>--suite</c>; progress while running, then a table and
/// each failure's shrunk trace with its replay command. Exit 0 when every suite that ran passed, 1 on a failure, 2 on a
/// usage error or when no suite could run.
/// </summary>
public static class SuiteCommands
{
    private sealed record CommonOptions(Option<string> Budget, Option<int?> Seed, Option<string?> JUnit, Option<string[]> Suites, Option<bool> Verbose)
    {
        public static CommonOptions Create() => new(
            new Option<string>("--budget") { Description = "total time for all suites: 60s, 2m, 1h or seconds (e.g. 90)", DefaultValueFactory = _ => "60s" },
            new Option<int?>("--seed") { Description = "the run's seed (printed on every run; reuse it to replay)" },
            new Option<string?>("--junit") { Description = "write a JUnit XML report to FILE" },
            new Option<string[]>("--suite") { Description = "run only this suite (repeatable)", AllowMultipleArgumentsPerToken = false },
            new Option<bool>("--verbose") { Description = "print the suites' log lines" });

        public void AddTo(Command command)
        {
            command.Add(Budget);
            command.Add(Seed);
            command.Add(JUnit);
            command.Add(Suites);
            command.Add(Verbose);
        }
    }

    public static Command BuildSelf()
    {
        var common = CommonOptions.Create();
        var mode = new Option<string>("--mode") { Description = "HA mode of the embedded pair: standby | shared | proxy", DefaultValueFactory = _ => "proxy" };
        mode.AcceptOnlyFromAmong("standby", "shared", "proxy");
        var cmd = new Command("self", "run every spec-driven suite against an embedded pair (and nodes it starts itself)") { mode };
        common.AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            var haMode = parse.GetValue(mode) switch
            {
                "standby" => CtlHa.Spec.HaMode.Standby,
                "shared" => CtlHa.Spec.HaMode.Shared,
                _ => CtlHa.Spec.HaMode.Proxy,
            };
            return await RunAsync("self", parse, common, SuiteCatalog.ForSelf(), ownNodes: true, seed => new PairSource(
                SuiteNeeds.Pair | SuiteNeeds.RoleControl | SuiteNeeds.FaultControl,
                async token => await EmbeddedPair.StartAsync(new EmbeddedPairOptions { Mode = haMode, Seed = seed }, token).ConfigureAwait(false),
                Shared: false), $"embedded {parse.GetValue(mode)} pair", ct).ConfigureAwait(false);
        });
        return cmd;
    }

    public static Command BuildPair()
    {
        var common = CommonOptions.Create();
        var a = new Option<string>("--a") { Description = "node A's iSCSI URL, iscsi://host:port/target-iqn", Required = true };
        var b = new Option<string>("--b") { Description = "node B's iSCSI URL", Required = true };
        var controlA = new Option<string?>("--control-a") { Description = "node A's control API (CtlHa): host:port or http://host:port" };
        var controlB = new Option<string?>("--control-b") { Description = "node B's control API" };
        var promoteA = new Option<string?>("--promote-a") { Description = "shell command making A primary ({lun} = LUN or 'all'), e.g. 'ssh a sysctl kern.cam.ctl.ha_role=0'" };
        var promoteB = new Option<string?>("--promote-b") { Description = "shell command making B primary" };
        var demoteA = new Option<string?>("--demote-a") { Description = "shell command making A secondary" };
        var demoteB = new Option<string?>("--demote-b") { Description = "shell command making B secondary" };
        var linked = new Option<string?>("--linked-cmd") { Description = "optional shell command exiting 0 once the interlink is up on both nodes" };
        var commandTimeout = new Option<string>("--command-timeout") { Description = "limit for each shell command (60s)", DefaultValueFactory = _ => "60s" };
        var cmd = new Command("pair", "run the iSCSI-level suites against a running pair (node control through the control API or shell commands)")
        {
            a, b, controlA, controlB, promoteA, promoteB, demoteA, demoteB, linked, commandTimeout,
        };
        common.AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            var urls = new List<Uri>();
            foreach (var (option, name) in new[] { (a, "--a"), (b, "--b") })
            {
                var text = parse.GetValue(option)!;
                if (!IscsiUrl.TryParse(text, out _) || !Uri.TryCreate(text, UriKind.Absolute, out var uri))
                {
                    return Usage("pair", $"{name} '{text}' is not iscsi://host[:port]/target-iqn[/lun]");
                }

                urls.Add(uri);
            }

            string? ca = parse.GetValue(controlA), cb = parse.GetValue(controlB);
            var shell = new[] { (parse.GetValue(promoteA), "--promote-a"), (parse.GetValue(promoteB), "--promote-b"), (parse.GetValue(demoteA), "--demote-a"), (parse.GetValue(demoteB), "--demote-b") };
            var anyShell = shell.Any(s => s.Item1 is not null) || parse.GetValue(linked) is not null;
            IPairUnderTest pair;
            string description;
            if (ca is not null || cb is not null)
            {
                if (anyShell)
                {
                    return Usage("pair", "give either --control-a/--control-b (CtlHa's control API) or the --promote-*/--demote-* commands, not both");
                }

                if (!ControlApiClient.TryParseAddress(ca, out var addressA) || !ControlApiClient.TryParseAddress(cb, out var addressB))
                {
                    return Usage("pair", "--control-a and --control-b must both be given as host:port or http://host:port");
                }

                pair = new ControlApiPair(urls[0], urls[1], addressA, addressB);
                description = $"running pair, control API {addressA} / {addressB}";
            }
            else if (anyShell)
            {
                var missing = shell.Where(s => s.Item1 is null).Select(s => s.Item2).ToList();
                if (missing.Count > 0)
                {
                    return Usage("pair", $"shell control needs all four commands; missing {string.Join(", ", missing)}");
                }

                if (!Budget.TryParse(parse.GetValue(commandTimeout), out var timeout, out var timeoutError))
                {
                    return Usage("pair", timeoutError!.Replace("--budget", "--command-timeout", StringComparison.Ordinal));
                }

                pair = new ShellCommandPair(urls[0], urls[1], new ShellCommands(shell[0].Item1!, shell[1].Item1!, shell[2].Item1!, shell[3].Item1!, parse.GetValue(linked)) { Timeout = timeout });
                description = "running pair, shell-command control";
            }
            else
            {
                pair = new PortalsOnlyPair(urls[0], urls[1]);
                description = "running pair, no node control";
            }

            await using (pair.ConfigureAwait(false))
            {
                return await RunAsync("pair", parse, common, SuiteCatalog.ForPair(), ownNodes: false,
                    _ => new PairSource(pair.Capabilities, _ => Task.FromResult(pair), Shared: false), description, ct).ConfigureAwait(false);
            }
        });
        return cmd;
    }

    private static async Task<int> RunAsync(string verb, ParseResult parse, CommonOptions common, IReadOnlyList<IConformanceSuite> catalog, bool ownNodes,
        Func<int, PairSource> pairFor, string targetDescription, CancellationToken cancellationToken)
    {
        if (!Budget.TryParse(parse.GetValue(common.Budget), out var budget, out var budgetError))
        {
            return Usage(verb, budgetError!);
        }

        var suites = SuiteCatalog.Select(catalog, parse.GetValue(common.Suites) ?? [], out var suiteError);
        if (suites is null)
        {
            return Usage(verb, suiteError!);
        }

        var seed = parse.GetValue(common.Seed) ?? SuiteRunner.NewSeed();
        var verbose = parse.GetValue(common.Verbose);
        var replayBase = ReplayBase(parse);
        Console.WriteLine($"{verb}: seed {seed}, budget {Budget.Format(budget)}, {suites.Count} suite(s) against {targetDescription}");

        var interactive = AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected;
        var state = new Dictionary<string, (Stopwatch Clock, TimeSpan Slice, SuiteProgress Progress)>(StringComparer.Ordinal);
        var gate = new Lock();
        var options = new SuiteRunOptions
        {
            Budget = budget,
            Seed = seed,
            OwnNodes = ownNodes,
            Pair = pairFor(seed),
            ReplayCommand = suite => $"{replayBase} --seed {seed} --suite {suite}",
            Log = verbose ? line => Console.Error.WriteLine($"  {line}") : null,
        };

        SuiteRunReport report;
        if (interactive)
        {
            report = null!;
            await AnsiConsole.Progress()
                .AutoClear(true)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new ElapsedTimeColumn())
                .StartAsync(async ctx =>
                {
                    var tasks = suites.ToDictionary(s => s.Name, s => ctx.AddTask(Markup.Escape(s.Name), autoStart: false, maxValue: 1000));
                    using var refresh = new CancellationTokenSource();
                    var ticker = Task.Run(async () =>
                    {
                        while (!refresh.IsCancellationRequested)
                        {
                            lock (gate)
                            {
                                foreach (var (name, (clock, slice, progress)) in state)
                                {
                                    var task = tasks[name];
                                    if (!task.IsFinished)
                                    {
                                        task.Value = Math.Min(999, 1000 * clock.Elapsed / (slice > TimeSpan.Zero ? slice : TimeSpan.FromSeconds(1)));
                                        task.Description = Markup.Escape($"{name}: {progress.Cases} cases, {progress.Operations} ops, {progress.Failures} failures{(progress.Current is { } c ? " — " + c : "")}");
                                    }
                                }
                            }

                            try
                            {
                                await Task.Delay(200, refresh.Token).ConfigureAwait(false);
                            }
                            catch (OperationCanceledException)
                            {
                                break;
                            }
                        }
                    }, CancellationToken.None);
                    report = await SuiteRunner.RunAsync(suites, options with
                    {
                        SuiteStarting = (suite, slice) =>
                        {
                            lock (gate)
                            {
                                state[suite.Name] = (Stopwatch.StartNew(), slice, default);
                                tasks[suite.Name].StartTask();
                            }
                        },
                        Progress = (suite, p) =>
                        {
                            lock (gate)
                            {
                                if (state.TryGetValue(suite.Name, out var s))
                                {
                                    state[suite.Name] = (s.Clock, s.Slice, p);
                                }
                            }
                        },
                        SuiteFinished = outcome =>
                        {
                            lock (gate)
                            {
                                var task = tasks[outcome.Name];
                                task.Description = Markup.Escape($"{outcome.Name}: {Verdict(outcome)}");
                                task.Value = task.MaxValue;
                                task.StopTask();
                            }
                        },
                    }, cancellationToken).ConfigureAwait(false);
                    await refresh.CancelAsync().ConfigureAwait(false);
                    await ticker.ConfigureAwait(false);
                    foreach (var task in tasks.Values)
                    {
                        task.Value = task.MaxValue;
                        task.StopTask();
                    }
                }).ConfigureAwait(false);
        }
        else
        {
            // CI logs: one line per suite start and end, and a heartbeat every 10 seconds.
            var lastReport = new Dictionary<string, TimeSpan>(StringComparer.Ordinal);
            var since = Stopwatch.StartNew();
            report = await SuiteRunner.RunAsync(suites, options with
            {
                SuiteStarting = (suite, slice) =>
                {
                    lock (gate)
                    {
                        lastReport[suite.Name] = since.Elapsed;
                    }

                    Console.WriteLine($"  {suite.Name}: started ({slice.TotalSeconds:F0}s) — {suite.Description}");
                },
                Progress = (suite, p) =>
                {
                    lock (gate)
                    {
                        if (since.Elapsed >= lastReport.GetValueOrDefault(suite.Name) + TimeSpan.FromSeconds(10))
                        {
                            lastReport[suite.Name] = since.Elapsed;
                            Console.WriteLine($"  {suite.Name}: {p.Cases} cases, {p.Operations} operations, {p.Failures} failures");
                        }
                    }
                },
                SuiteFinished = outcome => Console.WriteLine($"  {outcome.Name}: {Verdict(outcome)}"),
            }, cancellationToken).ConfigureAwait(false);
        }

        Render(verb, report);
        if (parse.GetValue(common.JUnit) is { } junitPath)
        {
            JUnitReport.Write(junitPath, ToJUnit(verb, report));
            Console.WriteLine($"{verb}: JUnit report written to {junitPath}");
        }

        if (!report.Passed)
        {
            return 1;
        }

        return report.Suites.Any(s => s.Verdict == SuiteVerdict.Passed) ? 0 : 2;
    }

    private static string Verdict(SuiteOutcome o) => o.Verdict switch
    {
        SuiteVerdict.Passed => $"pass ({o.Cases} cases, {o.Operations} operations, {o.Result!.Duration.TotalSeconds:F1}s)",
        SuiteVerdict.Failed => $"FAIL ({o.FailureCount} failure(s), {o.Cases} cases, {o.Operations} operations)",
        _ => $"skipped: {o.SkipReason}",
    };

    private static void Render(string verb, SuiteRunReport report)
    {
        var table = new Table().AddColumns("suite", "result", "cases", "operations", "failures", "time");
        foreach (var s in report.Suites)
        {
            var result = s.Verdict switch
            {
                SuiteVerdict.Passed => "[green]pass[/]",
                SuiteVerdict.Failed => "[red]FAIL[/]",
                _ => "[grey]skipped[/]",
            };
            table.AddRow(
                Markup.Escape(s.Name),
                result,
                s.Cases.ToString(CultureInfo.InvariantCulture),
                s.Operations.ToString(CultureInfo.InvariantCulture),
                s.FailureCount.ToString(CultureInfo.InvariantCulture),
                s.Result is { } r ? $"{r.Duration.TotalSeconds:F1}s" : "-");
        }

        AnsiConsole.Write(table);
        foreach (var s in report.Suites.Where(s => s.Verdict == SuiteVerdict.Skipped))
        {
            Console.WriteLine($"skipped {s.Name}: {s.SkipReason}");
        }

        foreach (var s in report.Suites.Where(s => s.Verdict == SuiteVerdict.Failed))
        {
            foreach (var f in s.Result!.Failures)
            {
                Console.WriteLine();
                Console.WriteLine($"FAIL {s.Name} / {f.Case}: {f.Message}");
                foreach (var line in f.Trace)
                {
                    Console.WriteLine($"    {line}");
                }

                Console.WriteLine($"  replay: {s.ReplayCommand}{(string.IsNullOrEmpty(f.Replay) || f.Replay == s.ReplayCommand ? "" : $"   ({f.Replay})")}");
            }
        }

        Console.WriteLine();
        var ran = report.Suites.Count(s => s.Verdict != SuiteVerdict.Skipped);
        var skipped = report.Suites.Count - ran;
        Console.WriteLine($"{verb}: {report.TotalOperations} operations in {report.TotalCases} cases, {ran} suite(s) run, {skipped} skipped, " +
            $"{report.TotalFailures} failure(s), {report.Duration.TotalSeconds:F1}s; seed {report.Seed}");
    }

    private static IEnumerable<JUnitCase> ToJUnit(string verb, SuiteRunReport report)
    {
        foreach (var s in report.Suites)
        {
            var suite = $"ctlha-conform.{verb}.{s.Name}";
            switch (s.Verdict)
            {
                case SuiteVerdict.Skipped:
                    yield return new JUnitCase(suite, s.Name, true, s.SkipReason ?? "skipped", TimeSpan.Zero) { Skipped = true };
                    break;
                case SuiteVerdict.Passed:
                    yield return new JUnitCase(suite, $"{s.Name} ({s.Cases} cases, {s.Operations} operations, seed {report.Seed})", true, "", s.Result!.Duration);
                    break;
                default:
                    foreach (var f in s.Result!.Failures)
                    {
                        var detail = $"{f.Message}\n{string.Join("\n", f.Trace.Select(l => "  " + l))}\nreplay: {s.ReplayCommand}";
                        yield return new JUnitCase(suite, f.Case, false, detail, s.Result.Duration);
                    }

                    break;
            }
        }
    }

    /// <summary>The command line as typed, minus the options a replay sets itself (<c>--seed</c>, <c>--suite</c>, <c>--junit</c>).</summary>
    private static string ReplayBase(ParseResult parse)
    {
        var tokens = parse.Tokens.Select(t => t.Value).ToList();
        var kept = new List<string> { "ctlha-conform" };
        for (var i = 0; i < tokens.Count; i++)
        {
            if (tokens[i] is "--seed" or "--suite" or "--junit")
            {
                i++;
                continue;
            }

            if (tokens[i] == "--verbose")
            {
                continue;
            }

            kept.Add(Quote(tokens[i]));
        }

        return string.Join(' ', kept);
    }

    private static string Quote(string token) =>
        token.Length > 0 && token.All(c => char.IsLetterOrDigit(c) || "-_./:=@,+%".Contains(c, StringComparison.Ordinal))
            ? token
            : "'" + token.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static int Usage(string verb, string message)
    {
        Console.Error.WriteLine($"ctlha-conform {verb}: {message}");
        return 2;
    }
}

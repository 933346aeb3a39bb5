using System.CommandLine;
using System.Net;
using CtlHa.Wire;
using CtlHa.Conformance.Interlink;
using Spectre.Console;

namespace CtlHa.Conform;

/// <summary>The `ctlha-conform` command line (DESIGN.md): `peer` validates an interlink peer; `self` and `pair` run the suites.</summary>
public static class ConformCli
{
    public static RootCommand Build()
    {
        var root = new RootCommand("ctlha-conform: checks a CtlHa node or pair (or any implementation of the protocols) against the spec");
        root.Add(BuildPeer());
        root.Add(FuzzCommand.Build());
        root.Add(SuiteCommands.BuildSelf());
        root.Add(SuiteCommands.BuildPair());
        return root;
    }

    private static Command BuildPeer()
    {
        var connect = new Option<string?>("--connect") { Description = "ADDR:PORT of a node that listens (--peer listen:...)" };
        var listen = new Option<string?>("--listen") { Description = "ADDR:PORT to listen on for a node that connects (--peer connect:...)" };
        var psk = new Option<string?>("--psk-file") { Description = "the pair's pre-shared key file (hex text or raw bytes)" };
        var deadAfter = new Option<int>("--dead-after-ms") { Description = "the node's dead-peer interval", DefaultValueFactory = _ => 1000 };
        var junit = new Option<string?>("--junit") { Description = "write a JUnit XML report to FILE" };
        var mode = new Option<string?>("--mode") { Description = "the pair's HA mode (standby | shared | proxy): a node announcing another fails, as its peer would reject it" };
        mode.AcceptOnlyFromAmong("standby", "shared", "proxy");
        var cluster = new Option<string?>("--cluster") { Description = "the pair's cluster name: a node announcing another fails" };
        var cmd = new Command("peer", "act as the other node and check a node's interlink handshake") { connect, listen, psk, deadAfter, junit, mode, cluster };
        cmd.SetAction(async (parse, ct) =>
        {
            string? c = parse.GetValue(connect), l = parse.GetValue(listen);
            if ((c is null) == (l is null))
            {
                Console.Error.WriteLine("ctlha-conform peer: give exactly one of --connect ADDR:PORT or --listen ADDR:PORT");
                return 2;
            }
            if (!IPEndPoint.TryParse(c ?? l!, out var ep) || ep.Port == 0)
            {
                Console.Error.WriteLine($"ctlha-conform peer: '{c ?? l}' is not ADDR:PORT");
                return 2;
            }
            byte[]? key = null;
            if (parse.GetValue(psk) is { } pskFile)
            {
                if (!File.Exists(pskFile))
                {
                    Console.Error.WriteLine($"ctlha-conform peer: --psk-file '{pskFile}' does not exist");
                    return 2;
                }
                try
                {
                    key = InterlinkAuth.ReadKeyFile(pskFile);
                }
                catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
                {
                    Console.Error.WriteLine($"ctlha-conform peer: {e.Message}");
                    return 2;
                }
            }
            var validator = new PeerValidator(new PeerValidatorOptions
            {
                ConnectToNode = c is not null,
                EndPoint = ep,
                Psk = key,
                DeadAfter = TimeSpan.FromMilliseconds(parse.GetValue(deadAfter)),
                ExpectedMode = parse.GetValue(mode) switch
                {
                    "standby" => HaMode.Standby,
                    "shared" => HaMode.Shared,
                    "proxy" => HaMode.Proxy,
                    _ => null,
                },
                ExpectedCluster = parse.GetValue(cluster),
            });
            var table = new Table().AddColumns("check", "result", "time", "detail");
            IReadOnlyList<PeerCheckResult> results = [];
            await AnsiConsole.Progress()
                .AutoClear(true)
                .StartAsync(async ctx =>
                {
                    var task = ctx.AddTask("interlink checks", maxValue: PeerValidator.CheckNames.Count);
                    results = await validator.RunAsync(r =>
                    {
                        task.Increment(1);
                        task.Description = r.Name;
                    }, ct);
                });
            foreach (var r in results)
            {
                table.AddRow(Markup.Escape(r.Name), r.Passed ? "[green]pass[/]" : "[red]FAIL[/]", $"{r.Duration.TotalMilliseconds:F0} ms", Markup.Escape(r.Detail));
            }
            AnsiConsole.Write(table);
            int failed = results.Count(r => !r.Passed);
            Console.WriteLine($"peer: {results.Count - failed} passed, {failed} failed");
            if (parse.GetValue(junit) is { } junitPath)
            {
                JUnitReport.Write(junitPath, results.Select(r => new JUnitCase("interlink.peer", r.Name, r.Passed, r.Detail, r.Duration)));
            }
            return failed == 0 ? 0 : 1;
        });
        return cmd;
    }
}

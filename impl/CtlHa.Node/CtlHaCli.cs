using System.CommandLine;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace CtlHa.Node;

/// <summary>The `ctlha` command line (DESIGN.md "Command-line contract"; keep it stable).</summary>
public static class CtlHaCli
{
    public static RootCommand Build()
    {
        var root = new RootCommand("CtlHa: a dual-node high-availability SCSI target with ALUA over iSCSI");
        root.Add(BuildNode());
        root.Add(BuildPair());
        root.Add(BuildStatus());
        root.Add(BuildRole());
        root.Add(BuildLun());
        return root;
    }

    private static Command BuildNode()
    {
        var config = new Option<FileInfo?>("--config") { Description = "JSON settings file (flags override it)" };
        var portal = new Option<string[]>("--portal") { Description = "iSCSI listen address ADDR:PORT (repeatable)", AllowMultipleArgumentsPerToken = false };
        var target = new Option<string?>("--target") { Description = $"target IQN (default {NodeSettings.DefaultTarget})" };
        var lun = new Option<string[]>("--lun") { Description = "PATH[:SIZE] backing file (repeatable; LUN 0, 1, ... in order; created sparse if missing)" };
        var haId = new Option<int?>("--ha-id") { Description = "position in the pair: 1 or 2 (0 = no HA)" };
        var mode = new Option<HaModeSetting?>("--mode") { Description = "unavailable | standby | shared | proxy" };
        var peer = new Option<string?>("--peer") { Description = "listen:ADDR:PORT or connect:ADDR:PORT (interlink)" };
        var role = new Option<RoleSetting?>("--role") { Description = "primary | secondary (default role of every LUN)" };
        var psk = new Option<string?>("--psk-file") { Description = "interlink pre-shared key file" };
        var allowUnauth = new Option<bool>("--allow-unauthenticated") { Description = "lab only: interlink without a key (logged as a warning at every link-up)" };
        var cluster = new Option<string?>("--cluster") { Description = "cluster name; both nodes must agree (default ctlha)" };
        var control = new Option<string?>("--control") { Description = "control API ADDR:PORT (HTTP)" };
        var serseq = new Option<SerSeqSetting?>("--serseq") { Description = "on | read | off (default read)" };
        var readOnly = new Option<bool>("--read-only") { Description = "export every LUN write-protected" };
        var physical = new Option<int?>("--physical-block-size") { Description = "physical block size in bytes reported in READ CAPACITY(16) (default: the 512-byte logical block; 4096 = a 512e disk)" };
        var immediate = new Option<string?>("--immediate-data") { Description = "yes (default) | no: whether write data may travel as iSCSI immediate data" };
        immediate.AcceptOnlyFromAmong("yes", "no");
        var ioMode = new Option<string?>("--io") { Description = "inline (default: file I/O on the calling thread, best when the file is cached) | pool (thread-pool I/O, for slow disks)" };
        ioMode.AcceptOnlyFromAmong("inline", "pool");
        var cmd = new Command("node", "run one node in the foreground until SIGINT/SIGTERM")
        {
            config, portal, target, lun, haId, mode, peer, role, psk, allowUnauth, cluster, control, serseq, readOnly, physical, immediate, ioMode,
        };
        cmd.SetAction(async (parse, ct) =>
        {
            NodeSettings settings;
            try
            {
                settings = new NodeSettings();
                if (parse.GetValue(config) is { } file)
                {
                    LoadConfig(settings, file);
                }
                foreach (var p in parse.GetValue(portal) ?? [])
                {
                    settings.Portals.Add(NodeSettings.ParseEndPoint(p, "--portal"));
                }
                foreach (var l in parse.GetValue(lun) ?? [])
                {
                    settings.Luns.Add(NodeSettings.ParseLun(l));
                }
                settings.Target = parse.GetValue(target) ?? settings.Target;
                settings.HaId = parse.GetValue(haId) ?? settings.HaId;
                settings.Mode = parse.GetValue(mode) ?? settings.Mode;
                if (parse.GetValue(peer) is { } peerText)
                {
                    settings.Peer = NodeSettings.ParsePeer(peerText);
                }
                settings.Role = parse.GetValue(role) ?? settings.Role;
                settings.PskFile = parse.GetValue(psk) ?? settings.PskFile;
                settings.AllowUnauthenticated |= parse.GetValue(allowUnauth);
                settings.Cluster = parse.GetValue(cluster) ?? settings.Cluster;
                if (parse.GetValue(control) is { } controlText)
                {
                    settings.Control = NodeSettings.ParseEndPoint(controlText, "--control");
                }
                settings.SerSeq = parse.GetValue(serseq) ?? settings.SerSeq;
                settings.ReadOnly |= parse.GetValue(readOnly);
                settings.PhysicalBlockSize = parse.GetValue(physical) ?? settings.PhysicalBlockSize;
                if (parse.GetValue(immediate) is { } imm)
                {
                    settings.ImmediateData = imm == "yes";
                }
                if (parse.GetValue(ioMode) is { } io)
                {
                    settings.InlineIo = io == "inline";
                }
                var errors = settings.Validate();
                if (errors.Count > 0)
                {
                    foreach (var e in errors)
                    {
                        Console.Error.WriteLine($"ctlha node: {e}");
                    }
                    return 2;
                }
            }
            catch (SettingsException e)
            {
                Console.Error.WriteLine($"ctlha node: {e.Message}");
                return 2;
            }
            return await RunNodesAsync([settings], ct, printReady: true);
        });
        return cmd;
    }

    private static Command BuildPair()
    {
        var mode = new Option<HaModeSetting>("--mode") { Description = "unavailable | standby | shared | proxy", DefaultValueFactory = _ => HaModeSetting.Proxy };
        var dir = new Option<string>("--dir") { Description = "directory for the backing file and key", DefaultValueFactory = _ => "./ctlha-pair" };
        var size = new Option<string>("--size") { Description = "LUN 0 size", DefaultValueFactory = _ => "256M" };
        var basePort = new Option<int>("--base-port") { Description = "node A iSCSI P, node B P+1, interlink P+2, control A P+3, control B P+4", DefaultValueFactory = _ => 3260 };
        var physical = new Option<int?>("--physical-block-size") { Description = "physical block size in bytes of LUN 0 on both nodes (default: the 512-byte logical block; 4096 = a 512e disk)" };
        var immediate = new Option<string?>("--immediate-data") { Description = "yes (default) | no: whether write data may travel as iSCSI immediate data (both nodes)" };
        immediate.AcceptOnlyFromAmong("yes", "no");
        var cmd = new Command("pair", "the embedded demo: two nodes in one process on loopback") { mode, dir, size, basePort, physical, immediate };
        cmd.SetAction(async (parse, ct) =>
        {
            try
            {
                var pair = PairSettings.Create(parse.GetValue(mode), parse.GetValue(dir)!, NodeSettings.ParseSize(parse.GetValue(size)!, "--size"), parse.GetValue(basePort));
                foreach (var (label, node) in new[] { ("A", pair.A), ("B", pair.B) })
                {
                    node.PhysicalBlockSize = parse.GetValue(physical) ?? node.PhysicalBlockSize;
                    if (parse.GetValue(immediate) is { } imm)
                    {
                        node.ImmediateData = imm == "yes";
                    }
                    if (node.Validate() is [var error, ..])
                    {
                        throw new SettingsException(error);
                    }
                    Console.WriteLine($"node {label}: iscsi://{node.Portals[0]}/{node.Target}/0   control http://{node.Control}");
                }
                // "ready" once the interlink is up and both sides synced: node B then serves I/O at once.
                return await RunNodesAsync([pair.A, pair.B], ct, printReady: true, waitForLink: PairLinkWait);
            }
            catch (SettingsException e)
            {
                Console.Error.WriteLine($"ctlha pair: {e.Message}");
                return 2;
            }
        });
        return cmd;
    }

    /// <summary>Polls (every 20 ms, at most <paramref name="wait"/>) until every node's interlink is up and synced.</summary>
    private static async Task<bool> WaitForSyncAsync(List<CtlHaNode> nodes, List<Task> runs, TimeSpan wait, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + wait;
        while (!nodes.All(n => n.IsHaSynced))
        {
            if (DateTime.UtcNow >= deadline || runs.Any(t => t.IsCompleted))
            {
                return false;
            }
            await Task.Delay(20, ct);
        }
        return true;
    }

    private static Command BuildStatus()
    {
        var control = new Option<string>("--control") { Description = "control API ADDR:PORT", Required = true };
        var json = new Option<bool>("--json") { Description = "print the raw JSON status" };
        var cmd = new Command("status", "link state, last rejection reason, per-LUN role, peer role and ALUA states") { control, json };
        cmd.SetAction(async (parse, ct) =>
        {
            try
            {
                var ep = NodeSettings.ParseEndPoint(parse.GetValue(control)!, "--control");
                using var client = new ControlClient(ep);
                if (parse.GetValue(json))
                {
                    Console.WriteLine(await client.GetStatusJsonAsync(ct));
                    return 0;
                }
                StatusRenderer.Render(AnsiConsole.Console, await client.GetStatusAsync(ct));
                return 0;
            }
            catch (Exception e) when (e is SettingsException or ControlException or HttpRequestException)
            {
                Console.Error.WriteLine($"ctlha status: {e.Message}");
                return 1;
            }
        });
        return cmd;
    }

    private static Command BuildRole()
    {
        var role = new Argument<RoleSetting>("role") { Description = "primary | secondary" };
        var control = new Option<string>("--control") { Description = "control API ADDR:PORT", Required = true };
        var lun = new Option<int?>("--lun") { Description = "one LUN (default: every LUN)" };
        var cmd = new Command("role", "promote or demote this node for one LUN or all") { role, control, lun };
        cmd.SetAction(async (parse, ct) =>
        {
            try
            {
                var ep = NodeSettings.ParseEndPoint(parse.GetValue(control)!, "--control");
                using var client = new ControlClient(ep);
                string answer = await client.SetRoleAsync(parse.GetValue(role), parse.GetValue(lun), ct);
                Console.WriteLine(answer);
                return 0;
            }
            catch (Exception e) when (e is SettingsException or ControlException or HttpRequestException)
            {
                Console.Error.WriteLine($"ctlha role: {e.Message}");
                return 1;
            }
        });
        return cmd;
    }

    /// <summary>`ctlha lun resize --control ADDR:PORT --lun N --size SIZE`: grow a LUN online (on the primary when paired).</summary>
    private static Command BuildLun()
    {
        var control = new Option<string>("--control") { Description = "control API ADDR:PORT", Required = true };
        var lun = new Option<int>("--lun") { Description = "the LUN", Required = true };
        var size = new Option<string>("--size") { Description = "new capacity (e.g. 512M, 2G); only growing is supported", Required = true };
        var resize = new Command("resize", "grow a LUN online: initiators on both nodes get CAPACITY DATA HAS CHANGED (2A/09)") { control, lun, size };
        resize.SetAction(async (parse, ct) =>
        {
            try
            {
                var ep = NodeSettings.ParseEndPoint(parse.GetValue(control)!, "--control");
                long bytes = NodeSettings.ParseSize(parse.GetValue(size)!, "--size");
                using var client = new ControlClient(ep);
                Console.WriteLine(await client.ResizeLunAsync(parse.GetValue(lun), bytes, ct));
                return 0;
            }
            catch (Exception e) when (e is SettingsException or ControlException or HttpRequestException)
            {
                Console.Error.WriteLine($"ctlha lun resize: {e.Message}");
                return 1;
            }
        });
        return new Command("lun", "LUN administration") { resize };
    }

    private static void LoadConfig(NodeSettings settings, FileInfo file)
    {
        if (!file.Exists)
        {
            throw new SettingsException($"--config '{file.FullName}' does not exist");
        }
        IConfigurationRoot cfg;
        try
        {
            cfg = new ConfigurationBuilder().AddJsonFile(file.FullName, optional: false).Build();
        }
        catch (Exception e) when (e is FormatException or InvalidDataException or IOException)
        {
            throw new SettingsException($"--config '{file.FullName}': {e.Message}");
        }
        ConfigLoader.Apply(settings, cfg);
    }

    /// <summary>Runs nodes until SIGINT/SIGTERM; prints `ready` once every node serves.</summary>
    /// <summary>How long `ctlha pair` waits for its interlink before it says ready anyway (with a warning).</summary>
    private static readonly TimeSpan PairLinkWait = TimeSpan.FromSeconds(10);

    internal static async Task<int> RunNodesAsync(IReadOnlyList<NodeSettings> nodes, CancellationToken ct, bool printReady, TimeSpan? waitForLink = null)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
        {
            ctx.Cancel = true;
            stop.Cancel();
        });
        using var loggerFactory = LoggerFactory.Create(b => b
            .AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
            })
            .SetMinimumLevel(Environment.GetEnvironmentVariable("CTLHA_LOG") is { } lvl && Enum.TryParse<LogLevel>(lvl, true, out var l) ? l : LogLevel.Information));
        var running = new List<CtlHaNode>();
        try
        {
            foreach (var s in nodes)
            {
                running.Add(new CtlHaNode(s, loggerFactory));
            }
            var tasks = running.Select(n => n.RunAsync(stop.Token)).ToList();
            var started = Task.WhenAll(running.Select(n => n.Started));
            if (await Task.WhenAny(started, Task.WhenAny(tasks)) == started)
            {
                if (waitForLink is { } wait && !await WaitForSyncAsync(running, tasks, wait, stop.Token))
                {
                    Console.Error.WriteLine($"ctlha: the interlink is not up after {wait.TotalSeconds:0} s; node B answers 02/04/0A until it is (see ctlha status)");
                }
                if (printReady)
                {
                    Console.WriteLine("ready");
                }
            }
            await Task.WhenAll(tasks);
            return 0;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return 0;
        }
        catch (SettingsException e)
        {
            Console.Error.WriteLine($"ctlha: {e.Message}");
            return 2;
        }
        finally
        {
            foreach (var n in running)
            {
                await n.DisposeAsync();
            }
        }
    }
}

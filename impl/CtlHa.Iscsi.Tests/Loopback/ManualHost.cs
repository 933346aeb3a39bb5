using System.Net;
using CtlHa.Iscsi.Tests.Support;

namespace CtlHa.Iscsi.Tests.Loopback;

/// <summary>
/// A throwaway host for trying real initiators by hand: set CTLHA_ISCSI_HOST_PORT (and optionally CTLHA_ISCSI_HOST_SECONDS)
/// and run this one test; it serves the RAM disk on 127.0.0.1 at that port. Does nothing otherwise.
/// </summary>
[Collection("loopback")]
public sealed class ManualHost
{
    [Fact(Timeout = 3600000)]
    public async Task Serves_a_ram_disk_when_asked_to_by_environment()
    {
        if (!int.TryParse(Environment.GetEnvironmentVariable("CTLHA_ISCSI_HOST_PORT"), out int port))
        {
            return;
        }
        int seconds = int.TryParse(Environment.GetEnvironmentVariable("CTLHA_ISCSI_HOST_SECONDS"), out int s) ? s : 120;
        int blocks = int.TryParse(Environment.GetEnvironmentVariable("CTLHA_ISCSI_HOST_BLOCKS"), out int b) ? b : 32768;
        Func<IscsiTargetOptions, IscsiTargetOptions> configure = o => new IscsiTargetOptions
            {
                Portals = [new IPEndPoint(IPAddress.Loopback, port)],
                Targets = o.Targets,
                NopInInterval = TimeSpan.FromSeconds(10),
                Chap = Environment.GetEnvironmentVariable("CTLHA_ISCSI_HOST_CHAP") is { } chap
                    ? new ChapOptions("user", chap, "target", chap + "-mutual") : null,
            };
        await using RunningTarget target = Environment.GetEnvironmentVariable("CTLHA_ISCSI_HOST_ENGINE") == "1"
            ? await RunningTarget.StartWithEngineAsync(configure, (long)blocks * 512)
            : await RunningTarget.StartAsync(configure, new RamDiskTarget(blocks));
        string logPath = Environment.GetEnvironmentVariable("CTLHA_ISCSI_HOST_LOG") ?? "/tmp/ctlha-iscsi-host.log";
        var gate = new Lock();
        target.Logs.Sink = line =>
        {
            lock (gate)
            {
                File.AppendAllText(logPath, line + "\n");
            }
        };
        await Task.Delay(TimeSpan.FromSeconds(seconds));
    }
}

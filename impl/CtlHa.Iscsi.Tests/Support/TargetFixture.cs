using System.Net;

namespace CtlHa.Iscsi.Tests.Support;

/// <summary>A running <see cref="IscsiTargetServer"/> on 127.0.0.1:0 with a RAM disk; disposing stops it.</summary>
public sealed class RunningTarget : IAsyncDisposable
{
    public const string TargetName = "iqn.2026-11.org.ctlha:test";
    public const string SecondTargetName = "iqn.2026-11.org.ctlha:other";

    private readonly CancellationTokenSource _cts;
    private readonly Task _run;

    private RunningTarget(IscsiTargetServer server, RamDiskTarget disk, TestLoggerFactory logs, Task run, CancellationTokenSource cts)
    {
        _cts = cts;
        Server = server;
        DiskTarget = disk;
        Logs = logs;
        _run = run;
    }

    public IscsiTargetServer Server { get; }

    public RamDiskTarget DiskTarget { get; }

    /// <summary>The RAM disk's bytes.</summary>
    public Span<byte> Disk => DiskTarget.Disk;

    public TestLoggerFactory Logs { get; }

    public IPEndPoint EndPoint => Server.BoundEndpoints[0];

    public int Port => EndPoint.Port;

    public string Url(int lun = 0) => $"iscsi://127.0.0.1:{Port}/{TargetName}/{lun}";

    /// <summary>Starts the frontend in front of the real engine (CtlHa.Scsi) with one RAM-backed LUN.</summary>
    public static Task<RunningTarget> StartWithEngineAsync(Func<IscsiTargetOptions, IscsiTargetOptions>? configure = null, long lunBytes = 64L << 20)
    {
        var logs = new TestLoggerFactory();
        var lun = new CtlHa.Scsi.LogicalUnit(0, new CtlHa.Scsi.Backends.MemoryBackend(lunBytes), new CtlHa.Scsi.LogicalUnitOptions { Serial = "lun0" });
        var engine = new CtlHa.Scsi.ScsiEngine([lun], new CtlHa.Scsi.ScsiEngineOptions(), logs);
        return StartAsync(configure, target: engine, logs: logs);
    }

    public static async Task<RunningTarget> StartAsync(
        Func<IscsiTargetOptions, IscsiTargetOptions>? configure = null,
        RamDiskTarget? disk = null,
        CtlHa.Core.IScsiTarget? target = null,
        TestLoggerFactory? logs = null)
    {
        var options = new IscsiTargetOptions
        {
            Portals = [new IPEndPoint(IPAddress.Loopback, 0)],
            Targets = [new IscsiTargetDefinition(TargetName, "ctlha-test"), new IscsiTargetDefinition(SecondTargetName)],
            NopInInterval = TimeSpan.Zero,
        };
        options = configure?.Invoke(options) ?? options;
        disk ??= new RamDiskTarget();
        logs ??= new TestLoggerFactory();
        var server = new IscsiTargetServer(options, target ?? disk, logs);
        var cts = new CancellationTokenSource();
        Task run = server.RunAsync(cts.Token);
        await server.Started.WaitAsync(TimeSpan.FromSeconds(5));
        return new RunningTarget(server, disk, logs, run, cts);
    }

    public void AssertNoErrors() => Assert.Empty(Logs.Errors);

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        await _run.WaitAsync(TimeSpan.FromSeconds(30));
        _cts.Dispose();
    }
}

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

    public static async Task<RunningTarget> StartAsync(Func<IscsiTargetOptions, IscsiTargetOptions>? configure = null, RamDiskTarget? disk = null)
    {
        var options = new IscsiTargetOptions
        {
            Portals = [new IPEndPoint(IPAddress.Loopback, 0)],
            Targets = [new IscsiTargetDefinition(TargetName, "ctlha-test"), new IscsiTargetDefinition(SecondTargetName)],
            NopInInterval = TimeSpan.Zero,
        };
        options = configure?.Invoke(options) ?? options;
        disk ??= new RamDiskTarget();
        var logs = new TestLoggerFactory();
        var server = new IscsiTargetServer(options, disk, logs);
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

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace CtlHa.Initiator.Tests.Tgt;

/// <summary>
/// The target under test. With CTLHA_TEST_TARGET=iscsi://host:port/iqn/lun set, tests run against that target
/// (e.g. a `ctlha node`); otherwise this starts a private userspace tgtd (stgt) on 127.0.0.1 with its own
/// control port (-C N, socket /var/run/tgtd/socket.N), a sparse 64 MiB backing file, one target without
/// authentication and one requiring CHAP (one-way and mutual credentials), and tears it all down afterwards.
/// </summary>
public sealed class TargetFixture : IAsyncLifetime
{
    public const string TargetEnvironmentVariable = "CTLHA_TEST_TARGET";
    public const long BackingFileBytes = 64L * 1024 * 1024;
    public const string ChapUser = "ctlha-user";
    public const string ChapSecret = "ctlha-secret-1234";
    public const string MutualUser = "ctlha-target";
    public const string MutualSecret = "ctlha-mutual-5678";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);
    private readonly StringBuilder _tgtdOutput = new();
    private Process? _tgtd;
    private string? _directory;
    private int _controlPort;

    /// <summary>The target without authentication.</summary>
    public IscsiUrl Target { get; private set; } = null!;

    /// <summary>A target that requires CHAP; null when testing an external target.</summary>
    public IscsiUrl? ChapTarget { get; private set; }

    /// <summary>A target configured for CRC32C header and data digests, which also pings with NOP-In every second (tgt only; else <see cref="Target"/>).</summary>
    public IscsiUrl DigestTarget { get; private set; } = null!;

    /// <summary>True when tgtd was started here (tgt-specific expectations apply).</summary>
    public bool IsTgt => _tgtd is not null;

    public string TgtdOutput
    {
        get
        {
            lock (_tgtdOutput)
            {
                return _tgtdOutput.ToString();
            }
        }
    }

    public async Task InitializeAsync()
    {
        var external = Environment.GetEnvironmentVariable(TargetEnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(external))
        {
            Target = IscsiUrl.Parse(external);
            DigestTarget = Target;
            return;
        }

        _directory = Directory.CreateTempSubdirectory("ctlha-tgt-").FullName;
        var disk = CreateSparseFile("disk.img", BackingFileBytes);
        var chapDisk = CreateSparseFile("chap.img", 8L * 1024 * 1024);
        var port = FreeTcpPort();
        _controlPort = FreeControlPort();

        var start = new ProcessStartInfo("/usr/sbin/tgtd")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-f", "-C", _controlPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--iscsi", $"portal=127.0.0.1:{port}" })
        {
            start.ArgumentList.Add(argument);
        }

        _tgtd = Process.Start(start) ?? throw new InvalidOperationException("tgtd did not start.");
        _tgtd.OutputDataReceived += (_, e) => Append(e.Data);
        _tgtd.ErrorDataReceived += (_, e) => Append(e.Data);
        _tgtd.BeginOutputReadLine();
        _tgtd.BeginErrorReadLine();

        using var deadline = new CancellationTokenSource(StartTimeout);
        while (await TgtAdmAsync(deadline.Token, "--op", "show", "--mode", "target") != 0)
        {
            if (_tgtd.HasExited)
            {
                throw new InvalidOperationException("tgtd exited at start: " + TgtdOutput);
            }

            await Task.Delay(100, deadline.Token);
        }

        var iqn = $"iqn.2026-11.org.ctlha.test:tgt-{port}";
        var chapIqn = iqn + "-chap";
        await MustAsync(deadline.Token, "--op", "new", "--mode", "target", "--tid", "1", "-T", iqn);
        await MustAsync(deadline.Token, "--op", "new", "--mode", "logicalunit", "--tid", "1", "--lun", "1", "-b", disk);
        await MustAsync(deadline.Token, "--op", "bind", "--mode", "target", "--tid", "1", "-I", "ALL");
        await MustAsync(deadline.Token, "--op", "new", "--mode", "target", "--tid", "2", "-T", chapIqn);
        await MustAsync(deadline.Token, "--op", "new", "--mode", "logicalunit", "--tid", "2", "--lun", "1", "-b", chapDisk);
        await MustAsync(deadline.Token, "--op", "bind", "--mode", "target", "--tid", "2", "-I", "ALL");
        await MustAsync(deadline.Token, "--op", "new", "--mode", "account", "--user", ChapUser, "--password", ChapSecret);
        await MustAsync(deadline.Token, "--op", "new", "--mode", "account", "--user", MutualUser, "--password", MutualSecret);
        await MustAsync(deadline.Token, "--op", "bind", "--mode", "account", "--tid", "2", "--user", ChapUser);
        await MustAsync(deadline.Token, "--op", "bind", "--mode", "account", "--tid", "2", "--user", MutualUser, "--outgoing");

        // tgt offers only what a target is configured for; this one wants digests and pings idle initiators.
        var digestIqn = iqn + "-digest";
        await MustAsync(deadline.Token, "--op", "new", "--mode", "target", "--tid", "3", "-T", digestIqn);
        await MustAsync(deadline.Token, "--op", "new", "--mode", "logicalunit", "--tid", "3", "--lun", "1", "-b", chapDisk);
        await MustAsync(deadline.Token, "--op", "bind", "--mode", "target", "--tid", "3", "-I", "ALL");
        await MustAsync(deadline.Token, "--op", "update", "--mode", "target", "--tid", "3", "-n", "HeaderDigest", "-v", "CRC32C");
        await MustAsync(deadline.Token, "--op", "update", "--mode", "target", "--tid", "3", "-n", "DataDigest", "-v", "CRC32C");
        await MustAsync(deadline.Token, "--op", "update", "--mode", "target", "--tid", "3", "-n", "nop_interval", "-v", "1");
        await MustAsync(deadline.Token, "--op", "update", "--mode", "target", "--tid", "3", "-n", "nop_count", "-v", "30");

        await WaitForPortAsync(port, deadline.Token);
        DigestTarget = new IscsiUrl("127.0.0.1", port, digestIqn, 1);
        Target = new IscsiUrl("127.0.0.1", port, iqn, 1);
        ChapTarget = new IscsiUrl("127.0.0.1", port, chapIqn, 1);
    }

    public async Task DisposeAsync()
    {
        if (_tgtd is not null)
        {
            if (!_tgtd.HasExited)
            {
                _tgtd.Kill(entireProcessTree: true);
                await _tgtd.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
            }

            _tgtd.Dispose();
            foreach (var leftover in new[] { $"/var/run/tgtd/socket.{_controlPort}", $"/var/run/tgtd/socket.{_controlPort}.lock" })
            {
                File.Delete(leftover);
            }
        }

        if (_directory is not null)
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private string CreateSparseFile(string name, long length)
    {
        var path = Path.Combine(_directory!, name);
        using var file = new FileStream(path, FileMode.CreateNew);
        file.SetLength(length);
        return path;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_tgtdOutput)
        {
            _tgtdOutput.AppendLine(line);
        }
    }

    private async Task MustAsync(CancellationToken ct, params string[] arguments)
    {
        var code = await TgtAdmAsync(ct, arguments);
        if (code != 0)
        {
            throw new InvalidOperationException($"tgtadm {string.Join(' ', arguments)} exited {code}. tgtd said: {TgtdOutput}");
        }
    }

    private async Task<int> TgtAdmAsync(CancellationToken ct, params string[] arguments)
    {
        var start = new ProcessStartInfo("/usr/sbin/tgtadm")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-C");
        start.ArgumentList.Add(_controlPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        start.ArgumentList.Add("--lld");
        start.ArgumentList.Add("iscsi");
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("tgtadm did not start.");
        var output = process.StandardOutput.ReadToEndAsync(ct);
        var error = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        Append($"tgtadm {string.Join(' ', arguments)} -> {process.ExitCode} {await output}{await error}");
        return process.ExitCode;
    }

    private static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A control port whose unix socket is not taken by another tgtd on this machine.</summary>
    private static int FreeControlPort()
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var candidate = Random.Shared.Next(1000, 30000);
            if (!File.Exists($"/var/run/tgtd/socket.{candidate}") && !File.Exists($"/var/run/tgtd/socket.{candidate}.lock"))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("No free tgtd control port.");
    }

    private static async Task WaitForPortAsync(int port, CancellationToken ct)
    {
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port, ct);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100, ct);
            }
        }
    }
}

[CollectionDefinition(Name)]
public sealed class TargetCollection : ICollectionFixture<TargetFixture>
{
    public const string Name = "iSCSI target (tgt or CTLHA_TEST_TARGET)";
}

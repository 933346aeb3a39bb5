using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace CtlHa.Conformance.Node;

/// <summary>How to start one <c>ctlha node</c> child process (DESIGN.md "Command-line contract").</summary>
public sealed record NodeProcessOptions
{
    /// <summary>Size in bytes of each LUN's backing file (LUN ids 0, 1, ... in order); files live in a temp directory.</summary>
    public IReadOnlyList<long> LunSizes { get; init; } = [1 << 20];

    public string TargetName { get; init; } = "iqn.2026-11.org.ctlha:disk";

    public bool ReadOnly { get; init; }

    /// <summary><c>--serseq on|read|off</c>; null leaves the node's default.</summary>
    public string? SerSeq { get; init; }

    /// <summary>Also start the HTTP control API on a free loopback port.</summary>
    public bool Control { get; init; }

    /// <summary>
    /// Backing files to use instead of temp ones (one per <see cref="LunSizes"/> entry); they are created sparse by the
    /// node if missing and never deleted by the fixture, so a restarted node (or both nodes of a shared-storage pair)
    /// finds the same data.
    /// </summary>
    public IReadOnlyList<string>? LunPaths { get; init; }

    /// <summary>A fixed iSCSI portal port (e.g. the one a killed node had, so initiators reconnect to the same URL); null picks a free one.</summary>
    public int? PortalPort { get; init; }

    /// <summary>A fixed control API port (implies <see cref="Control"/>); null picks a free one when Control is set.</summary>
    public int? ControlPort { get; init; }

    /// <summary>Arguments appended verbatim after the generated ones (e.g. HA flags).</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];

    /// <summary>How long to wait for the <c>ready</c> line.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long SIGTERM may take before SIGKILL.</summary>
    public TimeSpan StopTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>When true, disposing throws <see cref="NodeLogException"/> if the node logged an error nobody expected.</summary>
    public bool FailOnUnexpectedErrors { get; init; } = true;
}

/// <summary>The node logged an error-level line that the test did not declare as expected (HOUSE_STYLE "Tests").</summary>
public sealed class NodeLogException(string message) : Exception(message);

/// <summary>
/// One real <c>ctlha node</c> as a child process on a free loopback port, with temp backing files. Conformance
/// reaches it only over TCP (DESIGN.md dependency rule). Waits for the <c>ready</c> line, captures stdout/stderr,
/// stops with SIGTERM (then SIGKILL) on dispose, and <see cref="Kill"/>s hard for crash tests. Error-level log lines
/// (<c>fail:</c>/<c>crit:</c> of the console logger) fail the test on dispose unless declared with <see cref="ExpectError"/>.
/// </summary>
public sealed partial class NodeProcess : IAsyncDisposable
{
    private const int StartAttempts = 3;

    private readonly Lock _logLock = new();
    private readonly List<string> _log = [];
    private readonly List<Regex> _expectedErrors = [];
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Process _process;
    private readonly NodeProcessOptions _options;
    private readonly string _directory;
    private bool _disposed;

    private NodeProcess(Process process, NodeProcessOptions options, string directory, int port, int? controlPort, IReadOnlyList<string> lunPaths)
    {
        _process = process;
        _options = options;
        _directory = directory;
        Port = port;
        ControlPort = controlPort;
        LunPaths = lunPaths;
    }

    public string Host => "127.0.0.1";

    /// <summary>The iSCSI portal port.</summary>
    public int Port { get; }

    public int? ControlPort { get; }

    public string TargetName => _options.TargetName;

    public IReadOnlyList<string> LunPaths { get; }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Every stdout/stderr line so far.</summary>
    public IReadOnlyList<string> Log
    {
        get
        {
            lock (_logLock)
            {
                return [.. _log];
            }
        }
    }

    /// <summary>Error-level lines not matched by any <see cref="ExpectError"/> pattern.</summary>
    public IReadOnlyList<string> UnexpectedErrors
    {
        get
        {
            lock (_logLock)
            {
                return [.. _log.Where(l => ErrorLine().IsMatch(l) && !_expectedErrors.Any(e => e.IsMatch(l)))];
            }
        }
    }

    /// <summary>Path of the built <c>ctlha</c> executable: <c>CTLHA_NODE_EXE</c>, or impl/CtlHa.Node/bin/&lt;config&gt;/net10.0 under the repo root.</summary>
    public static string LocateExecutable()
    {
        if (Environment.GetEnvironmentVariable("CTLHA_NODE_EXE") is { Length: > 0 } fromEnv)
        {
            return fromEnv;
        }

        var root = RepositoryRoot();
        var binRoot = Path.Combine(root, "impl", "CtlHa.Node", "bin");
        // Prefer the configuration this test assembly was built with (bin/<Config>/net10.0/).
        var ownConfig = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent?.Name;
        var preferred = ownConfig is null ? null : Path.Combine(binRoot, ownConfig, "net10.0", "ctlha");
        if (preferred is not null && File.Exists(preferred))
        {
            return preferred;
        }

        var any = Directory.Exists(binRoot)
            ? Directory.EnumerateFiles(binRoot, "ctlha", SearchOption.AllDirectories).OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault()
            : null;
        return any ?? throw new FileNotFoundException($"ctlha executable not found under {binRoot}: run `dotnet build impl/CtlHa.Node` (or set CTLHA_NODE_EXE).");
    }

    /// <summary>The directory holding CtlHa.sln, found by walking up from the test's base directory.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "CtlHa.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"no CtlHa.sln above {AppContext.BaseDirectory}");
    }

    /// <summary>
    /// Starts a node and waits for <c>ready</c>. Retries on another port if the chosen one was taken meanwhile (with a
    /// fixed <see cref="NodeProcessOptions.PortalPort"/>, on the same port after a short pause: a killed predecessor's
    /// sockets may still be closing).
    /// </summary>
    public static async Task<NodeProcess> StartAsync(NodeProcessOptions options, CancellationToken cancellationToken)
    {
        Exception? last = null;
        for (var attempt = 0; attempt < StartAttempts; attempt++)
        {
            var node = Launch(options);
            try
            {
                await node.WaitReadyAsync(cancellationToken);
                return node;
            }
            catch (Exception e) when (e is NodeStartException && !cancellationToken.IsCancellationRequested)
            {
                last = e;
                await node.DisposeQuietlyAsync();
                if (!e.Message.Contains("in use", StringComparison.OrdinalIgnoreCase) && !e.Message.Contains("bind", StringComparison.OrdinalIgnoreCase))
                {
                    break;
                }

                if (options.PortalPort is not null || options.ControlPort is not null)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(300 * (attempt + 1)), cancellationToken);
                }
            }
            catch
            {
                await node.DisposeQuietlyAsync();
                throw;
            }
        }

        throw last ?? new InvalidOperationException("node did not start");
    }

    /// <summary>Declares error lines matching <paramref name="pattern"/> as expected (they will not fail the test).</summary>
    public void ExpectError(string pattern)
    {
        lock (_logLock)
        {
            _expectedErrors.Add(new Regex(pattern, RegexOptions.CultureInvariant));
        }
    }

    /// <summary>Throws <see cref="NodeLogException"/> listing the unexpected error lines, if any.</summary>
    public void AssertNoUnexpectedErrors()
    {
        var errors = UnexpectedErrors;
        if (errors.Count > 0)
        {
            throw new NodeLogException($"node logged {errors.Count} unexpected error line(s):\n" + string.Join("\n", errors));
        }
    }

    /// <summary>Hard kill (SIGKILL): no clean shutdown, as a crashed node.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        // SIGKILL is asynchronous: return only once the process is gone (reaped), so a caller that saw the kill's
        // effects (dropped sessions) also sees HasExited.
        _process.WaitForExit(10_000);
    }

    /// <summary>Graceful stop: SIGTERM, then SIGKILL after <see cref="NodeProcessOptions.StopTimeout"/>. Returns the exit code.</summary>
    public async Task<int> StopAsync()
    {
        if (!_process.HasExited)
        {
            SendSigterm(_process.Id);
            using var timeout = new CancellationTokenSource(_options.StopTimeout);
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                AddLog("[fixture] node ignored SIGTERM; sending SIGKILL");
                Kill();
                await _process.WaitForExitAsync(CancellationToken.None);
            }
        }

        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            await StopAsync();
        }
        finally
        {
            _process.Dispose();
            TryDeleteDirectory(_directory);
        }

        if (_options.FailOnUnexpectedErrors)
        {
            AssertNoUnexpectedErrors();
        }
    }

    public override string ToString() => $"ctlha node pid {ProcessId} on {Host}:{Port}";

    private static NodeProcess Launch(NodeProcessOptions options)
    {
        var directory = Path.Combine(Path.GetTempPath(), "ctlha-conf-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        var port = options.PortalPort ?? FreeLoopbackPort();
        int? controlPort = options.ControlPort ?? (options.Control ? FreeLoopbackPort() : null);
        var lunPaths = options.LunPaths is { } given
            ? [.. given]
            : options.LunSizes.Select((_, i) => Path.Combine(directory, $"lun{i}.img")).ToList();
        if (lunPaths.Count != options.LunSizes.Count)
        {
            throw new ArgumentException($"{lunPaths.Count} LUN paths for {options.LunSizes.Count} LUN sizes", nameof(options));
        }

        var start = new ProcessStartInfo(LocateExecutable())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        start.ArgumentList.Add("node");
        start.ArgumentList.Add("--portal");
        start.ArgumentList.Add($"127.0.0.1:{port}");
        start.ArgumentList.Add("--target");
        start.ArgumentList.Add(options.TargetName);
        for (var i = 0; i < lunPaths.Count; i++)
        {
            start.ArgumentList.Add("--lun");
            start.ArgumentList.Add($"{lunPaths[i]}:{options.LunSizes[i]}");
        }

        if (options.ReadOnly)
        {
            start.ArgumentList.Add("--read-only");
        }

        if (options.SerSeq is { } serseq)
        {
            start.ArgumentList.Add("--serseq");
            start.ArgumentList.Add(serseq);
        }

        if (controlPort is { } cp)
        {
            start.ArgumentList.Add("--control");
            start.ArgumentList.Add($"127.0.0.1:{cp}");
        }

        foreach (var extra in options.ExtraArguments)
        {
            start.ArgumentList.Add(extra);
        }

        // A plain, colourless console log so "fail:"/"crit:" prefixes can be recognised.
        start.Environment["DOTNET_SYSTEM_CONSOLE_ALLOW_ANSI_COLOR_REDIRECTION"] = "false";
        start.Environment["NO_COLOR"] = "1";

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var node = new NodeProcess(process, options, directory, port, controlPort, lunPaths);
        process.OutputDataReceived += (_, e) => node.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => node.OnLine(e.Data);
        process.Exited += (_, _) =>
        {
            // Exited can fire before the redirected output is drained; the parameterless WaitForExit waits for
            // both streams' end, so the log in the message is complete (a bad flag's one-line error included).
            process.WaitForExit();
            node._ready.TrySetException(new NodeStartException(
                $"node exited with code {SafeExitCode(process)} before 'ready':\n{string.Join("\n", node.Log)}"));
        };
        try
        {
            process.Start();
        }
        catch
        {
            TryDeleteDirectory(directory);
            throw;
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return node;
    }

    private async Task WaitReadyAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _ready.Task.WaitAsync(_options.StartTimeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new NodeStartException($"node printed no 'ready' within {_options.StartTimeout}:\n{string.Join("\n", Log)}");
        }
    }

    private async Task DisposeQuietlyAsync()
    {
        try
        {
            _disposed = true;
            await StopAsync();
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Never started or already gone.
        }
        finally
        {
            _process.Dispose();
            TryDeleteDirectory(_directory);
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        AddLog(line);
        if (line.Trim() == "ready")
        {
            _ready.TrySetResult();
        }
    }

    private void AddLog(string line)
    {
        lock (_logLock)
        {
            _log.Add(line);
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    // Process.Kill is SIGKILL only; SIGTERM goes through kill(1) to avoid P/Invoke.
    private static void SendSigterm(int pid)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            UseShellExecute = false,
            RedirectStandardError = true,
        });
        kill?.WaitForExit(5000);
    }

    private static string SafeExitCode(Process process)
    {
        try
        {
            return process.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (InvalidOperationException)
        {
            return "?";
        }
    }

    private static void TryDeleteDirectory(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A leftover temp directory is harmless.
        }
    }

    // Microsoft.Extensions.Logging console format: "[time ]fail: Category[id] message" (or crit).
    [GeneratedRegex(@"^(\S+\s+)?(fail|crit):", RegexOptions.CultureInvariant)]
    private static partial Regex ErrorLine();
}

/// <summary>The node did not reach <c>ready</c> (exited, or timed out); the message includes its log.</summary>
public sealed class NodeStartException(string message) : Exception(message);

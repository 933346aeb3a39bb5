using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace CtlHa.Conformance.Suites.Adapters;

/// <summary>The commands that control a pair through a shell (any vendor's pair: e.g. <c>ssh b sysctl kern.cam.ctl.ha_role=0</c>).</summary>
/// <param name="PromoteA">Makes node A primary.</param>
/// <param name="PromoteB">Makes node B primary.</param>
/// <param name="DemoteA">Makes node A secondary.</param>
/// <param name="DemoteB">Makes node B secondary.</param>
/// <param name="Linked">Optional: exits 0 once the interlink is up on both nodes; without it a role change waits <see cref="Settle"/>.</param>
public sealed record ShellCommands(string PromoteA, string PromoteB, string DemoteA, string DemoteB, string? Linked = null)
{
    /// <summary>Longest a command may run before it is killed and counted as failed.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long to let a pair settle when there is no <see cref="Linked"/> command to ask.</summary>
    public TimeSpan Settle { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>A user-given control command failed: its command line, exit code (or timeout) and the end of its output.</summary>
public sealed class ShellCommandException(string message) : Exception(message);

/// <summary>
/// A running pair controlled by user-given shell commands (<c>/bin/sh -c</c>, with a timeout and the exit code checked).
/// <c>{lun}</c> in a command is replaced by the LUN number, or by <c>all</c> when every LUN is meant. Only role control
/// is offered: kill, restart and link faults are left to the embedded pair.
/// </summary>
public sealed class ShellCommandPair(Uri a, Uri b, ShellCommands commands) : ExternalPair(a, b)
{
    protected override string AdapterName => "the shell-command adapter";

    public override SuiteNeeds Capabilities => SuiteNeeds.Pair | SuiteNeeds.RoleControl;

    public ShellCommands Commands => commands;

    public override Task SetRoleAsync(PairNode node, bool primary, int? lun, CancellationToken cancellationToken)
    {
        var command = (node, primary) switch
        {
            (PairNode.A, true) => commands.PromoteA,
            (PairNode.A, false) => commands.DemoteA,
            (_, true) => commands.PromoteB,
            _ => commands.DemoteB,
        };
        return RunAsync(command.Replace("{lun}", lun?.ToString(CultureInfo.InvariantCulture) ?? "all", StringComparison.Ordinal), commands.Timeout, cancellationToken);
    }

    public override async Task<bool> WaitLinkedAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (commands.Linked is not { } linked)
        {
            await Task.Delay(commands.Settle < timeout ? commands.Settle : timeout, cancellationToken).ConfigureAwait(false);
            return true;
        }

        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await RunAsync(linked, commands.Timeout, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (ShellCommandException) when (clock.Elapsed < timeout)
            {
                await Task.Delay(250, cancellationToken).ConfigureAwait(false);
            }
            catch (ShellCommandException)
            {
                return false;
            }
        }
    }

    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;

    public override string ToString() => $"pair {UrlOf(PairNode.A)} + {UrlOf(PairNode.B)} (shell commands)";

    /// <summary>Runs <paramref name="command"/> with <c>/bin/sh -c</c>; throws <see cref="ShellCommandException"/> unless it exits 0 in time.</summary>
    public static async Task<string> RunAsync(string command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(command);
        using var process = new Process { StartInfo = start };
        var output = new StringBuilder();
        var gate = new Lock();
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (gate)
            {
                if (output.Length < 64 * 1024)
                {
                    output.AppendLine(line);
                }
            }
        }

        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            throw new ShellCommandException($"`{command}` did not finish within {timeout.TotalSeconds:F0}s: killed; output: {Tail(output, gate)}");
        }

        // The parameterless wait drains the redirected streams.
        process.WaitForExit();
        return process.ExitCode == 0
            ? Tail(output, gate)
            : throw new ShellCommandException($"`{command}` exited with {process.ExitCode}: {Tail(output, gate)}");
    }

    private static string Tail(StringBuilder output, Lock gate)
    {
        lock (gate)
        {
            var text = output.ToString().Trim();
            return text.Length <= 400 ? text : "…" + text[^400..];
        }
    }

}

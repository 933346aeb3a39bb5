using System.Diagnostics;
using CtlHa.Iscsi.Tests.Support;

namespace CtlHa.Iscsi.Tests.Loopback;

/// <summary>Real initiators (libiscsi command-line tools, qemu-img) against the frontend and the RAM disk.</summary>
[Collection("loopback")]
public sealed class RealInitiatorTests
{
    internal static async Task<(int ExitCode, string Output)> RunToolAsync(string tool, string arguments, TimeSpan timeout)
    {
        string path = File.Exists($"/usr/bin/{tool}") ? $"/usr/bin/{tool}" : tool;
        var psi = new ProcessStartInfo(path, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(psi)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            return (-1, $"timed out after {timeout}\n{await stdout}\n{await stderr}");
        }
        return (process.ExitCode, await stdout + await stderr);
    }

    private static bool Have(string tool) => File.Exists($"/usr/bin/{tool}");

    [Fact(Timeout = 60000)]
    public async Task Iscsi_inq_reads_standard_inquiry_data()
    {
        if (!Have("iscsi-inq"))
        {
            return;
        }
        await using RunningTarget target = await RunningTarget.StartAsync();
        (int code, string output) = await RunToolAsync("iscsi-inq", $"-i iqn.2026-11.org.test:inq {target.Url()}", TimeSpan.FromSeconds(30));
        Assert.True(code == 0, output);
        Assert.Contains("CTLHA", output, StringComparison.Ordinal);
        target.AssertNoErrors();
    }

    [Fact(Timeout = 60000)]
    public async Task Iscsi_ls_discovers_both_targets_and_their_luns()
    {
        if (!Have("iscsi-ls"))
        {
            return;
        }
        await using RunningTarget target = await RunningTarget.StartAsync();
        (int code, string output) = await RunToolAsync("iscsi-ls", $"-s -i iqn.2026-11.org.test:ls iscsi://127.0.0.1:{target.Port}", TimeSpan.FromSeconds(30));
        Assert.True(code == 0, output);
        Assert.Contains(RunningTarget.TargetName, output, StringComparison.Ordinal);
        Assert.Contains(RunningTarget.SecondTargetName, output, StringComparison.Ordinal);
        target.AssertNoErrors();
    }

    [Fact(Timeout = 60000)]
    public async Task Iscsi_inq_logs_in_with_one_way_and_mutual_CHAP_and_a_wrong_secret_fails()
    {
        if (!Have("iscsi-inq"))
        {
            return;
        }
        await using RunningTarget target = await RunningTarget.StartAsync(o => new IscsiTargetOptions
        {
            Portals = o.Portals, Targets = o.Targets, NopInInterval = TimeSpan.Zero,
            Chap = new ChapOptions("user", "secret-123456", "target", "mutual-654321"),
        });
        string hostPath = $"127.0.0.1:{target.Port}/{RunningTarget.TargetName}/0";
        (int code, string output) = await RunToolAsync("iscsi-inq", $"-i iqn.2026-11.org.test:chap iscsi://user%secret-123456@{hostPath}", TimeSpan.FromSeconds(30));
        Assert.True(code == 0, output);
        (code, output) = await RunToolAsync("iscsi-inq",
            $"-i iqn.2026-11.org.test:chap iscsi://user%secret-123456@{hostPath}?target_user=target&target_password=mutual-654321", TimeSpan.FromSeconds(30));
        Assert.True(code == 0, output);
        (code, output) = await RunToolAsync("iscsi-inq", $"-i iqn.2026-11.org.test:chap iscsi://user%wrong@{hostPath}", TimeSpan.FromSeconds(30));
        Assert.True(code != 0, output);
        Assert.Contains("Authentication failure", output, StringComparison.Ordinal);
        target.AssertNoErrors();
    }

    [Fact(Timeout = 90000)]
    public async Task Qemu_img_bench_reads_and_writes_through_the_frontend()
    {
        if (!Have("qemu-img"))
        {
            return;
        }
        await using RunningTarget target = await RunningTarget.StartAsync();
        string url = $"iscsi://127.0.0.1:{target.Port}/{RunningTarget.TargetName}/0";
        (int code, string output) = await RunToolAsync("qemu-img", $"bench -f raw -c 2000 -d 32 -s 4096 -w {url}", TimeSpan.FromSeconds(60));
        Assert.True(code == 0, output);
        (code, output) = await RunToolAsync("qemu-img", $"bench -f raw -c 2000 -d 32 -s 4096 {url}", TimeSpan.FromSeconds(60));
        Assert.True(code == 0, output);
        target.AssertNoErrors();
    }
}

using CtlHa.Core;

namespace CtlHa.Scsi.Tests;

public sealed class TaskManagementTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static async Task<(Harness H, GatedBackend Backend)> CreateAsync()
    {
        GatedBackend? backend = null;
        var h = await Harness.ReadyAsync(options: new LogicalUnitOptions { SerSeq = SerSeqMode.Off }, backend: size => backend = new GatedBackend(size));
        return (h, backend!);
    }

    private static Task<TaskManagementResponse> Tmf(Harness h, ITNexus nexus, TaskManagementFunction f, uint tag = 0) =>
        h.Engine.TaskManagementAsync(new TaskManagementRequest(nexus, f, LunAddress.Encode(0), tag), CancellationToken.None).AsTask();

    [Fact]
    public async Task Abort_task_aborts_a_running_task_without_reporting_it()
    {
        var (h, backend) = await CreateAsync();
        backend.Hold("R@0");
        var task = h.Engine.ExecuteAsync(h.Task(Cdbs.Read10(0, 1), new TestChannel(), tag: 77), CancellationToken.None).AsTask();
        await backend.WhenStartedAsync("R@0");
        Assert.Equal(TaskManagementResponse.FunctionSucceeded, await Tmf(h, h.Nexus, TaskManagementFunction.QueryTask, 77));
        Assert.Equal(TaskManagementResponse.FunctionComplete, await Tmf(h, h.Nexus, TaskManagementFunction.AbortTask, 77));
        var outcome = await task.WaitAsync(Timeout);
        Assert.True(outcome.IsAborted);
        Assert.False(outcome.ReportTaskAborted);
        Assert.Equal(TaskManagementResponse.FunctionComplete, await Tmf(h, h.Nexus, TaskManagementFunction.QueryTask, 77));
        Assert.Equal(0, h.Lun0.ActiveCommandCount);
    }

    [Fact]
    public async Task Abort_task_of_a_blocked_task_completes_it_at_once_and_the_blocker_keeps_running()
    {
        var (h, backend) = await CreateAsync();
        backend.Hold("W@0");
        var blocker = h.Engine.ExecuteAsync(h.Task(Cdbs.Write10(0, 1), new TestChannel(new byte[512]), tag: 1), CancellationToken.None).AsTask();
        await backend.WhenStartedAsync("W@0");
        var blocked = h.Engine.ExecuteAsync(h.Task(Cdbs.Read10(0, 1), new TestChannel(), tag: 2), CancellationToken.None).AsTask();
        await Tmf(h, h.Nexus, TaskManagementFunction.AbortTask, 2);
        Assert.True((await blocked.WaitAsync(Timeout)).IsAborted);
        Assert.False(blocker.IsCompleted);
        backend.Release("W@0");
        OutcomeAssert.Good(await blocker.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Clear_task_set_from_another_nexus_reports_task_aborted_when_tas_is_set()
    {
        var (h, backend) = await CreateAsync();
        var other = h.NewNexus("iqn.test:other");
        await h.ClearUnitAttentionsAsync(other);
        backend.Hold("R@0");
        var task = h.Engine.ExecuteAsync(h.Task(Cdbs.Read10(0, 1), new TestChannel()), CancellationToken.None).AsTask();
        await backend.WhenStartedAsync("R@0");
        Assert.Equal(TaskManagementResponse.FunctionComplete, await Tmf(h, other, TaskManagementFunction.ClearTaskSet));
        var outcome = await task.WaitAsync(Timeout);
        Assert.True(outcome.IsAborted);
        Assert.True(outcome.ReportTaskAborted);
        Assert.Equal(ScsiStatus.TaskAborted, outcome.Status);
    }

    [Fact]
    public async Task Abort_task_set_only_touches_the_requesting_nexus()
    {
        var (h, backend) = await CreateAsync();
        var other = h.NewNexus("iqn.test:other");
        await h.ClearUnitAttentionsAsync(other);
        backend.Hold("R@0");
        backend.Hold("R@512");
        var mine = h.Engine.ExecuteAsync(h.Task(Cdbs.Read10(0, 1), new TestChannel()), CancellationToken.None).AsTask();
        var theirs = h.Engine.ExecuteAsync(h.Task(Cdbs.Read10(1, 1), new TestChannel(), other), CancellationToken.None).AsTask();
        await backend.WhenStartedAsync("R@0");
        await backend.WhenStartedAsync("R@512");
        Assert.Equal(TaskManagementResponse.FunctionSucceeded, await Tmf(h, other, TaskManagementFunction.QueryTaskSet));
        await Tmf(h, h.Nexus, TaskManagementFunction.AbortTaskSet);
        Assert.True((await mine.WaitAsync(Timeout)).IsAborted);
        Assert.False(theirs.IsCompleted);
        backend.Release("R@512");
        OutcomeAssert.Good(await theirs.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Lun_reset_aborts_everything_on_the_lun()
    {
        var (h, backend) = await CreateAsync();
        backend.Hold("R@0");
        var task = h.Engine.ExecuteAsync(h.Task(Cdbs.Read10(0, 1), new TestChannel()), CancellationToken.None).AsTask();
        await backend.WhenStartedAsync("R@0");
        await Tmf(h, h.Nexus, TaskManagementFunction.LogicalUnitReset);
        Assert.True((await task.WaitAsync(Timeout)).IsAborted);
    }

    [Fact]
    public async Task Nexus_loss_aborts_that_nexus_tasks()
    {
        var (h, backend) = await CreateAsync();
        backend.Hold("R@0");
        var task = h.Engine.ExecuteAsync(h.Task(Cdbs.Read10(0, 1), new TestChannel()), CancellationToken.None).AsTask();
        await backend.WhenStartedAsync("R@0");
        h.Engine.NexusLost(h.Nexus);
        Assert.True((await task.WaitAsync(Timeout)).IsAborted);
    }

    [Fact]
    public async Task Task_management_to_an_unknown_lun_says_so()
    {
        var h = await Harness.ReadyAsync();
        Assert.Equal(TaskManagementResponse.LunDoesNotExist,
            await h.Engine.TaskManagementAsync(new TaskManagementRequest(h.Nexus, TaskManagementFunction.AbortTaskSet, LunAddress.Encode(9), 0), CancellationToken.None));
        Assert.Equal(TaskManagementResponse.NotSupported, await Tmf(h, h.Nexus, TaskManagementFunction.ClearAca));
    }

    [Fact]
    public async Task Transport_cancellation_surfaces_as_operation_canceled()
    {
        var (h, backend) = await CreateAsync();
        backend.Hold("R@0");
        using var cts = new CancellationTokenSource();
        var task = h.Engine.ExecuteAsync(h.Task(Cdbs.Read10(0, 1), new TestChannel()), cts.Token).AsTask();
        await backend.WhenStartedAsync("R@0");
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task.WaitAsync(Timeout));
        Assert.Equal(0, h.Lun0.ActiveCommandCount);
    }
}

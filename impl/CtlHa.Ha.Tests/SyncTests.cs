using CtlHa.Core;

namespace CtlHa.Ha.Tests;

/// <summary>Live sync and in-flight commands across the link.</summary>
[Collection("loopback")]
public sealed class SyncTests
{
    [Theory(Timeout = 60_000)]
    [InlineData(HaMode.Proxy)]
    [InlineData(HaMode.Shared)]
    public async Task A_command_waiting_on_the_primary_ends_with_BUSY_when_the_link_drops(HaMode mode)
    {
        var gated = new GatedBackend(4 << 20);
        await using var pair = await HaPair.StartAsync(mode, backendOfA: gated);
        var blocker = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gated.ReadGate = blocker;
        // Shared mode: a READ on A holds the LBA, so B's overlapping WRITE waits in A's OOA queue for ReadyToRun.
        var held = mode == HaMode.Shared ? pair.A.RunAsync(Cdb.Read10(0, 8)) : Task.FromResult<(ScsiOutcome, byte[])>(default);
        if (mode == HaMode.Shared)
        {
            await gated.ReadStarted.Task.WaitAsync(TimeSpan.FromSeconds(5));
        }
        var waiting = mode == HaMode.Proxy ? pair.B.RunAsync(Cdb.Read10(0, 8)) : pair.B.RunAsync(Cdb.Write10(0, 8), new byte[4096]);
        if (mode == HaMode.Proxy)
        {
            await gated.ReadStarted.Task.WaitAsync(TimeSpan.FromSeconds(5));
        }
        else
        {
            await Task.Delay(200);
        }
        if (waiting.IsCompleted)
        {
            Assert.Fail($"completed early: {(await waiting).Outcome}");
        }
        await pair.StopAAsync();
        var (outcome, _) = await waiting;
        Assert.Equal(ScsiStatus.Busy, outcome.Status);
        blocker.TrySetResult();
        await held;
    }

    [Fact(Timeout = 60_000)]
    public async Task Abort_task_of_a_forwarded_command_aborts_it_on_the_primary()
    {
        var gated = new GatedBackend(4 << 20);
        await using var pair = await HaPair.StartAsync(HaMode.Proxy, backendOfA: gated);
        gated.ReadGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var waiting = pair.B.RunAsync(Cdb.Read10(0, 8), tag: 0x4242);
        await gated.ReadStarted.Task.WaitAsync(TimeSpan.FromSeconds(5));
        var response = await pair.B.Node.Target.TaskManagementAsync(
            new TaskManagementRequest(pair.B.Nexus, TaskManagementFunction.AbortTask, LunAddress.Encode(0), 0x4242), CancellationToken.None);
        Assert.Equal(TaskManagementResponse.FunctionComplete, response);
        var (outcome, _) = await waiting;
        Assert.True(outcome.IsAborted, $"expected aborted, got {outcome}");
        Assert.Equal(0, pair.A.Node.Engine.LogicalUnits[0].ActiveCommandCount);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_LUN_reset_through_A_is_replicated_and_Bs_initiators_see_29_00()
    {
        await using var pair = await HaPair.StartAsync(HaMode.Proxy);
        var response = await pair.A.Node.Target.TaskManagementAsync(
            new TaskManagementRequest(pair.A.Nexus, TaskManagementFunction.LogicalUnitReset, LunAddress.Encode(0), 0), CancellationToken.None);
        Assert.Equal(TaskManagementResponse.FunctionComplete, response);
        Assert.True(pair.B.Node.Engine.LogicalUnits[0].PendingUnitAttentions(pair.B.Nexus) != 0); // fenced: no waiting
        Expect.Check((await pair.B.RunAsync(Cdb.TestUnitReady)).Outcome, SenseKey.UnitAttention, 0x29, 0x00);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(HaMode.Proxy)]
    [InlineData(HaMode.Shared)]
    public async Task A_SCSI_2_reservation_taken_through_B_is_enforced_through_A(HaMode mode)
    {
        await using var pair = await HaPair.StartAsync(mode, sharedBackend: mode == HaMode.Shared);
        Expect.Good((await pair.B.RunAsync([0x16, 0, 0, 0, 0, 0])).Outcome); // RESERVE(6)
        Assert.True(pair.A.Node.Engine.LogicalUnits[0].ReservationState.Scsi2.IsReserved); // fenced: no waiting
        Assert.True(pair.B.Node.Engine.LogicalUnits[0].ReservationState.Scsi2.IsReserved);
        var write = await pair.A.RunAsync(Cdb.Write10(0, 1), new byte[512]);
        Assert.Equal(ScsiStatus.ReservationConflict, write.Outcome.Status);
        Expect.Good((await pair.B.RunAsync(Cdb.Write10(0, 1), new byte[512])).Outcome);
        Expect.Good((await pair.B.RunAsync([0x17, 0, 0, 0, 0, 0])).Outcome); // RELEASE(6)
        Assert.False(pair.A.Node.Engine.LogicalUnits[0].ReservationState.Scsi2.IsReserved);
        Expect.Good((await pair.A.RunAsync(Cdb.Write10(0, 1), new byte[512])).Outcome);
    }

    [Fact(Timeout = 60_000)]
    public async Task Status_shows_roles_groups_and_the_link()
    {
        await using var pair = await HaPair.StartAsync(HaMode.Proxy);
        var a = pair.A.Node.GetStatus();
        var b = pair.B.Node.GetStatus();
        Assert.Equal(HaLinkState.Online, a.Link);
        Assert.Equal("Online", b.LinkPhase);
        Assert.Equal(2, a.PeerNodeId);
        Assert.Equal(HaRole.Primary, a.Luns[0].Role);
        Assert.Equal(HaRole.Secondary, b.Luns[0].Role);
        Assert.True(b.Luns[0].PeerPrimary);
        Assert.Equal(a.Luns[0].Groups.Select(g => (g.GroupId, g.State)), b.Luns[0].Groups.Select(g => (g.GroupId, g.State)));
        Assert.Null(b.Luns[0].Conflict);
    }
}

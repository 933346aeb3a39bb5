using System.Buffers.Binary;
using CtlHa.Core;
using CtlHa.Scsi.Reservations;
using static CtlHa.Scsi.Tests.Reservations.PrTestKit;

namespace CtlHa.Scsi.Tests.Reservations;

/// <summary>Reservations through <see cref="ScsiEngine.ExecuteAsync"/> with two I_T nexuses, as libiscsi's PR and
/// Reserve6 suites drive them with two URLs.</summary>
public sealed class EngineReservationTests
{
    private static async Task<(Harness H, ITNexus A, ITNexus B)> TwoNexusesAsync()
    {
        var h = await Harness.ReadyAsync();
        var b = h.NewNexus("iqn.test:second");
        await h.ClearUnitAttentionsAsync(b);
        return (h, h.Nexus, b);
    }

    private static Task<(ScsiOutcome Outcome, byte[] Data)> ProutAsync(Harness h, ITNexus n, PrOutServiceAction sa, ulong key, ulong saKey = 0, PrType type = PrType.None) =>
        h.RunAsync(ProutCdb(sa, type), ProutParams(key, saKey), n);

    [Fact]
    public async Task Exclusive_access_blocks_the_other_nexus_and_preempt_reports_registrations_preempted()
    {
        var (h, a, b) = await TwoNexusesAsync();
        Assert.Equal(ScsiStatus.Good, (await ProutAsync(h, a, PrOutServiceAction.RegisterAndIgnoreExistingKey, 0, 0xA)).Outcome.Status);
        Assert.Equal(ScsiStatus.Good, (await ProutAsync(h, b, PrOutServiceAction.RegisterAndIgnoreExistingKey, 0, 0xB)).Outcome.Status);
        Assert.Equal(ScsiStatus.Good, (await ProutAsync(h, a, PrOutServiceAction.Reserve, 0xA, 0, PrType.ExclusiveAccess)).Outcome.Status);
        Assert.Equal(ScsiStatus.ReservationConflict, (await h.RunAsync(Cdbs.Read10(1, 1), nexus: b)).Outcome.Status);
        Assert.Equal(ScsiStatus.Good, (await h.RunAsync(Cdbs.Read10(1, 1), nexus: a)).Outcome.Status);
        Assert.Equal(ScsiStatus.Good, (await h.RunAsync(Cdbs.Inquiry(), nexus: b)).Outcome.Status);

        Assert.Equal(ScsiStatus.Good, (await ProutAsync(h, b, PrOutServiceAction.Preempt, 0xB, 0xA, PrType.ExclusiveAccess)).Outcome.Status);
        var ua = (await h.RunAsync(Cdbs.TestUnitReady(), nexus: a)).Outcome;
        Assert.Equal(ScsiStatus.CheckCondition, ua.Status);
        Assert.Equal((SenseKey.UnitAttention, (byte)0x2A, (byte)0x05), (ua.Sense!.Value.Key, ua.Sense.Value.Asc, ua.Sense.Value.Ascq));
        Assert.Equal(ScsiStatus.ReservationConflict, (await h.RunAsync(Cdbs.Read10(1, 1), nexus: a)).Outcome.Status);
        Assert.Equal(ScsiStatus.Good, (await h.RunAsync(Cdbs.Read10(1, 1), nexus: b)).Outcome.Status);
    }

    [Fact]
    public async Task Preempt_and_abort_aborts_the_preempted_nexus_tasks()
    {
        var (h, a, b) = await TwoNexusesAsync();
        await ProutAsync(h, a, PrOutServiceAction.RegisterAndIgnoreExistingKey, 0, 0xA);
        await ProutAsync(h, b, PrOutServiceAction.RegisterAndIgnoreExistingKey, 0, 0xB);
        await ProutAsync(h, a, PrOutServiceAction.Reserve, 0xA, 0, PrType.WriteExclusive);

        // A READ from A is stuck sending its data (a slow initiator) when B preempts and aborts.
        var channel = new TestChannel { SendGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var stuck = h.Engine.ExecuteAsync(h.Task(Cdbs.Read10(0, 1), channel, a), CancellationToken.None).AsTask();
        await channel.SendStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));

        // HEAD OF QUEUE so the PR OUT is not ordered behind the READ it aborts (ctl-ha.md §11.1).
        var (o, _) = await h.RunAsync(ProutCdb(PrOutServiceAction.PreemptAndAbort, PrType.WriteExclusive), ProutParams(0xB, 0xA), b,
            attr: TaskAttribute.HeadOfQueue);
        Assert.Equal(ScsiStatus.Good, o.Status);
        var aborted = await stuck.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(aborted.IsAborted);
    }

    [Fact]
    public async Task Read_keys_and_read_reservation_travel_as_parameter_data()
    {
        var (h, a, _) = await TwoNexusesAsync();
        await ProutAsync(h, a, PrOutServiceAction.RegisterAndIgnoreExistingKey, 0, 0x1234);
        await ProutAsync(h, a, PrOutServiceAction.Reserve, 0x1234, 0, PrType.WriteExclusiveAllRegistrants);
        var (o, keys) = await h.RunAsync(PrinCdb(0), nexus: a);
        Assert.Equal(ScsiStatus.Good, o.Status);
        Assert.Equal(16, keys.Length);
        Assert.Equal(0x1234UL, BinaryPrimitives.ReadUInt64BigEndian(keys.AsSpan(8)));
        var (_, rr) = await h.RunAsync(PrinCdb(1), nexus: a);
        Assert.Equal(24, rr.Length);
        Assert.Equal(0UL, BinaryPrimitives.ReadUInt64BigEndian(rr.AsSpan(8)));
        Assert.Equal((byte)PrType.WriteExclusiveAllRegistrants, rr[21]);
    }

    [Fact]
    public async Task Prin_service_actions_0_to_3_succeed()
    {
        var (h, a, _) = await TwoNexusesAsync();
        for (byte sa = 0; sa < 4; sa++)
        {
            Assert.Equal(ScsiStatus.Good, (await h.RunAsync(PrinCdb(sa), nexus: a)).Outcome.Status);
        }
    }

    [Fact]
    public async Task Prin_service_actions_above_3_fail_without_claiming_the_opcode_is_unsupported()
    {
        // libiscsi PrinServiceactionRange treats 05/20/00 as "PERSISTENT RESERVE IN not implemented" and fails.
        var (h, a, _) = await TwoNexusesAsync();
        for (byte sa = 4; sa < 0x20; sa++)
        {
            var o = (await h.RunAsync(PrinCdb(sa), nexus: a)).Outcome;
            Assert.Equal(ScsiStatus.CheckCondition, o.Status);
            Assert.NotEqual((byte)0x20, o.Sense!.Value.Asc);
        }
    }

    [Fact]
    public async Task Scsi2_reserve_conflicts_mode_sense_of_the_other_nexus_until_lun_reset()
    {
        var (h, a, b) = await TwoNexusesAsync();
        Assert.Equal(ScsiStatus.Good, (await h.RunAsync(Reserve6, nexus: a)).Outcome.Status);
        Assert.Equal(ScsiStatus.ReservationConflict, (await h.RunAsync(Reserve6, nexus: b)).Outcome.Status);
        Assert.Equal(ScsiStatus.Good, (await h.RunAsync(Release6, nexus: b)).Outcome.Status);
        Assert.Equal(ScsiStatus.ReservationConflict, (await h.RunAsync(ModeSense6, nexus: b)).Outcome.Status);
        Assert.Equal(ScsiStatus.Good, (await h.RunAsync(ModeSense6, nexus: a)).Outcome.Status);
        var reset = await h.Engine.TaskManagementAsync(new TaskManagementRequest(a, TaskManagementFunction.LogicalUnitReset, LunAddress.Encode(0), 0), CancellationToken.None);
        Assert.Equal(TaskManagementResponse.FunctionComplete, reset);
        await h.ClearUnitAttentionsAsync(b);
        Assert.Equal(ScsiStatus.Good, (await h.RunAsync(Reserve6, nexus: b)).Outcome.Status);
        Assert.Equal(ScsiStatus.Good, (await h.RunAsync(Release6, nexus: b)).Outcome.Status);
    }

    [Fact]
    public async Task Scsi2_reservation_goes_with_the_holders_nexus()
    {
        var (h, a, b) = await TwoNexusesAsync();
        Assert.Equal(ScsiStatus.Good, (await h.RunAsync(Reserve6, nexus: a)).Outcome.Status);
        h.Engine.NexusLost(a);
        Assert.Equal(ScsiStatus.Good, (await h.RunAsync(Reserve6, nexus: b)).Outcome.Status);
    }

    [Fact]
    public async Task Replicated_requests_reach_the_hook_and_a_peer_lu_replays_them()
    {
        var (h, a, b) = await TwoNexusesAsync();
        var peer = await Harness.ReadyAsync();
        var peerLun = peer.Lun0;
        h.Lun0.ReservationState.ReplicateAsync = (n, r, _) =>
        {
            peerLun.ApplyReplicatedPersistentReserveOut(n, r);
            return ValueTask.CompletedTask;
        };
        await ProutAsync(h, a, PrOutServiceAction.RegisterAndIgnoreExistingKey, 0, 0xA);
        await ProutAsync(h, b, PrOutServiceAction.RegisterAndIgnoreExistingKey, 0, 0xB);
        await ProutAsync(h, a, PrOutServiceAction.Reserve, 0xA, 0, PrType.ExclusiveAccessRegistrantsOnly);
        await ProutAsync(h, b, PrOutServiceAction.Preempt, 0xB, 0xA, PrType.WriteExclusive);
        Assert.True(h.Lun0.ReservationState.Persistent.Export().Equivalent(peerLun.ReservationState.Persistent.Export()));
    }
}

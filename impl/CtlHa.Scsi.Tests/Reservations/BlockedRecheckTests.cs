using CtlHa.Core;
using CtlHa.Scsi.Reservations;
using static CtlHa.Scsi.Tests.Reservations.PrTestKit;

namespace CtlHa.Scsi.Tests.Reservations;

/// <summary>
/// A command that waited in the OOA queue behind a PREEMPT is checked again when it may run: it must not act on
/// the registration the PREEMPT took away (found by the linearizability suite: a REGISTER queued behind a PREEMPT got
/// RESERVATION CONFLICT with 2A/05 still pending — an answer no sequential order gives).
/// </summary>
public sealed class BlockedRecheckTests
{
    /// <summary>Data-Out held until <see cref="Release"/>: keeps a PR OUT in the OOA queue while others arrive.</summary>
    private sealed class GatedDataOut(byte[] data) : IScsiDataChannel
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Waiting { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _gate.TrySetResult();

        public async ValueTask ReceiveDataOutAsync(Memory<byte> destination, uint bufferOffset, CancellationToken cancellationToken)
        {
            Waiting.TrySetResult();
            await _gate.Task.WaitAsync(cancellationToken);
            data.AsSpan((int)bufferOffset, destination.Length).CopyTo(destination.Span);
        }

        public ValueTask SendDataInAsync(ReadOnlyMemory<byte> source, uint bufferOffset, bool finalWithGoodStatus, CancellationToken cancellationToken) =>
            ValueTask.CompletedTask;
    }

    private static async Task<(Harness H, ITNexus A, ITNexus B)> RegisteredAsync(PrType reservation)
    {
        var h = await Harness.ReadyAsync();
        var b = h.NewNexus("iqn.test:second");
        await h.ClearUnitAttentionsAsync(b);
        var a = h.Nexus;
        Assert.Equal(ScsiStatus.Good, (await h.RunAsync(ProutCdb(PrOutServiceAction.RegisterAndIgnoreExistingKey), ProutParams(0, 0xA), a)).Outcome.Status);
        Assert.Equal(ScsiStatus.Good, (await h.RunAsync(ProutCdb(PrOutServiceAction.RegisterAndIgnoreExistingKey), ProutParams(0, 0xB), b)).Outcome.Status);
        Assert.Equal(ScsiStatus.Good, (await h.RunAsync(ProutCdb(PrOutServiceAction.Reserve, reservation), ProutParams(0xB), b)).Outcome.Status);
        return (h, a, b);
    }

    [Theory(Timeout = 30_000)]
    [InlineData(0x5F)] // PR OUT REGISTER of the key being preempted
    [InlineData(0x2A)] // WRITE(10): a registrant's write under WRITE EXCLUSIVE – REGISTRANTS ONLY
    public async Task A_command_queued_behind_a_preempt_sees_its_unit_attention_not_its_lost_registration(byte opcode)
    {
        var (h, a, b) = await RegisteredAsync(PrType.WriteExclusiveRegistrantsOnly);

        var gated = new GatedDataOut(ProutParams(0xB, 0xA));
        var task = new ScsiTask
        {
            Nexus = b,
            Lun = LunAddress.Encode(0),
            Cdb = ProutCdb(PrOutServiceAction.Preempt, PrType.WriteExclusiveRegistrantsOnly),
            Tag = 9999,
            ExpectedDataTransferLength = 24,
            Channel = gated,
        };
        var preempt = h.Engine.ExecuteAsync(task, CancellationToken.None).AsTask();
        await gated.Waiting.Task.WaitAsync(TimeSpan.FromSeconds(10)); // in the OOA queue, waiting for its parameters

        var queued = opcode == 0x5F
            ? h.RunAsync(ProutCdb(PrOutServiceAction.Register), ProutParams(0xA, 0), a)
            : h.RunAsync(Cdbs.Write10(1, 1), new byte[512], a);
        await Task.Delay(100);
        Assert.False(queued.IsCompleted); // it waits behind the PREEMPT

        gated.Release();
        Assert.Equal(ScsiStatus.Good, (await preempt).Status);
        var outcome = (await queued).Outcome;
        Assert.Equal(ScsiStatus.CheckCondition, outcome.Status);
        Assert.Equal((SenseKey.UnitAttention, (byte)0x2A, (byte)0x05), (outcome.Sense!.Value.Key, outcome.Sense.Value.Asc, outcome.Sense.Value.Ascq));
        // And after the UA, the registration is gone: the write is refused (nothing reached the medium).
        Assert.Equal(ScsiStatus.ReservationConflict, (await h.RunAsync(Cdbs.Write10(1, 1), new byte[512], a)).Outcome.Status);
    }
}

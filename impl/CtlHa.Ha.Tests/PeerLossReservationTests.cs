using CtlHa.Core;

namespace CtlHa.Ha.Tests;

/// <summary>
/// SAM-5 §6.3.4: losing an I_T nexus releases its SCSI-2 reservation. When the peer node dies, every session on it
/// is gone, so the survivor must drop the reservation one of them held (CtlHa syncs SCSI-2 holders; CTL does not) —
/// else no initiator could use the LUN after failover until someone resets it.
/// </summary>
[Collection("loopback")]
public sealed class PeerLossReservationTests
{
    [Theory(Timeout = 60_000)]
    [InlineData(HaMode.Proxy)]
    [InlineData(HaMode.Shared)]
    [InlineData(HaMode.Standby)]
    public async Task A_SCSI_2_reservation_held_through_the_dead_node_is_released_on_the_survivor(HaMode mode)
    {
        await using var pair = await HaPair.StartAsync(mode);
        Expect.Good((await pair.A.RunAsync([0x16, 0, 0, 0, 0, 0])).Outcome); // RESERVE(6) through A
        await pair.B.DrainUnitAttentionsAsync();
        if (mode != HaMode.Standby) // (a standby path answers 02/04/0B first)
        {
            var (whileLinked, _) = await pair.B.RunAsync(Cdb.Read10(0, 1));
            Assert.Equal(ScsiStatus.ReservationConflict, whileLinked.Status); // synced: B's initiator is locked out
        }

        await pair.StopAAsync();
        await HaPair.WaitUntilAsync(() => !pair.B.Node.IsLinked);
        Assert.True((await pair.B.Node.SetRoleAsync(HaRole.Primary)).Succeeded);
        await pair.B.DrainUnitAttentionsAsync();

        Expect.Good((await pair.B.RunAsync(Cdb.Read10(0, 1))).Outcome);
        Expect.Good((await pair.B.RunAsync([0x16, 0, 0, 0, 0, 0])).Outcome); // and can reserve it itself
    }
}

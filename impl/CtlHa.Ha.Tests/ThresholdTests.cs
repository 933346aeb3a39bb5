using System.Buffers.Binary;
using CtlHa.Core;
using CtlHa.Scsi;
using CtlHa.Scsi.Backends;

namespace CtlHa.Ha.Tests;

/// <summary>
/// 38/07 across the pair (real files, real loopback interlink): only the primary checks its thresholds and ships the
/// UA (with INFORMATION) to the peer, so initiators on both nodes see it once; the clear follows the same way.
/// </summary>
[Collection("loopback")]
public sealed class ThresholdTests
{
    private const int UsedDescriptor = 24;

    [Theory(Timeout = 90_000)]
    [InlineData(HaMode.Proxy)]
    [InlineData(HaMode.Shared)]
    [InlineData(HaMode.Standby)]
    public async Task A_threshold_crossed_on_the_primary_reaches_initiators_on_both_nodes_once(HaMode mode)
    {
        using var temp = new TempDirectory("ctlha-lbp-");
        string dir = temp.Path;
        var (storeA, storeB) = HaPair.FileStores(mode, dir, 4 << 20, fileForEachInStandby: false);
        await using (var pair = await HaPair.StartAsync(mode, backendOfA: storeA, backendOfB: storeB))
        {
            var lunA = pair.A.Node.Engine.LogicalUnits[0];
            var lunB = pair.B.Node.Engine.LogicalUnits[0];

            // Arm "used LBA resource >= 1 x 2^11 blocks" (ARMING INCREASING) through A; the page reaches B (2A/01).
            byte[] sense10 = [0x5A, 0x08, 0x1C, 0x02, 0, 0, 0, 0x10, 0x00, 0];
            var (o, d) = await pair.A.RunAsync(sense10);
            Expect.Good(o);
            byte[] page = d[8..];
            page[UsedDescriptor] = 0x81;
            BinaryPrimitives.WriteUInt32BigEndian(page.AsSpan(UsedDescriptor + 4), 1);
            byte[] list = [0, 0, 0, 0, 0, 0, 0, 0, .. page];
            Expect.Good((await pair.A.RunAsync(Cdb.ModeSelect10(list.Length), list)).Outcome);
            Expect.Check((await pair.B.RunAsync(Cdb.TestUnitReady)).Outcome, SenseKey.UnitAttention, 0x2A, 0x01);

            Expect.Good((await pair.A.RunAsync(Cdb.Write10(0, 2048), Enumerable.Repeat((byte)0x33, 1 << 20).ToArray())).Outcome);

            // The secondary does not check (shared: it could see the file, but one checker means one UA each).
            await pair.B.Node.Engine.CheckProvisioningThresholdsAsync();
            Assert.Equal(UnitAttention.None, lunB.PendingUnitAttentions(pair.B.Nexus) & UnitAttention.ThinProvisioningThreshold);

            await pair.A.Node.Engine.CheckProvisioningThresholdsAsync();
            await HaPair.WaitUntilAsync(() => (lunB.PendingUnitAttentions(pair.B.Nexus) & UnitAttention.ThinProvisioningThreshold) != 0);
            foreach (var node in new[] { pair.A, pair.B })
            {
                var outcome = (await node.RunAsync(Cdb.TestUnitReady)).Outcome;
                Expect.Check(outcome, SenseKey.UnitAttention, 0x38, 0x07);
                Assert.Equal((ulong)UsedDescriptor, outcome.Sense!.Value.Information);
                var again = (await node.RunAsync(Cdb.TestUnitReady)).Outcome;
                Assert.False(again.Sense is { Key: SenseKey.UnitAttention }, $"38/07 only once, got {again}");
            }
            await pair.A.Node.Engine.CheckProvisioningThresholdsAsync(); // still crossed: nothing new
            Assert.Equal(UnitAttention.None, lunA.PendingUnitAttentions(pair.A.Nexus) & UnitAttention.ThinProvisioningThreshold);

            // Usage falls back before the next crossing: the clear travels too; a new crossing raises it again on B.
            var b2 = pair.B.NewNexus("iqn.test:b2");
            await pair.B.DrainUnitAttentionsAsync(b2);
            await storeA.UnmapAsync(0, 1 << 20, CancellationToken.None);
            await pair.A.Node.Engine.CheckProvisioningThresholdsAsync();
            await storeA.WriteAsync(0, new byte[1 << 20].Select(_ => (byte)1).ToArray(), false, CancellationToken.None);
            await pair.A.Node.Engine.CheckProvisioningThresholdsAsync();
            await HaPair.WaitUntilAsync(() => (lunB.PendingUnitAttentions(b2) & UnitAttention.ThinProvisioningThreshold) != 0);
            await storeA.UnmapAsync(0, 1 << 20, CancellationToken.None);
            await pair.A.Node.Engine.CheckProvisioningThresholdsAsync();
            await HaPair.WaitUntilAsync(() => (lunB.PendingUnitAttentions(b2) & UnitAttention.ThinProvisioningThreshold) == 0);
            pair.A.Node.Engine.Dispose(); // the threshold timers (started by the enabled descriptor) stop
            pair.B.Node.Engine.Dispose();
        }
        await storeA.DisposeAsync();
        if (!ReferenceEquals(storeA, storeB))
        {
            await storeB.DisposeAsync();
        }
    }
}

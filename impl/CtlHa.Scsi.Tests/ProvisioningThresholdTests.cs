using System.Buffers.Binary;
using CtlHa.Core;
using CtlHa.Scsi.Backends;
using Microsoft.Extensions.Logging.Abstractions;

namespace CtlHa.Scsi.Tests;

/// <summary>
/// Thin-provisioning soft thresholds on a real sparse file: the Logical Block Provisioning mode page (1Ch/02h) arms them
/// through MODE SELECT, a check that finds usage across one raises 06/38/07 for every nexus once, with the descriptor's
/// offset as INFORMATION, and re-arms when usage falls back.
/// </summary>
public sealed class ProvisioningThresholdTests : IDisposable
{
    private const int UsedDescriptor = 24;      // resource 02h
    private const int AvailableDescriptor = 16; // resource 01h

    private readonly string _dir = Directory.CreateTempSubdirectory("ctlha-lbp-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Task<Harness> FileHarnessAsync(ScsiEngineOptions? engineOptions = null) =>
        Harness.ReadyAsync(sizeBytes: 4 << 20, engineOptions: engineOptions,
            backend: s => FileBackend.Open(Path.Combine(_dir, $"lun{Guid.NewGuid():N}.img"), s));

    internal static async Task<byte[]> LbpPageAsync(Harness h, int pc = 0)
    {
        var (o, d) = await h.RunAsync(Cdbs.ModeSense10(0x1C, 0x02, pc: pc, dbd: true));
        OutcomeAssert.Good(o);
        return d[8..];
    }

    /// <summary>MODE SELECT(10) of the LBP page with one descriptor set (flags, count in 2^11-block units).</summary>
    internal static async Task SetThresholdAsync(Harness h, int descriptor, byte flags, uint count)
    {
        byte[] page = await LbpPageAsync(h);
        page[descriptor] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(page.AsSpan(descriptor + 4), count);
        byte[] list = [0, 0, 0, 0, 0, 0, 0, 0, .. page];
        OutcomeAssert.Good((await h.RunAsync(Cdbs.ModeSelect10(list.Length), list)).Outcome);
    }

    [Fact]
    public async Task The_lbp_mode_page_arms_thresholds_through_mode_select_and_reads_them_back()
    {
        var h = await Harness.ReadyAsync();
        var other = h.NewNexus("iqn.test:other");
        await h.ClearUnitAttentionsAsync(other);
        byte[] changeable = await LbpPageAsync(h, pc: 1);
        Assert.Equal(0x01, changeable[4]); // SITUA
        foreach (int d in new[] { AvailableDescriptor, UsedDescriptor })
        {
            Assert.Equal(0x87, changeable[d]); // ENABLED | THRESHOLD ARMING
            Assert.Equal(uint.MaxValue, BinaryPrimitives.ReadUInt32BigEndian(changeable.AsSpan(d + 4)));
        }
        Assert.Equal(0, changeable[32]); // pool descriptors are fixed
        Assert.Equal(0, changeable[40]);

        await SetThresholdAsync(h, UsedDescriptor, 0x81, 3);
        byte[] current = await LbpPageAsync(h);
        Assert.Equal(0x81, current[UsedDescriptor]);
        Assert.Equal(0x02, current[UsedDescriptor + 1]);
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32BigEndian(current.AsSpan(UsedDescriptor + 4)));
        Assert.Equal(0x00, (await LbpPageAsync(h, pc: 2))[UsedDescriptor]); // the default is still disabled
        OutcomeAssert.Check((await h.RunAsync(Cdbs.TestUnitReady(), nexus: other)).Outcome, SenseKey.UnitAttention, 0x2A, 0x01);
        // The resource code and the threshold type are not changeable.
        byte[] page = await LbpPageAsync(h);
        page[UsedDescriptor + 1] = 0x01;
        byte[] list = [0, 0, 0, 0, 0, 0, 0, 0, .. page];
        OutcomeAssert.Field((await h.RunAsync(Cdbs.ModeSelect10(list.Length), list)).Outcome, 8 + UsedDescriptor + 1, 1, inCdb: false, asc: 0x26);
        // VPD B2h gives the unit of the counts.
        var (_, b2) = await h.RunAsync(Cdbs.Inquiry(true, 0xB2));
        Assert.Equal(LogicalUnit.ThresholdExponent, b2[4]);
    }

    [Fact]
    public async Task Crossing_the_used_threshold_raises_38_07_once_for_every_nexus_and_rearms_after_unmap()
    {
        var h = await FileHarnessAsync();
        var other = h.NewNexus("iqn.test:other");
        await h.ClearUnitAttentionsAsync(other);
        await SetThresholdAsync(h, UsedDescriptor, 0x81, 1); // ARMING INCREASING: used >= 2048 blocks
        await h.ClearUnitAttentionsAsync(other);             // 2A/01 from the MODE SELECT
        var raised = new List<(ulong Info, bool Set)>();
        h.Lun0.ProvisioningThresholdChanged += (_, info, set) => raised.Add((info, set));

        await h.Engine.CheckProvisioningThresholdsAsync();
        OutcomeAssert.Good((await h.RunAsync(Cdbs.TestUnitReady())).Outcome);
        Assert.Equal((0L, 8192L), await h.Lun0.GetProvisioningUsageAsync(CancellationToken.None));

        byte[] data = Cdbs.Pattern(1 << 20, 3);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Write10(0, 2048), data)).Outcome);
        await h.Engine.CheckProvisioningThresholdsAsync();
        await h.Engine.CheckProvisioningThresholdsAsync(); // still crossed: not raised again
        foreach (var nexus in new[] { h.Nexus, other })
        {
            var sense = OutcomeAssert.Check((await h.RunAsync(Cdbs.TestUnitReady(), nexus: nexus)).Outcome, SenseKey.UnitAttention, 0x38, 0x07);
            Assert.Equal((ulong)UsedDescriptor, sense.Information);
            OutcomeAssert.Good((await h.RunAsync(Cdbs.TestUnitReady(), nexus: nexus)).Outcome);
        }
        Assert.Equal([((ulong)UsedDescriptor, true)], raised);

        // Back under the threshold: re-armed (a pending 38/07 would be cleared); the next crossing raises it again.
        byte[] unmap = Cdbs.UnmapParameters((0, 2048));
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Unmap(unmap.Length), unmap)).Outcome);
        await h.Engine.CheckProvisioningThresholdsAsync();
        OutcomeAssert.Good((await h.RunAsync(Cdbs.TestUnitReady())).Outcome);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Write10(0, 2048), data)).Outcome);
        await h.Engine.CheckProvisioningThresholdsAsync();
        OutcomeAssert.Check((await h.RunAsync(Cdbs.TestUnitReady(), nexus: other)).Outcome, SenseKey.UnitAttention, 0x38, 0x07);
        Assert.Equal([((ulong)UsedDescriptor, true), ((ulong)UsedDescriptor, false), ((ulong)UsedDescriptor, true)], raised);
    }

    [Fact]
    public async Task A_pending_38_07_is_cleared_when_usage_falls_back_and_disabled_or_lbpere_off_thresholds_raise_nothing()
    {
        var h = await FileHarnessAsync();
        await SetThresholdAsync(h, AvailableDescriptor, 0x80, 3); // ARMING DECREASING: available <= 6144 blocks
        await SetThresholdAsync(h, UsedDescriptor, 0x01, 1);      // armed but not enabled
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Write10(0, 2048), Cdbs.Pattern(1 << 20, 4))).Outcome);
        await h.Engine.CheckProvisioningThresholdsAsync();
        // Not reported yet; usage falls back (straight on the store: an UNMAP would report the UA): cleared.
        await h.Lun0.Backend.UnmapAsync(0, 1 << 20, CancellationToken.None);
        await h.Engine.CheckProvisioningThresholdsAsync();
        OutcomeAssert.Good((await h.RunAsync(Cdbs.TestUnitReady())).Outcome);

        OutcomeAssert.Good((await h.RunAsync(Cdbs.Write10(0, 2048), Cdbs.Pattern(1 << 20, 4))).Outcome);
        await h.Engine.CheckProvisioningThresholdsAsync();
        var sense = OutcomeAssert.Check((await h.RunAsync(Cdbs.TestUnitReady())).Outcome, SenseKey.UnitAttention, 0x38, 0x07);
        Assert.Equal((ulong)AvailableDescriptor, sense.Information);

        // LBPERE off in the Read-Write Error Recovery page: no threshold reporting (as CTL).
        var (_, rw) = await h.RunAsync(Cdbs.ModeSense10(0x01, dbd: true));
        byte[] rwer = rw[8..];
        rwer[7] &= 0x7F;
        byte[] list = [0, 0, 0, 0, 0, 0, 0, 0, .. rwer];
        OutcomeAssert.Good((await h.RunAsync(Cdbs.ModeSelect10(list.Length), list)).Outcome);
        await h.Engine.CheckProvisioningThresholdsAsync(); // nothing crossed any more as far as reporting goes: re-armed
        await h.Engine.CheckProvisioningThresholdsAsync();
        OutcomeAssert.Good((await h.RunAsync(Cdbs.TestUnitReady())).Outcome);
    }

    private static byte[] LogSense(byte page, ushort pointer = 0, ushort alloc = 512) =>
        [0x4D, 0, (byte)(0x40 | page), 0, 0, (byte)(pointer >> 8), (byte)pointer, (byte)(alloc >> 8), (byte)alloc, 0];

    [Fact]
    public async Task Log_sense_lists_its_pages_and_reports_used_and_available_lba_resources()
    {
        var h = await FileHarnessAsync();
        var (o, supported) = await h.RunAsync(LogSense(0x00));
        OutcomeAssert.Good(o);
        Assert.Equal(new byte[] { 0x00, 0, 0, 2, 0x00, 0x0C }, supported);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Write10(0, 4096), Cdbs.Pattern(2 << 20, 6))).Outcome);
        var (o2, lbp) = await h.RunAsync(LogSense(0x0C));
        OutcomeAssert.Good(o2);
        Assert.Equal(0x0C, lbp[0]);
        Assert.Equal(24, BinaryPrimitives.ReadUInt16BigEndian(lbp.AsSpan(2)));
        // 0001h available: 4096 of 8192 blocks = 2 units of 2^11; 0002h used: 2 units. Binary list, length 8, scope 01b.
        Assert.Equal(new byte[] { 0x00, 0x01, 0x03, 0x08, 0, 0, 0, 2, 0x01, 0, 0, 0 }, lbp[4..16]);
        Assert.Equal(new byte[] { 0x00, 0x02, 0x03, 0x08, 0, 0, 0, 2, 0x01, 0, 0, 0 }, lbp[16..28]);
        var (_, fromUsed) = await h.RunAsync(LogSense(0x0C, pointer: 2));
        Assert.Equal(16, fromUsed.Length);
        Assert.Equal(0x02, fromUsed[5]);
        OutcomeAssert.Field((await h.RunAsync(LogSense(0x0D))).Outcome, 2, 5);
        OutcomeAssert.Field((await h.RunAsync([0x4D, 0x01, 0x40, 0, 0, 0, 0, 0, 0xFF, 0])).Outcome, 1, 0);
    }

    [Fact]
    public async Task The_timer_checks_by_itself_once_a_threshold_is_enabled_and_stops_on_dispose()
    {
        var h = await FileHarnessAsync(new ScsiEngineOptions { ProvisioningCheckInterval = TimeSpan.FromMilliseconds(50) });
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Write10(0, 2048), Cdbs.Pattern(1 << 20, 5))).Outcome);
        await SetThresholdAsync(h, UsedDescriptor, 0x81, 1);
        ScsiOutcome o = ScsiOutcome.Good;
        for (int i = 0; i < 200 && o.Sense is not { Asc: 0x38 }; i++)
        {
            await Task.Delay(20);
            o = (await h.RunAsync(Cdbs.TestUnitReady())).Outcome;
        }
        OutcomeAssert.Check(o, SenseKey.UnitAttention, 0x38, 0x07);
        h.Engine.Dispose();
        byte[] unmap = Cdbs.UnmapParameters((0, 2048));
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Unmap(unmap.Length), unmap)).Outcome);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Write10(0, 2048), Cdbs.Pattern(1 << 20, 5))).Outcome);
        await Task.Delay(300); // no timer any more: nothing re-armed, nothing raised
        OutcomeAssert.Good((await h.RunAsync(Cdbs.TestUnitReady())).Outcome);
    }
}

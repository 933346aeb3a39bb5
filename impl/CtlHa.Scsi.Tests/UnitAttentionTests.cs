using CtlHa.Core;

namespace CtlHa.Scsi.Tests;

public sealed class UnitAttentionTests
{
    [Fact]
    public async Task A_new_nexus_first_sees_power_on_then_good()
    {
        var h = new Harness();
        OutcomeAssert.Check((await h.RunAsync(Cdbs.TestUnitReady())).Outcome, SenseKey.UnitAttention, 0x29, 0x01);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.TestUnitReady())).Outcome);
    }

    [Fact]
    public async Task Power_on_clears_every_other_pending_ua()
    {
        var h = new Harness();
        h.Lun0.EstablishUnitAttention(h.Nexus, UnitAttention.ModeChange | UnitAttention.CapacityChange);
        OutcomeAssert.Check((await h.RunAsync(Cdbs.TestUnitReady())).Outcome, SenseKey.UnitAttention, 0x29, 0x01);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.TestUnitReady())).Outcome);
    }

    [Fact]
    public async Task Lower_bits_are_reported_first_and_each_clears_itself()
    {
        var h = await Harness.ReadyAsync();
        h.Lun0.EstablishUnitAttention(h.Nexus, UnitAttention.CapacityChange | UnitAttention.ModeChange | UnitAttention.LunReset);
        OutcomeAssert.Check((await h.RunAsync(Cdbs.Read10(0, 1))).Outcome, SenseKey.UnitAttention, 0x29, 0x00);
        OutcomeAssert.Check((await h.RunAsync(Cdbs.Read10(0, 1))).Outcome, SenseKey.UnitAttention, 0x2A, 0x01);
        OutcomeAssert.Check((await h.RunAsync(Cdbs.Read10(0, 1))).Outcome, SenseKey.UnitAttention, 0x2A, 0x09);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Read10(0, 1))).Outcome);
    }

    [Fact]
    public async Task Request_sense_returns_the_ua_as_data_and_clears_it()
    {
        var h = new Harness();
        var (o, d) = await h.RunAsync(Cdbs.RequestSense());
        OutcomeAssert.Good(o);
        Assert.Equal(0x70, d[0]);
        Assert.Equal((byte)SenseKey.UnitAttention, d[2]);
        Assert.Equal(0x29, d[12]);
        Assert.Equal(0x01, d[13]);
        var (o2, d2) = await h.RunAsync(Cdbs.RequestSense(desc: true));
        OutcomeAssert.Good(o2);
        Assert.Equal(0x72, d2[0]);
        Assert.Equal(0, d2[1]); // NO SENSE
        OutcomeAssert.Good((await h.RunAsync(Cdbs.TestUnitReady())).Outcome);
    }

    [Fact]
    public async Task Inquiry_and_report_luns_do_not_report_a_ua()
    {
        var h = new Harness();
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Inquiry())).Outcome);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.ReportLuns())).Outcome);
        OutcomeAssert.Check((await h.RunAsync(Cdbs.TestUnitReady())).Outcome, SenseKey.UnitAttention, 0x29, 0x01);
    }

    [Fact]
    public async Task Lun_reset_sets_29_00_for_every_nexus_including_the_requester()
    {
        var h = await Harness.ReadyAsync();
        var other = h.NewNexus("iqn.test:b");
        await h.ClearUnitAttentionsAsync(other);
        Assert.Equal(TaskManagementResponse.FunctionComplete,
            await h.Engine.TaskManagementAsync(new TaskManagementRequest(h.Nexus, TaskManagementFunction.LogicalUnitReset, 0, 0), CancellationToken.None));
        OutcomeAssert.Check((await h.RunAsync(Cdbs.TestUnitReady())).Outcome, SenseKey.UnitAttention, 0x29, 0x00);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.TestUnitReady())).Outcome);
        OutcomeAssert.Check((await h.RunAsync(Cdbs.TestUnitReady(), nexus: other)).Outcome, SenseKey.UnitAttention, 0x29, 0x00);
    }

    [Fact]
    public async Task Target_reset_sets_29_03_on_every_lun()
    {
        var h = await Harness.ReadyAsync(luns: 2);
        var other = h.NewNexus("iqn.test:b");
        await h.ClearUnitAttentionsAsync(other, 0);
        await h.ClearUnitAttentionsAsync(other, 1);
        await h.Engine.TaskManagementAsync(new TaskManagementRequest(h.Nexus, TaskManagementFunction.TargetWarmReset, 0, 0), CancellationToken.None);
        OutcomeAssert.Check((await h.RunAsync(Cdbs.TestUnitReady(), nexus: other, lun: 0)).Outcome, SenseKey.UnitAttention, 0x29, 0x03);
        OutcomeAssert.Check((await h.RunAsync(Cdbs.TestUnitReady(), nexus: other, lun: 1)).Outcome, SenseKey.UnitAttention, 0x29, 0x03);
    }

    [Fact]
    public async Task A_reinstated_session_of_the_same_initiator_port_sees_nexus_loss()
    {
        var h = new Harness();
        var first = h.NewNexus("iqn.test:c", isid: 0x23);
        await h.ClearUnitAttentionsAsync(first);
        h.Engine.NexusLost(first);
        var second = h.NewNexus("iqn.test:c", isid: 0x23);
        OutcomeAssert.Check((await h.RunAsync(Cdbs.TestUnitReady(), nexus: second)).Outcome, SenseKey.UnitAttention, 0x29, 0x07);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.TestUnitReady(), nexus: second)).Outcome);
    }

    [Fact]
    public async Task Reported_luns_changed_clears_on_every_lun_after_one_report()
    {
        var h = await Harness.ReadyAsync(luns: 2);
        foreach (var lun in h.Engine.LogicalUnits)
        {
            lun.EstablishUnitAttentionForAll(UnitAttention.LunChange);
        }
        OutcomeAssert.Check((await h.RunAsync(Cdbs.TestUnitReady(), lun: 1)).Outcome, SenseKey.UnitAttention, 0x3F, 0x0E);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.TestUnitReady(), lun: 0)).Outcome);
    }

    [Fact]
    public async Task Ua_sense_follows_d_sense()
    {
        var h = await Harness.ReadyAsync();
        var (_, d) = await h.RunAsync(Cdbs.ModeSense6(0x0A, dbd: true));
        byte[] control = d[4..];
        control[2] |= 0x04;
        byte[] list = [0, 0, 0, 0, .. control];
        OutcomeAssert.Good((await h.RunAsync(Cdbs.ModeSelect6(list.Length), list)).Outcome);
        h.Lun0.EstablishUnitAttention(h.Nexus, UnitAttention.CapacityChange);
        var o = (await h.RunAsync(Cdbs.TestUnitReady())).Outcome;
        Assert.True(o.DescriptorSense);
        OutcomeAssert.Check(o, SenseKey.UnitAttention, 0x2A, 0x09);
    }
}

using CtlHa.Spec;
using static CtlHa.Model.Tests.Fixture;

namespace CtlHa.Model.Tests;

public sealed class UnitAttentionTests
{
    [Fact]
    public void First_command_of_a_nexus_gets_power_on_and_the_second_succeeds_ctl_ha_10_req63()
    {
        var m = new LogicalUnitModel(new LunConfig());
        AssertCheck(m.Execute(A, Cdb.TestUnitReady()), 0x06, 0x29, 0x01);
        AssertGood(m.Execute(A, Cdb.TestUnitReady()));
        AssertCheck(m.Execute(B, Cdb.Read10(0, 1)), 0x06, 0x29, 0x01);
    }

    [Fact]
    public void Inquiry_report_luns_and_request_sense_do_not_report_UAs_ctl_ha_5_2()
    {
        var m = new LogicalUnitModel(new LunConfig());
        AssertGood(m.Execute(A, Cdb.Inquiry()));
        AssertGood(m.Execute(A, Cdb.ReportLuns()));
        Assert.Equal(UaCode.PowerOn, m.PendingUnitAttentions(A));
    }

    [Fact]
    public void Request_sense_returns_the_pending_UA_as_data_and_clears_it_SPC5_6_39()
    {
        var m = new LogicalUnitModel(new LunConfig());
        var r = m.Execute(A, Cdb.RequestSense());
        AssertGood(r);
        Assert.True(SenseInfo.Decode(r.DataIn).Is(0x06, 0x29, 0x01));
        Assert.Equal(18, r.DataIn.Length);
        r = m.Execute(A, Cdb.RequestSense(desc: true));
        var s = SenseInfo.Decode(r.DataIn);
        Assert.True(s.Descriptor);
        Assert.True(s.Is(0, 0, 0));
        AssertGood(m.Execute(A, Cdb.TestUnitReady()));
    }

    [Fact]
    public void Power_on_clears_every_other_pending_UA_ctl_ha_10()
    {
        var m = new LogicalUnitModel(new LunConfig(BlockCount: 64));
        m.Execute(B, Cdb.TestUnitReady());
        // A is unseen (POWER ON pending); B changes mode parameters, then a LUN reset happens.
        SelectPage(m, B, CachingWith(0x10));
        m.LunReset(B);
        AssertCheck(m.Execute(A, Cdb.TestUnitReady()), 0x06, 0x29, 0x01);
        AssertGood(m.Execute(A, Cdb.TestUnitReady()));
    }

    [Fact]
    public void UAs_are_reported_one_at_a_time_in_CTL_bit_order_ctl_ha_10_req64()
    {
        var m = Settled();
        // B: mode change (0x40), capacity (0x4000), LUN reset (0x10), REPORTED LUNS DATA CHANGED (0x20).
        SelectPage(m, A, CachingWith(0x10));
        m.SetCapacity(128);
        m.LunReset(A);
        m.ReportedLunsChanged();
        AssertCheck(m.Execute(B, Cdb.TestUnitReady()), 0x06, 0x29, 0x00);
        AssertCheck(m.Execute(B, Cdb.TestUnitReady()), 0x06, 0x3F, 0x0E);
        AssertCheck(m.Execute(B, Cdb.TestUnitReady()), 0x06, 0x2A, 0x01);
        AssertCheck(m.Execute(B, Cdb.TestUnitReady()), 0x06, 0x2A, 0x09);
        AssertGood(m.Execute(B, Cdb.TestUnitReady()));
    }

    [Fact]
    public void Resets_give_29_00_and_29_03_to_every_nexus_including_the_requester_CTL_ctl_do_lun_reset()
    {
        var m = Settled();
        m.LunReset(A);
        AssertCheck(m.Execute(A, Cdb.TestUnitReady()), 0x06, 0x29, 0x00);
        AssertCheck(m.Execute(C, Cdb.TestUnitReady()), 0x06, 0x29, 0x00);
        m.TargetReset(C);
        AssertCheck(m.Execute(A, Cdb.TestUnitReady()), 0x06, 0x29, 0x03);
        AssertCheck(m.Execute(C, Cdb.TestUnitReady()), 0x06, 0x29, 0x03);
    }

    [Fact]
    public void Bus_reset_gives_29_02_ctl_ha_8_6()
    {
        var m = Settled();
        m.BusReset(A);
        AssertCheck(m.Execute(B, Cdb.TestUnitReady()), 0x06, 0x29, 0x02);
        AssertCheck(m.Execute(A, Cdb.TestUnitReady()), 0x06, 0x29, 0x02);
    }

    [Fact]
    public void Nexus_loss_gives_29_07_to_that_nexus_only_SAM5_6_3_4()
    {
        var m = Settled();
        m.NexusLoss(B);
        AssertCheck(m.Execute(B, Cdb.TestUnitReady()), 0x06, 0x29, 0x07);
        AssertGood(m.Execute(A, Cdb.TestUnitReady()));
    }

    [Fact]
    public void Report_luns_clears_reported_luns_data_changed_for_the_requester_ctl_ha_9()
    {
        var m = Settled();
        m.ReportedLunsChanged();
        AssertGood(m.Execute(A, Cdb.ReportLuns()));
        AssertGood(m.Execute(A, Cdb.TestUnitReady()));
        AssertCheck(m.Execute(B, Cdb.TestUnitReady()), 0x06, 0x3F, 0x0E);
    }

    [Fact]
    public void Sense_follows_the_control_page_D_SENSE_bit_SPC5_7_5_8()
    {
        var m = Settled();
        var control = m.CurrentModePage(ModePages.Control);
        control[2] |= 0x04;
        AssertGood(SelectPage(m, A, control));
        var r = m.Execute(A, Cdb.Read10(100, 1));
        Assert.Equal(0x72, r.Sense[0]);
        Assert.True(r.DecodedSense!.Is(0x05, 0x21, 0x00));
        Assert.Equal(100UL, r.DecodedSense.Information);
    }

    internal static byte[] CachingWith(byte byte2)
    {
        var page = ModePages.Default(ModePages.Caching, new LunConfig());
        page[2] = byte2;
        return page;
    }
}

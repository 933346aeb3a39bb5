using CtlHa.Spec;

namespace CtlHa.Spec.Tests;

/// <summary>ctl-ha.md §10 (requirements 63, 64).</summary>
public sealed class UaTableTests
{
    [Fact]
    public void UAs_are_reported_lowest_bit_first_requirement_64()
    {
        var pending = UaCode.AsymmetricAccessStateChanged | UaCode.ModeParametersChanged | UaCode.InquiryDataChanged;
        Assert.Equal(UaCode.ModeParametersChanged, UaTable.Next(pending));
        Assert.Equal(UaCode.None, UaTable.Next(UaCode.None));
        Assert.Equal(new GateSense(0x06, 0x2A, 0x06), UaTable.Sense(UaCode.AsymmetricAccessStateChanged));
    }

    [Fact]
    public void Power_on_clears_every_other_pending_UA_requirement_63()
    {
        var pending = UaCode.PowerOn | UaCode.AsymmetricAccessStateChanged | UaCode.ModeParametersChanged;
        Assert.Equal(UaCode.PowerOn, UaTable.Next(pending));
        Assert.Equal(new GateSense(0x06, 0x29, 0x01), UaTable.Sense(UaCode.PowerOn));
        Assert.Equal(UaCode.None, UaTable.AfterReport(pending, UaCode.PowerOn));
    }

    [Fact]
    public void Other_UAs_clear_only_themselves_10()
    {
        var pending = UaCode.LunReset | UaCode.AsymmetricAccessStateChanged;
        Assert.Equal(UaCode.AsymmetricAccessStateChanged, UaTable.AfterReport(pending, UaCode.LunReset));
    }

    [Fact]
    public void Table_rows_are_in_bit_order_with_unique_single_bits()
    {
        var codes = UaTable.Rows.Select(r => (int)r.Code).ToArray();
        Assert.Equal(codes.Order(), codes);
        Assert.All(codes, c => Assert.Equal(1, System.Numerics.BitOperations.PopCount((uint)c)));
        Assert.Equal(Enum.GetValues<UaCode>().Length - 1, codes.Length);
    }
}

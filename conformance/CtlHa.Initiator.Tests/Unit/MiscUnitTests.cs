namespace CtlHa.Initiator.Tests.Unit;

public sealed class MiscUnitTests
{
    [Theory]
    [InlineData("iscsi://127.0.0.1:3261/iqn.2026-11.org.ctlha:disk/1", "127.0.0.1", 3261, "iqn.2026-11.org.ctlha:disk", 1)]
    [InlineData("iscsi://host/iqn.2026-11.org.ctlha:disk", "host", 3260, "iqn.2026-11.org.ctlha:disk", 0)]
    [InlineData("iscsi://[::1]:4000/iqn.x:y/7", "::1", 4000, "iqn.x:y", 7)]
    public void Iscsi_urls_parse_host_port_target_and_lun(string text, string host, int port, string target, int lun)
    {
        Assert.Equal(new IscsiUrl(host, port, target, lun), IscsiUrl.Parse(text));
    }

    [Theory]
    [InlineData("http://host/iqn.x")]
    [InlineData("iscsi://host")]
    [InlineData("iscsi://host:0/iqn.x")]
    [InlineData("iscsi:///iqn.x")]
    public void Malformed_iscsi_urls_are_refused(string text)
    {
        Assert.False(IscsiUrl.TryParse(text, out _));
    }

    [Fact]
    public void Serial_comparison_wraps_at_two_to_the_32()
    {
        Assert.True(Serial.Greater(1, 0xFFFFFFFF));
        Assert.True(Serial.Less(0xFFFFFFFF, 1));
        Assert.True(Serial.LessOrEqual(5, 5));
        Assert.False(Serial.Greater(5, 5));
        Assert.True(Serial.Greater(0x7FFFFFFF, 0));
    }
}

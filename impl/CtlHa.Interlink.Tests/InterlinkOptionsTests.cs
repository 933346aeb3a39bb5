using System.Net;
using CtlHa.Wire;

namespace CtlHa.Interlink.Tests;

public sealed class InterlinkOptionsTests
{
    [Theory]
    [InlineData("listen:127.0.0.1:999", InterlinkSide.Listen, "127.0.0.1:999")]
    [InlineData("connect:10.0.0.2:3262", InterlinkSide.Connect, "10.0.0.2:3262")]
    [InlineData("connect:[::1]:3262", InterlinkSide.Connect, "[::1]:3262")]
    public void Peer_settings_parse(string text, InterlinkSide side, string endPoint)
    {
        var peer = InterlinkEndpoint.Parse(text);
        Assert.Equal(side, peer.Side);
        Assert.Equal(IPEndPoint.Parse(endPoint), peer.EndPoint);
        Assert.Equal(peer, InterlinkEndpoint.Parse(peer.ToString()));
    }

    [Theory]
    [InlineData("")]
    [InlineData("listen")]
    [InlineData("dial:1.2.3.4:5")]
    [InlineData("connect:1.2.3.4")]
    [InlineData("connect:nohost:5")]
    public void Bad_peer_settings_are_refused(string text)
    {
        Assert.Throws<FormatException>(() => InterlinkEndpoint.Parse(text));
    }

    [Fact]
    public void Options_without_key_need_explicit_permission()
    {
        var options = new InterlinkOptions { NodeId = 1 };
        Assert.Throws<ArgumentException>(options.Validate);
        options.AllowUnauthenticated = true;
        options.Validate();
    }

    [Fact]
    public void Options_refuse_bad_node_ids_short_keys_and_slow_first_retries()
    {
        Assert.Throws<ArgumentException>(new InterlinkOptions { NodeId = 3, AllowUnauthenticated = true }.Validate);
        Assert.Throws<ArgumentException>(new InterlinkOptions { NodeId = 1, Psk = new byte[8] }.Validate);
        Assert.Throws<ArgumentException>(new InterlinkOptions { NodeId = 1, AllowUnauthenticated = true, BackoffInitial = TimeSpan.FromSeconds(1) }.Validate);
        Assert.Throws<ArgumentException>(new InterlinkOptions { NodeId = 1, AllowUnauthenticated = true, DeadAfter = TimeSpan.FromMilliseconds(300) }.Validate);
    }

    [Fact]
    public void The_login_carries_the_options()
    {
        var login = new InterlinkOptions { NodeId = 2, Mode = HaMode.Shared, ClusterName = "c1", MaxLuns = 64, MaxPorts = 32, MaxInitiatorsPerPort = 128, AllowUnauthenticated = true }.ToLogin();
        Assert.Equal(new Login(WireLimits.ProtocolVersion, HaMode.Shared, 2, "c1", 64, 32, 128, WireLimits.MaxFrameLength, "ctlha"), login);
    }
}

using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace CtlHa.Wire.Tests;

public sealed class LoginCheckTests
{
    private static readonly Login A = new(WireLimits.ProtocolVersion, HaMode.Proxy, 1, "pair", 1024, 1024, 2048, WireLimits.MaxFrameLength, "a");
    private static readonly Login B = A with { NodeId = 2, SoftwareVersion = "b", MaxFrameLength = WireLimits.MinFrameLength };

    public static TheoryData<string, Login, LoginField, string, string> Mismatches() => new()
    {
        { "version", B with { ProtocolVersion = 1 }, LoginField.ProtocolVersion, "2", "1" },
        { "mode", B with { Mode = HaMode.Standby }, LoginField.HaMode, "proxy", "standby" },
        { "undefined mode", B with { Mode = (HaMode)9 }, LoginField.HaMode, "proxy", "9" },
        { "same node id", B with { NodeId = 1 }, LoginField.NodeIdSame, "1", "1" },
        { "node id 3", B with { NodeId = 3 }, LoginField.NodeIdInvalid, "1", "3" },
        { "cluster", B with { ClusterName = "other" }, LoginField.ClusterName, "pair", "other" },
        { "max luns", B with { MaxLuns = 256 }, LoginField.MaxLuns, "1024", "256" },
        { "max ports", B with { MaxPorts = 256 }, LoginField.MaxPorts, "1024", "256" },
        { "max initiators", B with { MaxInitiatorsPerPort = 16 }, LoginField.MaxInitiatorsPerPort, "2048", "16" },
        { "version wins over everything", B with { ProtocolVersion = 9, Mode = HaMode.Shared, NodeId = 1 }, LoginField.ProtocolVersion, "2", "9" },
    };

    [Theory]
    [MemberData(nameof(Mismatches))]
    public void Login_comparison_names_the_first_differing_field_and_both_values(string _, Login peer, LoginField field, string local, string remote)
    {
        var mismatch = LoginCheck.Compare(A, peer);
        Assert.Equal(new LoginMismatch(field, local, remote), mismatch);
        var goodbye = LoginCheck.ToGoodbye(mismatch!);
        goodbye.Validate();
        Assert.Equal((GoodbyeReason.LoginMismatch, field, local, remote), (goodbye.Reason, goodbye.Field, goodbye.SenderValue, goodbye.ReceiverValue));
    }

    [Fact]
    public void Frame_limit_and_software_version_are_not_compared()
    {
        Assert.Null(LoginCheck.Compare(A, B));
    }

    [Fact]
    public void A_mismatch_reads_as_one_log_line()
    {
        Assert.Equal("HA mode differs: local proxy, peer standby", LoginCheck.Compare(A, B with { Mode = HaMode.Standby })!.ToString());
    }

    [Property(MaxTest = 300)]
    public bool Login_comparison_is_symmetric_in_the_field_it_names(byte v, byte m, byte id1, byte id2, bool sameCluster, byte luns, byte ports, byte inits)
    {
        var a = A with { NodeId = (byte)(id1 % 4) };
        var b = A with
        {
            ProtocolVersion = v % 8 == 0 ? 1u : 2u,
            Mode = (HaMode)(m % 3),
            NodeId = (byte)(id2 % 4),
            ClusterName = sameCluster ? "pair" : "x",
            MaxLuns = luns % 4 == 0 ? 16u : 1024u,
            MaxPorts = ports % 4 == 0 ? 16u : 1024u,
            MaxInitiatorsPerPort = inits % 4 == 0 ? 16u : 2048u,
        };
        return LoginCheck.Compare(a, b)?.Field == LoginCheck.Compare(b, a)?.Field;
    }

    [Fact]
    public void A_node_checks_its_own_configuration_before_announcing_it()
    {
        Assert.Null(A.CheckOwnConfiguration());
        Assert.NotNull((A with { NodeId = 3 }).CheckOwnConfiguration());
        Assert.NotNull((A with { Mode = (HaMode)3 }).CheckOwnConfiguration());
        Assert.NotNull((A with { ClusterName = "a b" }).CheckOwnConfiguration());
        Assert.NotNull((A with { MaxPorts = 7 }).CheckOwnConfiguration());
        Assert.NotNull((A with { MaxLuns = 0 }).CheckOwnConfiguration());
        Assert.NotNull((A with { MaxInitiatorsPerPort = 4096 }).CheckOwnConfiguration());
        Assert.NotNull((A with { ProtocolVersion = 0 }).CheckOwnConfiguration());
    }

    [Fact]
    public void A_peer_login_with_odd_values_still_decodes_so_it_can_be_compared()
    {
        var odd = A with { NodeId = 7, Mode = (HaMode)5, MaxLuns = 0, MaxPorts = 3, ClusterName = "x y" };
        var frame = InterlinkFrame.Encode(odd);
        var decoded = InterlinkFrame.DecodePayload(frame.AsMemory(4));
        WireAssert.Equivalent(odd, decoded);
    }
}

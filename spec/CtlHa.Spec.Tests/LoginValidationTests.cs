using CtlHa.Spec;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace CtlHa.Spec.Tests;

/// <summary>ctl-ha.md §4.2 and requirement 8, as CtlHa extends them (cluster name, node-id range).</summary>
public sealed class LoginValidationTests
{
    private static readonly LoginParameters Node1 = new(1, HaMode.Proxy, 1, "pair", 1024, 1024, 2048);
    private static readonly LoginParameters Node2 = Node1 with { NodeId = 2 };

    [Fact]
    public void Matching_parameters_with_ids_1_and_2_log_in() =>
        Assert.Equal(LinkTrigger.LoginMatched, LoginValidation.Compare(Node1, Node2));

    public static TheoryData<LoginParameters, LinkTrigger> Mismatches => new()
    {
        { Node2 with { ProtocolVersion = 2 }, LinkTrigger.VersionMismatch },
        { Node2 with { Mode = HaMode.Standby }, LinkTrigger.ModeMismatch },
        { Node2 with { NodeId = 1 }, LinkTrigger.SameNodeId },
        { Node2 with { NodeId = 3 }, LinkTrigger.InvalidNodeId },
        { Node2 with { NodeId = 0 }, LinkTrigger.InvalidNodeId },
        { Node2 with { Cluster = "PAIR" }, LinkTrigger.ClusterMismatch },
        { Node2 with { MaxLuns = 256 }, LinkTrigger.MaxLunsMismatch },
        { Node2 with { MaxPorts = 256 }, LinkTrigger.MaxPortsMismatch },
        { Node2 with { MaxInitiatorsPerPort = 1024 }, LinkTrigger.MaxInitiatorsMismatch },
    };

    [Theory]
    [MemberData(nameof(Mismatches))]
    public void Each_login_mismatch_is_named_and_described_with_both_values(LoginParameters peer, LinkTrigger expected)
    {
        Assert.Equal(expected, LoginValidation.Compare(Node1, peer));
        Assert.True(LoginValidation.IsMismatch(expected));
        var text = LoginValidation.Describe(expected, Node1, peer);
        Assert.StartsWith(LoginValidation.FieldName(expected), text, StringComparison.Ordinal);
        Assert.Contains("local", text, StringComparison.Ordinal);
        Assert.Contains("peer", text, StringComparison.Ordinal);
    }

    [Fact]
    public void The_first_mismatch_in_field_order_wins()
    {
        var peer = Node2 with { Mode = HaMode.Shared, MaxLuns = 1, ProtocolVersion = 9 };
        Assert.Equal(LinkTrigger.VersionMismatch, LoginValidation.Compare(Node1, peer));
        Assert.Equal(LinkTrigger.ModeMismatch, LoginValidation.Compare(Node1, peer with { ProtocolVersion = 1 }));
    }

    [Property(MaxTest = 500)]
    public Property Login_comparison_is_symmetric() =>
        Prop.ForAll(Generators.Login.ToArbitrary(), Generators.Login.ToArbitrary(), (a, b) =>
            LoginValidation.Compare(a, b) == LoginValidation.Compare(b, a)
            && LoginValidation.IsMismatch(LoginValidation.Compare(a, b)) == LoginValidation.IsMismatch(LoginValidation.Compare(b, a)));

    [Property(MaxTest = 500)]
    public Property Compatible_iff_every_field_agrees_and_ids_are_1_and_2() =>
        Prop.ForAll(Generators.Login.ToArbitrary(), Generators.Login.ToArbitrary(), (a, b) =>
        {
            var compatible = a.ProtocolVersion == b.ProtocolVersion && a.Mode == b.Mode && a.Cluster == b.Cluster
                && a.MaxLuns == b.MaxLuns && a.MaxPorts == b.MaxPorts && a.MaxInitiatorsPerPort == b.MaxInitiatorsPerPort
                && new[] { a.NodeId, b.NodeId }.Order().SequenceEqual([1, 2]);
            return compatible == (LoginValidation.Compare(a, b) == LinkTrigger.LoginMatched);
        });
}

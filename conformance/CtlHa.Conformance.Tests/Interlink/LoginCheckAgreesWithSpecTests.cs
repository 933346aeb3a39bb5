using CtlHa.Spec;
using CtlHa.Wire;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace CtlHa.Conformance.Tests.Interlink;

/// <summary>The wire's LoginCheck (what nodes run) is the spec's LoginValidation (what the model says).</summary>
public sealed class LoginCheckAgreesWithSpecTests
{
    private static readonly (LoginField Field, LinkTrigger Trigger)[] Pairs =
    [
        (LoginField.ProtocolVersion, LinkTrigger.VersionMismatch),
        (LoginField.HaMode, LinkTrigger.ModeMismatch),
        (LoginField.NodeIdSame, LinkTrigger.SameNodeId),
        (LoginField.NodeIdInvalid, LinkTrigger.InvalidNodeId),
        (LoginField.ClusterName, LinkTrigger.ClusterMismatch),
        (LoginField.MaxLuns, LinkTrigger.MaxLunsMismatch),
        (LoginField.MaxPorts, LinkTrigger.MaxPortsMismatch),
        (LoginField.MaxInitiatorsPerPort, LinkTrigger.MaxInitiatorsMismatch),
    ];

    [Fact]
    public void Login_fields_are_checked_in_the_spec_mismatch_order()
    {
        Assert.Equal(LoginValidation.MismatchOrder, Pairs.Select(p => p.Trigger));
        Assert.Equal(Enum.GetValues<LoginField>().Where(f => f != LoginField.None), Pairs.Select(p => p.Field));
    }

    private static readonly Gen<Login> LoginGen =
        from version in Gen.Elements(1u, 2u)
        from mode in Gen.Elements(CtlHa.Wire.HaMode.Standby, CtlHa.Wire.HaMode.Shared, CtlHa.Wire.HaMode.Proxy)
        from id in Gen.Elements<byte>(0, 1, 2, 3)
        from cluster in Gen.Elements("a", "b")
        from luns in Gen.Elements(256u, 1024u)
        from ports in Gen.Elements(256u, 1024u)
        from inits in Gen.Elements(1024u, 2048u)
        select new Login(version, mode, id, cluster, luns, ports, inits, WireLimits.MaxFrameLength, "x");

    public static class Arbs
    {
        public static Arbitrary<Login> Login() => LoginGen.ToArbitrary();
    }

    private static LoginParameters ToSpec(Login login) => new(
        (int)login.ProtocolVersion,
        login.Mode switch
        {
            CtlHa.Wire.HaMode.Standby => CtlHa.Spec.HaMode.Standby,
            CtlHa.Wire.HaMode.Shared => CtlHa.Spec.HaMode.Shared,
            _ => CtlHa.Spec.HaMode.Proxy,
        },
        login.NodeId,
        login.ClusterName,
        (int)login.MaxLuns,
        (int)login.MaxPorts,
        (int)login.MaxInitiatorsPerPort);

    [Property(Arbitrary = [typeof(Arbs)], MaxTest = 1000)]
    public bool LoginCheck_names_the_same_mismatch_as_LoginValidation(Login local, Login peer)
    {
        var wire = LoginCheck.Compare(local, peer);
        var spec = LoginValidation.Compare(ToSpec(local), ToSpec(peer));
        return wire is null
            ? spec == LinkTrigger.LoginMatched
            : Pairs.Single(p => p.Field == wire.Field).Trigger == spec;
    }
}

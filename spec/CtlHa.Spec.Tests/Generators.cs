using CtlHa.Spec;
using FsCheck;
using FsCheck.Fluent;

namespace CtlHa.Spec.Tests;

/// <summary>FsCheck generators shared by the property tests.</summary>
public static class Generators
{
    public static Gen<HaMode> Mode { get; } = Gen.Elements(Enum.GetValues<HaMode>());

    /// <summary>Every consistent <see cref="LunHaView"/> (PeerPrimary only while Online; Unavailable mode has no link).</summary>
    public static Gen<LunHaView> ConsistentView { get; } =
        from node in Gen.Elements(1, 2)
        from role in Gen.Elements(HaRole.Primary, HaRole.Secondary)
        from peer in Gen.Elements(true, false)
        from link in Gen.Elements(Enum.GetValues<LinkState>())
        from mode in Mode
        let v = new LunHaView(node, role, peer, link, mode)
        where v.IsConsistent
        select v;

    public static Gen<CommandInfo> Command { get; } = Gen.Elements(CommandTable.All.ToArray());

    public static Gen<LoginParameters> Login { get; } =
        from version in Gen.Elements(1, 2)
        from mode in Mode
        from node in Gen.Elements(0, 1, 2, 3)
        from cluster in Gen.Elements("alpha", "beta", "Alpha")
        from luns in Gen.Elements(256, 1024)
        from ports in Gen.Elements(256, 1024)
        from inits in Gen.Elements(2048, 1024)
        select new LoginParameters(version, mode, node, cluster, luns, ports, inits);
}

namespace CtlHa.Spec;

/// <summary>One exported diagram of a spec machine (committed under spec/graphs, checked by a golden test).</summary>
public sealed record SpecGraph(string Name, string Mermaid, string Dot);

/// <summary>The diagrams of every spec machine, each drawn from its initial state.</summary>
public static class SpecGraphs
{
    /// <summary>
    /// link-lifecycle: <see cref="LinkLifecycleSpec"/> from Unconfigured; lun-role: <see cref="LunRoleSpec"/>
    /// for node 1 in proxy mode from SecondaryOffline (the graph is the same in every mode; guards decide).
    /// </summary>
    public static IReadOnlyList<SpecGraph> All()
    {
        var link = new LinkLifecycleSpec();
        var lun = new LunRoleSpec(1, HaMode.Proxy);
        return
        [
            new SpecGraph("link-lifecycle", link.ToMermaid(), link.ToDot()),
            new SpecGraph("lun-role", lun.ToMermaid(), lun.ToDot()),
        ];
    }
}

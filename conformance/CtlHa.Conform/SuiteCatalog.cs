using CtlHa.Conformance.Ha;
using CtlHa.Conformance.Linearizability;
using CtlHa.Conformance.Suites;

namespace CtlHa.Conform;

/// <summary>
/// Every registered suite, in run order, for each verb. <c>self</c> runs the differential property on nodes it starts;
/// <c>pair</c> runs it through node A of the given pair, and lists the suites its adapter cannot serve as skipped.
/// Cheap suites come first so a tight budget still checks them.
/// </summary>
public static class SuiteCatalog
{
    /// <summary>
    /// Suites that run only when named with <c>--suite</c>: the full persistent-reservation linearizability workload,
    /// which still finds non-linearizable histories around unit attentions (conformance/.../Linearizability/README.md).
    /// </summary>
    public static IReadOnlyList<IConformanceSuite> OptIn() =>
    [
        new LinearizabilitySuite(new LinearizabilityOptions
        {
            Name = LinearizabilitySuite.WithUnitAttentionsName,
            Workloads = [LinWorkload.PersistentReservations],
        }),
    ];

    public static IReadOnlyList<IConformanceSuite> ForSelf() =>
    [
        new DifferentialSuite(DifferentialTarget.OwnNode),
        new HandshakeMatrixSuite(),
        new InterlinkPeerSuite(),
        new LinearizabilitySuite(),
        new HaMachineSuite(),
    ];

    public static IReadOnlyList<IConformanceSuite> ForPair() =>
    [
        new DifferentialSuite(DifferentialTarget.PairNodeA),
        new HandshakeMatrixSuite(),
        new InterlinkPeerSuite(),
        new LinearizabilitySuite(),
        new HaMachineSuite(),
    ];

    /// <summary>
    /// The suites named by <c>--suite</c> (in catalog order), or all when none is named; <paramref name="error"/> lists
    /// the known names when a name is unknown.
    /// </summary>
    public static IReadOnlyList<IConformanceSuite>? Select(IReadOnlyList<IConformanceSuite> all, IReadOnlyList<string> names, out string? error)
    {
        error = null;
        if (names.Count == 0)
        {
            return all;
        }
        all = [.. all, .. OptIn()];

        var unknown = names.Where(n => all.All(s => !string.Equals(s.Name, n, StringComparison.OrdinalIgnoreCase))).ToList();
        if (unknown.Count > 0)
        {
            error = $"unknown suite{(unknown.Count > 1 ? "s" : "")} {string.Join(", ", unknown.Select(u => $"'{u}'"))}: known are {string.Join(", ", all.Select(s => s.Name))}";
            return null;
        }

        return [.. all.Where(s => names.Any(n => string.Equals(s.Name, n, StringComparison.OrdinalIgnoreCase)))];
    }
}

namespace CtlHa.Conformance.Suites;

/// <summary>Which node of a pair: A is node 1 (primary by default), B is node 2.</summary>
public enum PairNode
{
    A = 1,
    B = 2,
}

/// <summary>
/// A pair reached over TCP: two iSCSI portals serving the same LUNs, plus node control through an adapter (our control
/// API, user-given shell commands, or the embedded pair's own process and fault-proxy control). Operations an adapter
/// cannot do throw <see cref="NotSupportedException"/>; <see cref="Capabilities"/> says which it can.
/// </summary>
public interface IPairUnderTest : IAsyncDisposable
{
    /// <summary>iscsi://host:port/target-iqn (LUN addressed per command).</summary>
    Uri UrlOf(PairNode node);

    SuiteNeeds Capabilities { get; }

    /// <summary>Makes <paramref name="node"/> primary (or secondary) for <paramref name="lun"/> (null = every LUN).</summary>
    Task SetRoleAsync(PairNode node, bool primary, int? lun, CancellationToken cancellationToken);

    /// <summary>SIGKILL of the node's process.</summary>
    Task KillAsync(PairNode node, CancellationToken cancellationToken);

    /// <summary>Starts a killed or stopped node again with the same configuration and backing store.</summary>
    Task RestartAsync(PairNode node, CancellationToken cancellationToken);

    /// <summary>Cuts the interlink (both directions, connections reset) until <see cref="RestoreLinkAsync"/>.</summary>
    Task CutLinkAsync(CancellationToken cancellationToken);

    /// <summary>Stalls the interlink: bytes stop flowing but the connections stay open (a half-open peer).</summary>
    Task StallLinkAsync(CancellationToken cancellationToken);

    Task RestoreLinkAsync(CancellationToken cancellationToken);

    /// <summary>True once both nodes report the interlink online (polls status; false after the timeout).</summary>
    Task<bool> WaitLinkedAsync(TimeSpan timeout, CancellationToken cancellationToken);
}

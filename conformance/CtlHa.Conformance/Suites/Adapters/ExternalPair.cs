namespace CtlHa.Conformance.Suites.Adapters;

/// <summary>
/// A pair someone else runs: two portals, and no way to kill, restart or fault it (only the embedded pair of
/// <c>ctlha-conform self</c> can). Adapters add role control on top; what they cannot do throws
/// <see cref="NotSupportedException"/> naming the adapter.
/// </summary>
public abstract class ExternalPair(Uri a, Uri b) : IPairUnderTest
{
    public abstract SuiteNeeds Capabilities { get; }

    /// <summary>"the control-API adapter", …: the subject of the not-supported messages.</summary>
    protected abstract string AdapterName { get; }

    public Uri UrlOf(PairNode node) => node == PairNode.A ? a : b;

    public abstract Task SetRoleAsync(PairNode node, bool primary, int? lun, CancellationToken cancellationToken);

    public Task KillAsync(PairNode node, CancellationToken cancellationToken) => throw Unsupported("kill a node");

    public Task RestartAsync(PairNode node, CancellationToken cancellationToken) => throw Unsupported("restart a node");

    public Task CutLinkAsync(CancellationToken cancellationToken) => throw Unsupported("cut the interlink");

    public Task StallLinkAsync(CancellationToken cancellationToken) => throw Unsupported("stall the interlink");

    public Task RestoreLinkAsync(CancellationToken cancellationToken) => throw Unsupported("restore the interlink");

    public abstract Task<bool> WaitLinkedAsync(TimeSpan timeout, CancellationToken cancellationToken);

    public abstract ValueTask DisposeAsync();

    protected NotSupportedException Unsupported(string what) =>
        new($"{AdapterName} cannot {what}: only the embedded pair of `ctlha-conform self` can");
}

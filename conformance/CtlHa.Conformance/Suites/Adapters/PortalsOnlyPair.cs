namespace CtlHa.Conformance.Suites.Adapters;

/// <summary>
/// A running pair given only by its two iSCSI URLs (<c>ctlha-conform pair --a URL --b URL</c> without control options):
/// suites that only send SCSI commands run; those that promote, demote or inject faults are skipped.
/// </summary>
public sealed class PortalsOnlyPair(Uri a, Uri b) : IPairUnderTest
{
    public SuiteNeeds Capabilities => SuiteNeeds.Pair;

    public Uri UrlOf(PairNode node) => node == PairNode.A ? a : b;

    public Task SetRoleAsync(PairNode node, bool primary, int? lun, CancellationToken cancellationToken) => throw Unsupported();

    public Task KillAsync(PairNode node, CancellationToken cancellationToken) => throw Unsupported();

    public Task RestartAsync(PairNode node, CancellationToken cancellationToken) => throw Unsupported();

    public Task CutLinkAsync(CancellationToken cancellationToken) => throw Unsupported();

    public Task StallLinkAsync(CancellationToken cancellationToken) => throw Unsupported();

    public Task RestoreLinkAsync(CancellationToken cancellationToken) => throw Unsupported();

    /// <summary>Nothing to ask: the user started the pair linked.</summary>
    public Task<bool> WaitLinkedAsync(TimeSpan timeout, CancellationToken cancellationToken) => Task.FromResult(true);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    public override string ToString() => $"pair {a} + {b} (no node control)";

    private static NotSupportedException Unsupported() =>
        new("no node control was given: add --control-a/--control-b or the --promote-*/--demote-* commands");
}

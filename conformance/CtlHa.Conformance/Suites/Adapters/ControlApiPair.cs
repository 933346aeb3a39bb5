using System.Diagnostics;

namespace CtlHa.Conformance.Suites.Adapters;

/// <summary>
/// A running CtlHa pair reached through its iSCSI portals and its HTTP control API (<c>ctlha-conform pair --a URL --b
/// URL --control-a ADDR --control-b ADDR</c>): promote/demote with <c>POST /role</c>, link state from <c>GET /status</c>.
/// It cannot kill nodes or cut the link, so suites that need those are skipped.
/// </summary>
public sealed class ControlApiPair : IPairUnderTest
{
    private readonly Uri _a;
    private readonly Uri _b;
    private readonly ControlApiClient _controlA;
    private readonly ControlApiClient _controlB;

    public ControlApiPair(Uri a, Uri b, Uri controlA, Uri controlB)
    {
        _a = a;
        _b = b;
        _controlA = new ControlApiClient(controlA);
        _controlB = new ControlApiClient(controlB);
    }

    public SuiteNeeds Capabilities => SuiteNeeds.Pair | SuiteNeeds.RoleControl;

    public Uri UrlOf(PairNode node) => node == PairNode.A ? _a : _b;

    public ControlApiClient ControlOf(PairNode node) => node == PairNode.A ? _controlA : _controlB;

    public Task SetRoleAsync(PairNode node, bool primary, int? lun, CancellationToken cancellationToken) =>
        ControlOf(node).SetRoleAsync(primary, lun, cancellationToken);

    public Task KillAsync(PairNode node, CancellationToken cancellationToken) => throw Unsupported("kill a node");

    public Task RestartAsync(PairNode node, CancellationToken cancellationToken) => throw Unsupported("restart a node");

    public Task CutLinkAsync(CancellationToken cancellationToken) => throw Unsupported("cut the interlink");

    public Task StallLinkAsync(CancellationToken cancellationToken) => throw Unsupported("stall the interlink");

    public Task RestoreLinkAsync(CancellationToken cancellationToken) => throw Unsupported("restore the interlink");

    public async Task<bool> WaitLinkedAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                var a = await _controlA.GetStatusAsync(cancellationToken).ConfigureAwait(false);
                var b = await _controlB.GetStatusAsync(cancellationToken).ConfigureAwait(false);
                if (a.Link?.State == "online" && b.Link?.State == "online")
                {
                    return true;
                }
            }
            catch (ControlApiException)
            {
                // A node restarting answers nothing for a moment; keep polling until the timeout.
            }

            if (clock.Elapsed >= timeout)
            {
                return false;
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
    }

    public ValueTask DisposeAsync()
    {
        _controlA.Dispose();
        _controlB.Dispose();
        return ValueTask.CompletedTask;
    }

    public override string ToString() => $"pair {_a} + {_b} (control API {_controlA.BaseAddress}, {_controlB.BaseAddress})";

    private static NotSupportedException Unsupported(string what) =>
        new($"the control-API adapter cannot {what}: only the embedded pair of `ctlha-conform self` can");
}

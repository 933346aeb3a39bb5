using System.Diagnostics;

namespace CtlHa.Conformance.Suites.Adapters;

/// <summary>
/// A running CtlHa pair reached through its iSCSI portals and its HTTP control API (<c>ctlha-conform pair --a URL --b
/// URL --control-a ADDR --control-b ADDR</c>): promote/demote with <c>POST /role</c>, link state from <c>GET /status</c>.
/// It cannot kill nodes or cut the link, so suites that need those are skipped.
/// </summary>
public sealed class ControlApiPair : ExternalPair
{
    private readonly Uri _a;
    private readonly Uri _b;
    private readonly ControlApiClient _controlA;
    private readonly ControlApiClient _controlB;

    public ControlApiPair(Uri a, Uri b, Uri controlA, Uri controlB)
        : base(a, b)
    {
        _a = a;
        _b = b;
        _controlA = new ControlApiClient(controlA);
        _controlB = new ControlApiClient(controlB);
    }

    protected override string AdapterName => "the control-API adapter";

    public override SuiteNeeds Capabilities => SuiteNeeds.Pair | SuiteNeeds.RoleControl;

    public ControlApiClient ControlOf(PairNode node) => node == PairNode.A ? _controlA : _controlB;

    public override Task SetRoleAsync(PairNode node, bool primary, int? lun, CancellationToken cancellationToken) =>
        ControlOf(node).SetRoleAsync(primary, lun, cancellationToken);

    public override async Task<bool> WaitLinkedAsync(TimeSpan timeout, CancellationToken cancellationToken)
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

    public override ValueTask DisposeAsync()
    {
        _controlA.Dispose();
        _controlB.Dispose();
        return ValueTask.CompletedTask;
    }

    public override string ToString() => $"pair {_a} + {_b} (control API {_controlA.BaseAddress}, {_controlB.BaseAddress})";

}

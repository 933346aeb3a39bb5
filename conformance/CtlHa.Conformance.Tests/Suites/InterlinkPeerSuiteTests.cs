using CtlHa.Conformance.Interlink;
using CtlHa.Conformance.Suites;
using CtlHa.Conformance.Tests.Node;

namespace CtlHa.Conformance.Tests.Suites;

[Collection(NodeCollection.Name)]
public sealed class InterlinkPeerSuiteTests
{
    [Fact(Timeout = 180_000)]
    public async Task A_self_run_checks_every_peer_validator_case_against_a_real_node()
    {
        var report = await SuiteRunner.RunAsync([new InterlinkPeerSuite()], new SuiteRunOptions
        {
            Budget = TimeSpan.FromSeconds(30),
            Seed = 1,
            OwnNodes = true,
        }, CancellationToken.None);

        var outcome = Assert.Single(report.Suites);
        Assert.True(outcome.Verdict == SuiteVerdict.Passed,
            string.Join("\n", outcome.Result?.Failures.Select(f => $"{f.Case}: {f.Message}") ?? []));
        Assert.Equal(PeerValidator.CheckNames.Count, outcome.Cases);
    }
}

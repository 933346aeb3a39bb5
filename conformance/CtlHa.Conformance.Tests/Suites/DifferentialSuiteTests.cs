using CtlHa.Conformance.Suites;
using CtlHa.Conformance.Tests.Node;

namespace CtlHa.Conformance.Tests.Suites;

[Collection(NodeCollection.Name)]
public sealed class DifferentialSuiteTests
{
    [Fact]
    public void Sequences_are_a_function_of_the_seed_and_their_index()
    {
        var suite = new DifferentialSuite(DifferentialTarget.OwnNode);

        Assert.Equal(suite.SequenceFor(7, 3).Select(s => s.ToString()), suite.SequenceFor(7, 3).Select(s => s.ToString()));
        var distinct = Enumerable.Range(0, 10).Select(i => string.Join(";", suite.SequenceFor(7, i).Select(s => s.ToString()))).Distinct().Count();
        Assert.True(distinct >= 8, $"{distinct} distinct sequences of 10");
    }

    [Fact]
    public void On_its_own_node_it_runs_under_self_and_through_node_A_under_pair()
    {
        Assert.Equal(SuiteNeeds.OwnNodes, new DifferentialSuite(DifferentialTarget.OwnNode).Needs);
        Assert.Equal(SuiteNeeds.Pair, new DifferentialSuite(DifferentialTarget.PairNodeA).Needs);
    }

    [Fact(Timeout = 180_000)]
    public async Task A_short_self_run_of_the_differential_suite_agrees_with_the_model()
    {
        var report = await SuiteRunner.RunAsync([new DifferentialSuite(DifferentialTarget.OwnNode)], new SuiteRunOptions
        {
            Budget = TimeSpan.FromSeconds(6),
            Seed = 5,
            OwnNodes = true,
        }, CancellationToken.None);

        var outcome = Assert.Single(report.Suites);
        Assert.True(outcome.Verdict == SuiteVerdict.Passed,
            string.Join("\n", outcome.Result?.Failures.Select(f => $"{f.Case}: {f.Message}\n  {string.Join("\n  ", f.Trace)}") ?? []));
        Assert.True(outcome.Cases >= 1);
        Assert.True(outcome.Operations >= 1 || outcome.Cases >= 2);
    }
}

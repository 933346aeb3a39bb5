using System.Globalization;
using CtlHa.Conformance.Ha;
using CtlHa.Conformance.Suites;
using CtlHa.Conformance.Tests.Node;
using Xunit.Abstractions;

namespace CtlHa.Conformance.Tests.Ha;

/// <summary>
/// The HA machine suite for a small budget (CTLHA_HA_BUDGET seconds, default 25) so <c>dotnet test</c> covers it;
/// <c>CTLHA_HA_SEED=N</c> replays a printed seed. Longer runs: <c>ctlha-conform self --suite ha-machine --budget 10m</c>.
/// </summary>
[Collection(NodeCollection.Name)]
public sealed class HaMachineSuiteTests(ITestOutputHelper output)
{
    [Fact(Timeout = 600_000)]
    public async Task The_pair_answers_within_the_model_s_allowed_set_through_faults_kills_and_role_changes()
    {
        var budget = TimeSpan.FromSeconds(Int("CTLHA_HA_BUDGET", 25));
        var seed = Int("CTLHA_HA_SEED", Random.Shared.Next(1, int.MaxValue));
        var lines = new List<string>();
        var context = new SuiteContext
        {
            Seed = seed,
            Deadline = DateTimeOffset.UtcNow + budget,
            Log = line =>
            {
                lock (lines)
                {
                    lines.Add(line);
                }
            },
        };

        var result = await new HaMachineSuite().RunAsync(context, CancellationToken.None);

        output.WriteLine($"seed {seed}: {result.Cases} cases, {result.Operations} operations in {result.Duration.TotalSeconds:0.0} s");
        foreach (var line in lines)
        {
            output.WriteLine(line);
        }

        var failures = string.Join("\n\n", result.Failures.Select(f => $"{f.Case}: {f.Message}\n  {string.Join("\n  ", f.Trace)}\n  replay: {f.Replay}"));
        Assert.True(result.Passed, failures);
        Assert.True(result.Cases > 0, "no case ran within the budget");
    }

    private static int Int(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : fallback;
}

using CtlHa.Conformance.Suites;
using CtlHa.Conformance.Suites.Adapters;
using CtlHa.Conformance.Tests.Node;
using CtlHa.Spec;

namespace CtlHa.Conformance.Tests.Suites;

/// <summary>The handshake matrix: its case generation and verdicts (no nodes), then short runs against real nodes.</summary>
public sealed class HandshakeMatrixSuiteTests
{
    private static HandshakeSide Side(int id, HaMode mode = HaMode.Proxy, string cluster = "ctlha", HandshakeKey key = HandshakeKey.K1) => new(id, mode, cluster, key);

    private static ControlStatus Status(string state, string? rejection) => new(1, "proxy", new ControlLinkStatus(state, rejection), []);

    [Fact]
    public void Cases_are_a_function_of_the_seed_start_compatible_and_do_not_repeat()
    {
        var first = HandshakeMatrixSuite.CasesFor(1234, 20);
        var again = HandshakeMatrixSuite.CasesFor(1234, 20);
        var other = HandshakeMatrixSuite.CasesFor(99, 20);

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
        Assert.True(first[0].Expected.Online, first[0].Why);
        Assert.Equal(first.Count, first.Select(c => $"{c.A}|{c.B}").Distinct().Count());
        // Enough variety that a run of 20 meets both outcomes and several Login checks.
        Assert.Contains(first, c => !c.Expected.Online && c.Expected.Login is not null);
        Assert.Contains(first, c => c.Expected.Authentication);
    }

    [Fact]
    public void The_expectation_follows_the_keys_first_then_the_spec_Login_order()
    {
        Assert.True(new HandshakeCase("ok", Side(1), Side(2)).Expected.Online);
        Assert.True(new HandshakeCase("no keys", Side(1, key: HandshakeKey.None), Side(2, key: HandshakeKey.None)).Expected.Online);
        Assert.True(new HandshakeCase("keys", Side(1), Side(2, key: HandshakeKey.K2)).Expected.Authentication);
        Assert.True(new HandshakeCase("one key, and modes differ", Side(1), Side(2, HaMode.Standby, key: HandshakeKey.None)).Expected.Authentication);
        Assert.Equal(LinkTrigger.ModeMismatch, new HandshakeCase("m", Side(1), Side(2, HaMode.Shared, "blue")).Expected.Login);
        Assert.Equal(LinkTrigger.SameNodeId, new HandshakeCase("id", Side(2), Side(2, cluster: "blue")).Expected.Login);
        Assert.Equal(LinkTrigger.ClusterMismatch, new HandshakeCase("c", Side(1, cluster: "blue"), Side(2, cluster: "Blue")).Expected.Login);
    }

    [Fact]
    public void A_rejection_must_name_the_field_and_both_values_on_both_nodes()
    {
        var c = new HandshakeCase("modes", Side(1), Side(2, HaMode.Standby));
        var expected = c.Expected;

        Assert.Null(HandshakeMatrixSuite.Judge(c, expected,
            Status("rejected", "HA mode differs: local proxy, peer standby"), Status("rejected", "HA mode differs: local standby, peer proxy")));
        Assert.Contains("both values", HandshakeMatrixSuite.Judge(c, expected,
            Status("rejected", "HA mode differs: local proxy, peer standby"), Status("rejected", "HA mode differs")), StringComparison.Ordinal);
        Assert.Contains("should name the field", HandshakeMatrixSuite.Judge(c, expected,
            Status("rejected", "login refused"), Status("rejected", "HA mode differs: local standby, peer proxy")), StringComparison.Ordinal);
        Assert.Contains("came online", HandshakeMatrixSuite.Judge(c, expected, Status("online", null), Status("online", null)), StringComparison.Ordinal);
        Assert.Contains("no rejection", HandshakeMatrixSuite.Judge(c, expected, Status("rejected", "HA mode differs: local proxy, peer standby"), Status("listening", null)), StringComparison.Ordinal);
    }

    [Fact]
    public void A_compatible_pair_must_come_online_on_both_nodes()
    {
        var c = new HandshakeCase("ok", Side(1), Side(2));

        Assert.Null(HandshakeMatrixSuite.Judge(c, c.Expected, Status("online", null), Status("online", null)));
        Assert.Contains("not online", HandshakeMatrixSuite.Judge(c, c.Expected, Status("online", null), Status("connecting", null)), StringComparison.Ordinal);
    }

    [Fact]
    public void An_authentication_failure_must_be_reported_as_one_on_both_nodes()
    {
        var c = new HandshakeCase("keys", Side(1), Side(2, key: HandshakeKey.K2));

        Assert.Null(HandshakeMatrixSuite.Judge(c, c.Expected,
            Status("rejected", "peer's pre-shared key differs (MAC mismatch)"), Status("rejected", "peer refused authentication: AuthenticationFailed")));
        Assert.Contains("authentication failure", HandshakeMatrixSuite.Judge(c, c.Expected,
            Status("rejected", "HA mode differs: local proxy, peer standby"), Status("rejected", "peer refused authentication")), StringComparison.Ordinal);
    }
}

/// <summary>The handshake matrix against real <c>ctlha node</c> processes, as <c>ctlha-conform self</c> runs it.</summary>
[Collection(NodeCollection.Name)]
public sealed class HandshakeMatrixNodeTests
{
    [Fact(Timeout = 180_000)]
    public async Task A_short_self_run_of_the_handshake_matrix_passes_and_counts_its_cases()
    {
        var progress = new List<SuiteProgress>();
        var options = new SuiteRunOptions
        {
            Budget = TimeSpan.FromSeconds(20),
            Seed = 20261124,
            OwnNodes = true,
            Progress = (_, p) => progress.Add(p),
            ReplayCommand = s => $"ctlha-conform self --seed 20261124 --suite {s}",
        };

        var report = await SuiteRunner.RunAsync([new HandshakeMatrixSuite()], options, CancellationToken.None);

        var outcome = Assert.Single(report.Suites);
        Assert.True(outcome.Verdict == SuiteVerdict.Passed,
            string.Join("\n", outcome.Result?.Failures.Select(f => $"{f.Case}: {f.Message}\n  {string.Join("\n  ", f.Trace)}") ?? []));
        Assert.InRange(outcome.Cases, 1, 40);
        Assert.Equal(2L * outcome.Cases, outcome.Operations);
        Assert.NotEmpty(progress);
    }

    [Fact(Timeout = 180_000)]
    public async Task Each_kind_of_rejection_is_seen_on_real_nodes()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(150));
        var dir = Directory.CreateTempSubdirectory("ctlha-hs-test-");
        try
        {
            var keys = new Dictionary<HandshakeKey, string>
            {
                [HandshakeKey.K1] = Path.Combine(dir.FullName, "k1"),
                [HandshakeKey.K2] = Path.Combine(dir.FullName, "k2"),
            };
            await File.WriteAllTextAsync(keys[HandshakeKey.K1], new string('a', 64), cts.Token);
            await File.WriteAllTextAsync(keys[HandshakeKey.K2], new string('b', 64), cts.Token);
            HandshakeCase[] cases =
            [
                new("cluster and mode differ", new(1, HaMode.Proxy, "blue", HandshakeKey.K1), new(2, HaMode.Standby, "Blue", HandshakeKey.K1)),
                new("same node id", new(2, HaMode.Shared, "ctlha", HandshakeKey.K1), new(2, HaMode.Shared, "ctlha", HandshakeKey.K1)),
                new("only A has a key", new(1, HaMode.Proxy, "ctlha", HandshakeKey.K1), new(2, HaMode.Proxy, "ctlha", HandshakeKey.None)),
            ];
            foreach (var c in cases)
            {
                var (trace, error, operations) = await HandshakeMatrixSuite.RunCaseAsync(c, keys, _ => { }, cts.Token);

                Assert.True(error is null, $"{c.Why}: {error}\n{string.Join("\n", trace)}");
                Assert.Equal(2, operations);
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}

namespace CtlHa.Conformance.Suites;

/// <summary>
/// One spec-driven suite that <c>ctlha-conform self</c> (embedded pair) or <c>ctlha-conform pair</c> (a running pair)
/// runs within a time budget. A suite reaches the nodes only over TCP (iSCSI portals, interlink, control adapters).
/// </summary>
public interface IConformanceSuite
{
    /// <summary>Short stable name, e.g. <c>ha-machine</c>; used in the table, JUnit and <c>--suite</c>.</summary>
    string Name { get; }

    string Description { get; }

    /// <summary>What the suite needs from its target: see <see cref="SuiteNeeds"/>.</summary>
    SuiteNeeds Needs { get; }

    /// <summary>
    /// Runs cases until the context's deadline (or the suite's natural end) and reports them. Never throws for a
    /// failing case (that is a <see cref="SuiteFailure"/>); throws only when the suite cannot run at all.
    /// </summary>
    Task<SuiteResult> RunAsync(SuiteContext context, CancellationToken cancellationToken);
}

/// <summary>What a suite needs; <c>pair</c> runs only suites whose needs the given adapters satisfy.</summary>
[Flags]
public enum SuiteNeeds
{
    /// <summary>Starts its own nodes (e.g. the handshake matrix): only <c>self</c> runs it.</summary>
    OwnNodes = 1,

    /// <summary>Needs an <see cref="IPairUnderTest"/> with two iSCSI URLs.</summary>
    Pair = 2,

    /// <summary>Needs promote/demote through the pair's control adapter.</summary>
    RoleControl = 4,

    /// <summary>Needs kill/restart of a node and link cut/restore (only an embedded pair offers these).</summary>
    FaultControl = 8,
}

/// <summary>What a suite gets: seed, deadline, progress and the pair (when it runs against one).</summary>
public sealed record SuiteContext
{
    /// <summary>The run's seed; a suite derives every random choice from it so <c>--seed N</c> replays the run.</summary>
    public required int Seed { get; init; }

    /// <summary>When the suite must stop starting new cases.</summary>
    public required DateTimeOffset Deadline { get; init; }

    /// <summary>The pair under test, or null for <see cref="SuiteNeeds.OwnNodes"/> suites.</summary>
    public IPairUnderTest? Pair { get; init; }

    /// <summary>Called after each case (or every few operations) so the CLI can show progress.</summary>
    public Action<SuiteProgress> Progress { get; init; } = _ => { };

    /// <summary>Free-form log lines (shown with --verbose).</summary>
    public Action<string> Log { get; init; } = _ => { };
}

public readonly record struct SuiteProgress(int Cases, long Operations, int Failures, string? Current);

/// <summary>A failed case: its name, what went wrong, the (shrunk) trace as readable lines and how to replay it.</summary>
public sealed record SuiteFailure(string Case, string Message, IReadOnlyList<string> Trace, string Replay);

public sealed record SuiteResult(string Suite, int Cases, long Operations, IReadOnlyList<SuiteFailure> Failures, TimeSpan Duration)
{
    public bool Passed => Failures.Count == 0;
}

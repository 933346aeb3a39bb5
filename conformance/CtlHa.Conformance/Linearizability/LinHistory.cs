using System.Diagnostics;
using System.Globalization;
using CtlHa.Conformance.Differential;
using CtlHa.Conformance.Suites;
using CtlHa.Model;

namespace CtlHa.Conformance.Linearizability;

/// <summary>
/// One sequential actor of a round: its own iSCSI session (one I_T nexus) on one node. Clients run concurrently with
/// each other; one client never has two commands outstanding, so its operations are ordered by real time.
/// </summary>
/// <param name="Id">client number shown in traces (<c>client3</c>)</param>
/// <param name="Node">the node whose portal the session is logged in to</param>
/// <param name="Host">initiator (host) number shown in traces (<c>init2</c>): clients of one host share an iSCSI name</param>
/// <param name="Nexus">the nexus as the model keys it (UAs, registrations)</param>
public sealed record LinClient(int Id, PairNode Node, int Host, Nexus Nexus)
{
    public override string ToString() => $"{Node}: client{Id} init{Host}";
}

/// <summary>
/// One command of a history: who sent it, what, when it was invoked and answered (ticks of one <see cref="Stopwatch"/>),
/// and what came back. An operation whose answer never came (connection lost, timeout) is <em>pending</em>: it may have
/// taken effect at any time after its invocation, or not at all, and its outcome is not compared.
/// </summary>
public sealed record LinOperation
{
    /// <summary>Position in the history (0-based, order of invocation); the checker's bit index.</summary>
    public required int Id { get; init; }

    public required LinClient Client { get; init; }

    public required byte[] Cdb { get; init; }

    public byte[] DataOut { get; init; } = [];

    public int ExpectedLength { get; init; }

    /// <summary>The command in words, e.g. <c>CAW lba=4 expect=7</c>.</summary>
    public required string Label { get; init; }

    /// <summary>Renders an outcome (observed or the model's) in the workload's words, e.g. <c>MISCOMPARE</c> or <c>value=7</c>.</summary>
    public Func<DiffOutcome, string> Render { get; init; } = o => o.ToString();

    /// <summary>Stopwatch ticks just before the command was handed to the initiator.</summary>
    public required long Invoked { get; init; }

    /// <summary>Stopwatch ticks just after the answer arrived; null while (or if forever) pending.</summary>
    public long? Responded { get; init; }

    /// <summary>The observed answer; null when pending.</summary>
    public DiffOutcome? Outcome { get; init; }

    /// <summary>Answered with a status that means "not executed" (BUSY, TASK SET FULL): it cannot have changed the state.</summary>
    public bool Rejected => Outcome is { Failure: null, Status: 0x08 or 0x28 };

    /// <summary>True when the answer arrived and is a SCSI status (a transport failure leaves the effect unknown).</summary>
    public bool Completed => Responded is not null && Outcome is { Failure: null };

    /// <summary>The real-time bound the checker uses: the response time, or "never" for a pending operation.</summary>
    public long Deadline => Completed ? Responded!.Value : long.MaxValue;

    /// <summary>A trace line: <c>B: client3 init2 CAW lba=4 expect=7 → MISCOMPARE [t=12.1–13.4 ms]</c>.</summary>
    public string Describe(long origin)
    {
        var outcome = Outcome is null ? "(no answer)" : Outcome.Failure is { } f ? $"(lost: {f})" : Render(Outcome);
        var end = Responded is { } r ? Ms(r - origin) : "…";
        return $"#{Id} {Client} {Label} → {outcome} [t={Ms(Invoked - origin)}–{end} ms]";
    }

    internal static string Ms(long ticks) =>
        (ticks * 1000.0 / Stopwatch.Frequency).ToString("0.0", CultureInfo.InvariantCulture);
}

/// <summary>
/// Collects the operations of one round from concurrent clients. <see cref="Invoke"/> stamps the invocation and returns
/// a handle; <see cref="Complete"/> stamps the response. Thread-safe; ids follow invocation order.
/// </summary>
public sealed class HistoryRecorder
{
    private readonly Lock _lock = new();
    private readonly List<LinOperation> _operations = [];

    public HistoryRecorder()
    {
        Origin = Stopwatch.GetTimestamp();
    }

    /// <summary>Ticks at the start of the round: traces show times relative to it.</summary>
    public long Origin { get; }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _operations.Count;
            }
        }
    }

    /// <summary>Records the invocation of <paramref name="operation"/> (its Id and Invoked are assigned here).</summary>
    public int Invoke(LinClient client, byte[] cdb, byte[] dataOut, int expectedLength, string label, Func<DiffOutcome, string> render)
    {
        lock (_lock)
        {
            var id = _operations.Count;
            _operations.Add(new LinOperation
            {
                Id = id,
                Client = client,
                Cdb = cdb,
                DataOut = dataOut,
                ExpectedLength = expectedLength,
                Label = label,
                Render = render,
                Invoked = Stopwatch.GetTimestamp(),
            });
            return id;
        }
    }

    /// <summary>Records the answer of operation <paramref name="id"/>.</summary>
    public void Complete(int id, DiffOutcome outcome)
    {
        var now = Stopwatch.GetTimestamp();
        lock (_lock)
        {
            _operations[id] = _operations[id] with { Responded = now, Outcome = outcome };
        }
    }

    /// <summary>The history so far (operations still running are pending).</summary>
    public IReadOnlyList<LinOperation> Snapshot()
    {
        lock (_lock)
        {
            return [.. _operations];
        }
    }
}

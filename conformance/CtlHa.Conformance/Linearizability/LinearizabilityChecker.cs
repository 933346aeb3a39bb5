using System.Buffers.Binary;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using CtlHa.Conformance.Differential;
using CtlHa.Model;

namespace CtlHa.Conformance.Linearizability;

public enum LinVerdict
{
    /// <summary>Some sequential order of the operations, consistent with real time, gives every observed answer.</summary>
    Linearizable,

    /// <summary>No such order exists: the explanation says where the search got stuck.</summary>
    NotLinearizable,

    /// <summary>The search hit its step limit before deciding.</summary>
    Inconclusive,
}

/// <param name="Order">the witness (a full sequential order) when linearizable, else the longest order the model accepted</param>
/// <param name="Explanation">readable lines: why not (empty when linearizable)</param>
/// <param name="Steps">model executions spent (all checks together)</param>
/// <param name="FailingPrefix">when not linearizable: the operations of the shortest failing time prefix</param>
public sealed record LinCheckResult(
    LinVerdict Verdict,
    IReadOnlyList<LinOperation> Order,
    IReadOnlyList<string> Explanation,
    long Steps,
    IReadOnlyList<LinOperation> FailingPrefix);

/// <summary>
/// Decides whether a concurrent history of SCSI commands is linearizable against the sequential reference model
/// (<see cref="LogicalUnitModel"/>): Wing &amp; Gong's search with Lowe's memoisation. An operation may be placed next only
/// if no unplaced operation answered before it was invoked (real-time order); placing it runs it on a clone of the model,
/// and a completed operation's observed answer must equal the model's (<see cref="DiffOutcome.Compare"/>). States already
/// explored — same set of placed operations, same model state — are not explored again. Bounded by a step limit:
/// past it the verdict is <see cref="LinVerdict.Inconclusive"/>, never a hang.
/// </summary>
/// <remarks>
/// The memo key holds the model state that the allowed commands can change and observe: PR generation, registrations in
/// order, the reservation, the SCSI-2 holder, the pending UAs of every nexus in the history and the contents of every
/// block the history addresses. Commands that change other state (MODE SELECT, UNMAP, …) are refused, so the key stays
/// exact. A non-linearizable history is explained by its shortest non-linearizable time prefix (a prefix of a
/// linearizable history is linearizable, so that prefix alone proves the violation) and by the longest order the model
/// accepted within it, with what each remaining candidate observed and what the model says instead.
/// </remarks>
public sealed class LinearizabilityChecker(long maxSteps = 2_000_000)
{
    /// <summary>The checker's bit set is one 64-bit word.</summary>
    public const int MaxOperations = 64;

    private static readonly HashSet<byte> AllowedOpcodes =
        [0x00, 0x16, 0x17, 0x25, 0x28, 0x2A, 0x5E, 0x5F, 0x88, 0x89, 0x8A];

    public long MaxSteps { get; } = maxSteps;

    public LinCheckResult Check(IReadOnlyList<LinOperation> history, LogicalUnitModel initial)
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentNullException.ThrowIfNull(initial);
        // Answers that mean "not executed" cannot have changed the state: they take no part in the search.
        var ops = history.Where(o => !o.Rejected).OrderBy(o => o.Invoked).ThenBy(o => o.Id).ToArray();
        if (ops.Length > MaxOperations)
        {
            throw new ArgumentException($"{ops.Length} operations: the checker takes at most {MaxOperations}", nameof(history));
        }

        foreach (var op in ops)
        {
            if (op.Cdb.Length == 0 || !AllowedOpcodes.Contains(op.Cdb[0]))
            {
                throw new ArgumentException($"#{op.Id} opcode {(op.Cdb.Length == 0 ? "none" : op.Cdb[0].ToString("X2"))}h changes state the memo key does not hold", nameof(history));
            }
        }

        var full = new Search(ops, [.. ops.Select(o => o.Completed)], initial, MaxSteps);
        var verdict = full.Run();
        long steps = full.Steps;
        if (verdict != LinVerdict.NotLinearizable)
        {
            return new LinCheckResult(verdict, verdict == LinVerdict.Linearizable ? full.Witness : full.Deepest, [], steps, []);
        }

        // Shortest failing time prefix: cut after the k-th answer; later invocations are dropped, operations still
        // running at the cut become pending. Non-linearizability is monotone in k, so a binary search finds the least k.
        var answers = ops.Where(o => o.Completed).Select(o => o.Responded!.Value).Order().ToArray();
        int lo = 1, hi = answers.Length;
        var best = full;
        var bestOps = ops;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            var (search, prefixOps) = Prefix(ops, answers[mid - 1], initial);
            var v = search.Run();
            steps += search.Steps;
            if (v == LinVerdict.NotLinearizable)
            {
                hi = mid;
                best = search;
                bestOps = prefixOps;
            }
            else
            {
                lo = mid + 1;
            }
        }

        var origin = ops.Min(o => o.Invoked);
        var lines = new List<string>
        {
            $"not linearizable: the first {hi} of {answers.Length} answers (up to t={LinOperation.Ms(answers[hi - 1] - origin)} ms) already admit no sequential order",
            best.Deepest.Count == 0
                ? "the model accepts no operation of it as the first one"
                : $"longest order the model accepts ({best.Deepest.Count} operations): {string.Join(", ", best.Deepest.Select(o => "#" + o.Id))}",
            "after it, no operation fits:",
        };
        lines.AddRange(best.DeepestNotes.Select(n => "  " + n));
        return new LinCheckResult(LinVerdict.NotLinearizable, best.Deepest, lines, steps, bestOps);
    }

    private (Search Search, LinOperation[] Ops) Prefix(LinOperation[] ops, long cut, LogicalUnitModel initial)
    {
        var kept = ops.Where(o => o.Invoked <= cut).ToArray();
        return (new Search(kept, [.. kept.Select(o => o.Completed && o.Responded <= cut)], initial, MaxSteps), kept);
    }

    /// <summary>One depth-first search over one history (ops sorted by invocation).</summary>
    private sealed class Search
    {
        private readonly LinOperation[] _ops;
        private readonly bool[] _completed;
        private readonly long[] _deadline;
        private readonly ulong _required;
        private readonly LogicalUnitModel _initial;
        private readonly long _maxSteps;
        private readonly StateKey _key;
        private readonly HashSet<(ulong, string)> _visited = [];
        private readonly List<int> _order = [];
        private int _deepestDepth = -1;

        public Search(LinOperation[] ops, bool[] completed, LogicalUnitModel initial, long maxSteps)
        {
            _ops = ops;
            _completed = completed;
            _initial = initial;
            _maxSteps = maxSteps;
            _deadline = new long[ops.Length];
            for (var i = 0; i < ops.Length; i++)
            {
                _deadline[i] = completed[i] ? ops[i].Responded!.Value : long.MaxValue;
                if (completed[i])
                {
                    _required |= 1UL << i;
                }
            }

            _key = new StateKey(ops);
        }

        public long Steps { get; private set; }

        public IReadOnlyList<LinOperation> Witness { get; private set; } = [];

        public IReadOnlyList<LinOperation> Deepest { get; private set; } = [];

        public IReadOnlyList<string> DeepestNotes { get; private set; } = [];

        public LinVerdict Run()
        {
            try
            {
                return Visit(0, _initial) ? LinVerdict.Linearizable : LinVerdict.NotLinearizable;
            }
            catch (StepLimitException)
            {
                return LinVerdict.Inconclusive;
            }
        }

        private bool Visit(ulong done, LogicalUnitModel model)
        {
            if ((done & _required) == _required)
            {
                Witness = [.. _order.Select(i => _ops[i])];
                return true;
            }

            var depth = BitOperations.PopCount(done);
            var deepest = depth > _deepestDepth;
            if (deepest)
            {
                _deepestDepth = depth;
                Deepest = [.. _order.Select(i => _ops[i])];
            }

            // Real-time order: an operation can go next only if no unplaced operation answered before it was invoked.
            var bound = long.MaxValue;
            for (var i = 0; i < _ops.Length; i++)
            {
                if ((done & (1UL << i)) == 0)
                {
                    bound = Math.Min(bound, _deadline[i]);
                }
            }

            var notes = deepest ? new List<string>() : null;
            for (var i = 0; i < _ops.Length; i++)
            {
                var bit = 1UL << i;
                if ((done & bit) != 0)
                {
                    continue;
                }

                var op = _ops[i];
                if (op.Invoked > bound)
                {
                    break;
                }

                if (++Steps > _maxSteps)
                {
                    throw new StepLimitException();
                }

                var next = model.Clone();
                var result = DiffOutcome.FromModel(next.Execute(op.Client.Nexus, op.Cdb, op.DataOut, (uint)op.ExpectedLength));
                if (_completed[i] && DiffOutcome.Compare(op.Outcome!, result) is { } difference)
                {
                    notes?.Add($"#{op.Id} {op.Client} {op.Label}: observed {op.Render(op.Outcome!)}, the model says {op.Render(result)} ({difference})");
                    continue;
                }

                if (!_visited.Add((done | bit, _key.Of(next))))
                {
                    notes?.Add($"#{op.Id} {op.Client} {op.Label}: fits, but that state was explored already");
                    continue;
                }

                _order.Add(i);
                if (Visit(done | bit, next))
                {
                    return true;
                }

                _order.RemoveAt(_order.Count - 1);
            }

            if (deepest && depth == _deepestDepth)
            {
                var waiting = Enumerable.Range(0, _ops.Length)
                    .Where(i => (done & (1UL << i)) == 0 && _ops[i].Invoked > bound)
                    .Select(i => "#" + _ops[i].Id).ToList();
                if (waiting.Count > 0)
                {
                    notes!.Add($"({string.Join(", ", waiting)} invoked after an unplaced operation had answered: they cannot go first)");
                }

                DeepestNotes = notes!;
            }

            return false;
        }
    }

    private sealed class StepLimitException : Exception;

    /// <summary>The exact part of a model's state that the history's commands can change or observe, as a string.</summary>
    private sealed class StateKey
    {
        private readonly Nexus[] _nexuses;
        private readonly ulong[] _lbas;

        public StateKey(IEnumerable<LinOperation> ops)
        {
            var list = ops.ToList();
            _nexuses = [.. list.Select(o => o.Client.Nexus).Distinct()];
            _lbas = [.. list.SelectMany(o => Lbas(o.Cdb)).Distinct().Order()];
        }

        public string Of(LogicalUnitModel model)
        {
            var sb = new StringBuilder(128);
            sb.Append('g').Append(model.PrGeneration);
            if (model.PersistentReservation is { } r)
            {
                sb.Append(" r").Append((int)r.Type).Append('@').Append(Name(r.Holder));
            }

            foreach (var reg in model.Registrations)
            {
                sb.Append(" k").Append(Name(reg.Nexus)).Append('=').Append(reg.Key.ToString("X"));
            }

            if (model.Scsi2ReservationHolder is { } holder)
            {
                sb.Append(" s").Append(Name(holder));
            }

            sb.Append(" u");
            foreach (var nexus in _nexuses)
            {
                sb.Append((long)model.PendingUnitAttentions(nexus)).Append(',');
            }

            Span<byte> hash = stackalloc byte[32];
            foreach (var lba in _lbas)
            {
                if (lba >= model.BlockCount)
                {
                    continue;
                }

                sb.Append(model.IsMapped(lba) ? " m" : " z");
                SHA256.HashData(model.PeekBlocks(lba, 1), hash);
                sb.Append(Convert.ToHexString(hash[..16]));
            }

            return sb.ToString();
        }

        private string Name(Nexus? nexus)
        {
            if (nexus is null)
            {
                return "*";
            }

            var i = Array.IndexOf(_nexuses, nexus);
            return i >= 0 ? i.ToString(System.Globalization.CultureInfo.InvariantCulture) : nexus.ToString();
        }

        private static IEnumerable<ulong> Lbas(byte[] cdb)
        {
            (ulong Lba, ulong Blocks) range = cdb[0] switch
            {
                0x28 or 0x2A => (BinaryPrimitives.ReadUInt32BigEndian(cdb.AsSpan(2)), BinaryPrimitives.ReadUInt16BigEndian(cdb.AsSpan(7))),
                0x88 or 0x8A => (BinaryPrimitives.ReadUInt64BigEndian(cdb.AsSpan(2)), BinaryPrimitives.ReadUInt32BigEndian(cdb.AsSpan(10))),
                0x89 => (BinaryPrimitives.ReadUInt64BigEndian(cdb.AsSpan(2)), cdb[13]),
                _ => (0, 0),
            };
            if (range.Blocks > 256)
            {
                throw new ArgumentException($"a command of {range.Blocks} blocks: the checker keys at most 256 blocks per command");
            }

            for (ulong i = 0; i < range.Blocks; i++)
            {
                yield return range.Lba + i;
            }
        }
    }
}

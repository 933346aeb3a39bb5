using CtlHa.Conformance.Differential;
using CtlHa.Model;
using CtlHa.Spec;

namespace CtlHa.Conformance.Ha;

/// <summary>
/// The checking side of the HA machine: the pure logical-unit model (shared state: blocks, reservations, mode pages;
/// per-node HA views from the spec) plus the unit-attention bookkeeping that makes the model's answer a SET where the
/// pair is allowed to be non-deterministic. It is advanced with the observed outcome, so it always describes a state
/// the pair can be in.
/// </summary>
/// <remarks>
/// <para>Unit attentions are taken out of the model after every step (read with <c>PendingUnitAttentions</c>, then
/// drained with REQUEST SENSE on the model) and kept here, per I_T nexus, as <i>certain</i> (must be reported before
/// anything else, lowest bit first, <see cref="UaTable"/>) or <i>late</i> (may be reported now or at any UA-reporting
/// command until <see cref="LateWindow"/> operations have passed, then certain).</para>
/// <para>Late: a UA the receiving node raises for the peer's initiators travels over the interlink (ModeSync,
/// PersistentReserveAction, replicated TMF: ctl-ha.md §8.3, §8.4, §8.6 "the TMF response does not wait for the peer"),
/// so the peer may still be applying it when the next command arrives there; likewise the 2A/06 of HA events, which
/// the actual waits for through the status API (status and UA are not set atomically).</para>
/// <para>Dropped: a UA for the far side of a down link is never delivered; CTL (§8.3, the announce at link-up carries
/// no UA) and CtlHa do not raise it after the link returns either.</para>
/// </remarks>
public sealed class HaOracle
{
    /// <summary>Operations after which a late UA must have arrived.</summary>
    public const int LateWindow = 2;

    private static readonly byte[] DrainCdb = [0x03, 0, 0, 0, 252, 0];

    private readonly Dictionary<Nexus, UaCode> _certain = [];
    private readonly Dictionary<Nexus, List<(UaCode Code, int? Deadline)>> _late = [];
    private readonly HashSet<Nexus> _current = [];
    private readonly List<LogicalUnitModel> _alternatives = [];
    private LogicalUnitModel _model;
    private int _op;

    public HaOracle(LunConfig config, HaPairState initial, IEnumerable<Nexus> nexuses)
    {
        _model = new LogicalUnitModel(config with
        {
            Node1View = initial.View(Suites.PairNode.A),
            Node2View = initial.View(Suites.PairNode.B),
        });
        State = initial;
        foreach (var n in nexuses)
        {
            Register(n);
        }
    }

    public HaPairState State { get; private set; }

    public LogicalUnitModel Model => _model;

    /// <summary>How often a late UA was seen late (reported after a command that could have reported it, or not yet).</summary>
    public int LateObserved { get; private set; }

    /// <summary>The first few late observations, for the log.</summary>
    public IReadOnlyList<string> LateNotes => _lateNotes;

    private readonly List<string> _lateNotes = [];

    /// <summary>UAs the model established for the far side of a down link (not expected from the pair).</summary>
    public int Dropped { get; private set; }

    /// <summary>Starts a new operation (late UAs past their window become certain).</summary>
    public void BeginOperation()
    {
        _op++;
        foreach (var (nexus, list) in _late)
        {
            foreach (var entry in list.Where(e => e.Deadline is { } d && d < _op).ToList())
            {
                list.Remove(entry);
                _certain[nexus] = Certain(nexus) | entry.Code;
            }
        }
    }

    /// <summary>A nexus logs in (a fresh one: the model gives it POWER ON).</summary>
    public void Register(Nexus nexus)
    {
        _current.Add(nexus);
        Absorb(nexus.Node, late: false);
    }

    /// <summary>A nexus is gone with its node: nothing is expected of it any more.</summary>
    public void Forget(Nexus nexus)
    {
        _current.Remove(nexus);
        _certain.Remove(nexus);
        _late.Remove(nexus);
    }

    /// <summary>The pair's HA state changed (link, role, kill, restart): the running nodes' views follow the spec.</summary>
    public void Apply(HaPairState next)
    {
        foreach (var model in Candidates)
        {
            foreach (var node in new[] { Suites.PairNode.A, Suites.PairNode.B })
            {
                if (next.Alive(node) && next.View(node) != model.ViewOf((int)node))
                {
                    model.SetHaView((int)node, next.View(node));
                }
            }
        }

        State = next;
        Absorb(receivingNode: null, late: true);
    }

    /// <summary>LOGICAL UNIT RESET through <paramref name="nexus"/> completed.</summary>
    public void LunReset(Nexus nexus)
    {
        foreach (var model in Candidates)
        {
            model.LunReset(nexus);
        }

        Absorb(nexus.Node, late: false);
    }

    /// <summary>
    /// The nexuses of a node that stops or dies are lost. SAM-5 releases a SCSI-2 reservation at I_T nexus loss; the
    /// survivor learns of it only if the stopping node replicated the nexus loss before the link went (a graceful stop
    /// does; a SIGKILL cannot). Both states stay allowed until an answer tells them apart.
    /// </summary>
    public void NexusesLost(IReadOnlyCollection<Nexus> nexuses)
    {
        foreach (var model in Candidates.ToList())
        {
            if (model.Scsi2ReservationHolder is { } holder && nexuses.Contains(holder))
            {
                var released = model.Clone();
                foreach (var nexus in nexuses)
                {
                    released.NexusLoss(nexus);
                }

                _alternatives.Add(released);
            }
        }
    }

    /// <summary>
    /// The interlink went down (cut, stall, or the peer's death): a node drops the SCSI-2 reservation held through
    /// the peer's ports, since it cannot tell a dead peer (whose sessions are gone) from a cut; the holder's own node
    /// keeps it. One model cannot hold both views, so both states stay allowed until an answer tells them apart.
    /// </summary>
    public void LinkLost()
    {
        foreach (var model in Candidates.ToList())
        {
            if (model.Scsi2ReservationHolder is not null)
            {
                var released = model.Clone();
                released.DropScsi2Reservation();
                _alternatives.Add(released);
            }
        }
    }

    /// <summary>The logical-unit states the pair may be in (usually one).</summary>
    private IEnumerable<LogicalUnitModel> Candidates => [_model, .. _alternatives];

    /// <summary>
    /// Checks one command's observed outcome against every outcome the state allows; on a match advances to the
    /// matching state and returns null, else returns the difference against each allowed outcome.
    /// </summary>
    public string? Command(Nexus nexus, DiffStep step, DiffOutcome observed, out string expectedText)
    {
        var cdb = Padded(step.Cdb);
        var info = CommandTable.Lookup(cdb);
        var rule = CdbRules.Find(info.Opcode, info.ServiceAction);
        var passesValidation = info.UnsupportedSense is null && (rule is null || CdbRules.Validate(rule, cdb) is null);
        var certain = Certain(nexus);
        var late = _late.TryGetValue(nexus, out var l) ? l : [];
        var isRequestSense = info.Opcode == 0x03 && passesValidation;
        var reportsUa = info.ReportsUnitAttention && passesValidation;

        var differences = new List<string>();
        var expectations = new List<string>();
        // Subsets of the late UAs that have arrived, smallest first (the first match is taken), on every candidate state.
        foreach (var candidate in Candidates.ToList())
        foreach (var arrived in Subsets(late.Select(e => e.Code).Distinct().ToList()))
        {
            var pending = certain | arrived;
            LogicalUnitModel? next = null;
            DiffOutcome expected;
            UaCode reported = UaCode.None;
            if ((reportsUa || isRequestSense) && pending != UaCode.None)
            {
                reported = UaTable.Next(pending);
                var sense = SenseBuilder.Build(UaTable.Sense(reported), isRequestSense ? (step.Cdb[1] & 0x01) != 0 : candidate.DescriptorSense);
                expected = isRequestSense
                    ? new DiffOutcome(0, null, [.. sense.Take(Math.Min(step.Cdb[4], step.ExpectedLength))])
                    : new DiffOutcome(2, SenseInfo.Decode(sense), []);
            }
            else
            {
                next = candidate.Clone();
                expected = DiffOutcome.FromModel(next.Execute(nexus, step.Cdb, step.DataOut, (uint)step.ExpectedLength));
            }

            var (target, model) = HaExclusions.Normalize(step, nexus, State, observed, expected);
            var difference = DiffOutcome.CompareWithExclusions(step, target, model);
            expectations.Add(arrived == UaCode.None ? expected.ToString() : $"{expected} (late {arrived} arrived)");
            if (difference is not null)
            {
                differences.Add(difference);
                continue;
            }

            // Matched: commit this branch.
            if (late.Any(e => e.Deadline is not null) && (reportsUa || isRequestSense)
                && UaTable.Next(certain | late.Aggregate(UaCode.None, (a, e) => a | e.Code)) != reported)
            {
                LateObserved++;
                if (_lateNotes.Count < 20)
                {
                    _lateNotes.Add($"op {_op} {nexus.Initiator[^6..]}/n{nexus.Node}: {(reported == UaCode.None ? "no UA" : reported.ToString())} while late "
                        + string.Join(",", late.Select(e => $"{e.Code}(op {(e.Deadline is { } d ? (d - LateWindow).ToString(System.Globalization.CultureInfo.InvariantCulture) : "?")})")));
                }
            }

            late.RemoveAll(e => (e.Code & arrived) != 0);
            if (reported != UaCode.None)
            {
                // A UA is one bit per nexus: a late raise of the same UA may have landed before this report (then it
                // is cleared with it) or may land after it (then it is pending again). Either is allowed from now on;
                // an earlier such either-way entry is settled by this report.
                late.RemoveAll(e => e.Code == reported && e.Deadline is null);
                for (var i = 0; i < late.Count; i++)
                {
                    if (late[i].Code == reported)
                    {
                        late[i] = (late[i].Code, null);
                    }
                }

                var after = UaTable.AfterReport(pending, reported);
                _certain[nexus] = after;
                if (after == UaCode.None && UaTable.Rows.First(r => r.Code == reported).Clears == UaClearScope.AllPending)
                {
                    // A late UA not yet arrived may land after this clearing report (then it stays) or may have been
                    // cleared by it: either is fine from now on.
                    for (var i = 0; i < late.Count; i++)
                    {
                        late[i] = (late[i].Code, null);
                    }
                }
            }
            else
            {
                _certain[nexus] = certain;
            }

            if (next is not null)
            {
                // Other candidate states that give the same answer stay possible.
                var others = new List<LogicalUnitModel>();
                foreach (var other in Candidates.Where(c => !ReferenceEquals(c, candidate)).ToList())
                {
                    var otherNext = other.Clone();
                    var otherExpected = DiffOutcome.FromModel(otherNext.Execute(nexus, step.Cdb, step.DataOut, (uint)step.ExpectedLength));
                    var (t2, m2) = HaExclusions.Normalize(step, nexus, State, observed, otherExpected);
                    if (DiffOutcome.CompareWithExclusions(step, t2, m2) is null)
                    {
                        others.Add(otherNext);
                    }
                }

                _model = next;
                _alternatives.Clear();
                _alternatives.AddRange(others);
                Absorb(nexus.Node, late: false);
            }

            expectedText = expected.ToString();
            return null;
        }

        expectedText = string.Join(" | ", expectations);
        return string.Join("; ", differences.Distinct());
    }

    /// <summary>The UAs pending for a nexus as the oracle sees them (certain, then late with their window).</summary>
    public string DescribeUas(Nexus nexus)
    {
        var late = _late.TryGetValue(nexus, out var l) && l.Count > 0
            ? " late " + string.Join(",", l.Select(e => $"{e.Code}{(e.Deadline is null ? "?" : string.Empty)}"))
            : string.Empty;
        return $"{Certain(nexus)}{late}";
    }

    public override string ToString() => $"{State}; model {_model}{(_alternatives.Count > 0 ? $" (or {string.Join(" or ", _alternatives)})" : string.Empty)}";

    private UaCode Certain(Nexus nexus) => _certain.TryGetValue(nexus, out var c) ? c : UaCode.None;

    /// <summary>
    /// Moves every UA the model now holds for a current nexus into the bookkeeping: certain on the node that received
    /// the command (or for every node with <paramref name="late"/> false and no receiving node), late on the other node
    /// with the link up, dropped with it down.
    /// </summary>
    private void Absorb(int? receivingNode, bool late)
    {
        foreach (var nexus in _current)
        {
            var pending = _model.PendingUnitAttentions(nexus);
            if (pending == UaCode.None)
            {
                continue;
            }

            Drain(nexus);
            var sameNode = receivingNode is null ? !late : nexus.Node == receivingNode;
            if (sameNode)
            {
                _certain[nexus] = Certain(nexus) | pending;
            }
            else if (receivingNode is null || State.Linked)
            {
                var list = _late.TryGetValue(nexus, out var existing) ? existing : _late[nexus] = [];
                foreach (var row in UaTable.Rows.Where(r => (pending & r.Code) != 0))
                {
                    list.Add((row.Code, _op + LateWindow));
                }
            }
            else
            {
                Dropped++;
            }
        }
    }

    private void Drain(Nexus nexus)
    {
        foreach (var model in Candidates)
        {
            for (var i = 0; i < 24 && model.PendingUnitAttentions(nexus) != UaCode.None; i++)
            {
                model.Execute(nexus, DrainCdb, default, 252);
            }

            if (model.PendingUnitAttentions(nexus) != UaCode.None)
            {
                throw new InvalidOperationException($"the model keeps UAs for {nexus} after REQUEST SENSE: {model.PendingUnitAttentions(nexus)}");
            }
        }
    }

    private static IEnumerable<UaCode> Subsets(IReadOnlyList<UaCode> codes)
    {
        var all = new List<UaCode>();
        for (var mask = 0; mask < 1 << codes.Count; mask++)
        {
            var set = UaCode.None;
            for (var i = 0; i < codes.Count; i++)
            {
                if ((mask & (1 << i)) != 0)
                {
                    set |= codes[i];
                }
            }

            all.Add(set);
        }

        return all.OrderBy(s => System.Numerics.BitOperations.PopCount((uint)s));
    }

    private static byte[] Padded(byte[] cdb)
    {
        if (cdb.Length >= 16)
        {
            return cdb;
        }

        var padded = new byte[16];
        cdb.CopyTo(padded, 0);
        return padded;
    }
}

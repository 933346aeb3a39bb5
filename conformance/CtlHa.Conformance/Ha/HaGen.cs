using CtlHa.Conformance.Differential;
using CtlHa.Conformance.Suites;
using FsCheck;
using FsCheck.Fluent;
using InitiatorCdb = CtlHa.Initiator.Scsi.Cdb;

namespace CtlHa.Conformance.Ha;

/// <summary>
/// Generators of HA machine operations from the pair state: only triggers the state permits (spec LunRoleSpec: promote
/// and demote, link up/down, plus kill and restart), and SCSI commands from initiators of running nodes (the
/// differential command mix, plus REPORT TARGET PORT GROUPS in both header formats).
/// </summary>
public static class HaGen
{
    /// <summary>Blocks of the pair's LUN (the differential generators' LBA mix assumes this size).</summary>
    public const long LunBlocks = (long)DiffGen.BlockCount;

    public static Gen<HaOp> Next(HaPairState state)
    {
        var live = HaInitiator.All.Where(i => state.Alive(i.Node)).ToArray();
        var choices = new List<(int, Gen<HaOp>)>();
        if (live.Length > 0)
        {
            choices.Add((80, Command(live)));
            if (new HaLunReset(live[0]).Permitted(state))
            {
                choices.Add((2, Gen.Elements(live).Select(i => (HaOp)new HaLunReset(i))));
            }
        }

        HaOp[] control =
        [
            new HaLink(HaLinkAction.Cut), new HaLink(HaLinkAction.Stall), new HaLink(HaLinkAction.Restore),
            new HaKill(Suites.PairNode.A), new HaKill(Suites.PairNode.B),
            new HaKill(Suites.PairNode.A, Graceful: true), new HaKill(Suites.PairNode.B, Graceful: true),
            new HaRestart(Suites.PairNode.A), new HaRestart(Suites.PairNode.B),
            new HaSetRole(Suites.PairNode.A, true), new HaSetRole(Suites.PairNode.A, false),
            new HaSetRole(Suites.PairNode.B, true), new HaSetRole(Suites.PairNode.B, false),
        ];
        foreach (var op in control.Where(o => o.Permitted(state)))
        {
            var weight = op switch
            {
                HaLink { Action: HaLinkAction.Stall } => 1,
                HaLink { Action: HaLinkAction.Restore } => 6,
                HaRestart => 8,
                HaKill => 1,
                _ => 2,
            };
            choices.Add((weight, Gen.Constant(op)));
        }

        return Gen.Frequency(choices.ToArray());
    }

    private static Gen<HaOp> Command(HaInitiator[] live) =>
        from i in Gen.Elements(live)
        from step in Gen.Frequency(
            (12, DiffGen.Step(1)),
            // The commands whose answers depend most on the HA state: ALUA states, locally answered sense.
            (3, from ext in Gen.Elements(false, true)
                select new DiffStep(1, $"REPORT TARGET PORT GROUPS{(ext ? " ext" : string.Empty)}", InitiatorCdb.ReportTargetPortGroups(1024, ext), [], 1024)),
            (2, from desc in Gen.Elements(false, true)
                select new DiffStep(1, $"REQUEST SENSE desc={(desc ? 1 : 0)} alloc=252", InitiatorCdb.RequestSense(252, desc), [], 252)))
        select (HaOp)new HaCommand(i, step with { Initiator = i.Index });
}

using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using static CtlHa.Model.Tests.Fixture;

namespace CtlHa.Model.Tests;

/// <summary>FsCheck properties of the model over generated command sequences.</summary>
public sealed class ModelProperties
{
    private static readonly ulong[] Keys = [0x1, 0x2, 0x3];

    private static LogicalUnitModel Run(IEnumerable<Op> ops, LogicalUnitModel? m = null)
    {
        m ??= Settled();
        foreach (var op in ops)
        {
            op.Apply(m);
        }

        return m;
    }

    /// <summary>SPC-5 5.14.7, 5.14.12: only REGISTER/REGISTER AND IGNORE by the nexus itself, CLEAR, or PREEMPT of its key remove or change it.</summary>
    [Property(MaxTest = 200)]
    public Property A_registrants_key_survives_any_sequence_that_does_not_unregister_or_preempt_it() =>
        Prop.ForAll(OpGen.Sequence(OpGen.Any(All, Keys, allowClearAndPreempt: true, protectedNexus: A)), ops =>
        {
            var m = Settled();
            Register(m, A, 0xAA);
            // CLEAR by anyone, or PREEMPT naming 0xAA, would remove it: the generated keys never include 0xAA,
            // so only CLEAR must be filtered.
            Run(ops.Where(o => o is not PrOutOp { ServiceAction: 3 }), m);
            return m.KeyOf(A) == 0xAA;
        });

    /// <summary>SBC-4 + SPC-5 5.14.1: a WRITE then READ of the same range returns the data unless a reservation forbids one of them.</summary>
    [Property(MaxTest = 200)]
    public Property Write_then_read_returns_the_data_or_a_reservation_conflict() =>
        Prop.ForAll(
            OpGen.Sequence(OpGen.Any(All, Keys)),
            (from w in OpGen.Nexus(All) from r in OpGen.Nexus(All) from l in Gen.Choose(0, 60) select (w, r, l)).ToArbitrary(),
            (ops, pick) =>
            {
                var (writer, reader, lba) = pick;
                var m = Run(ops);
                OpGen.Drain(m, writer);
                OpGen.Drain(m, reader);
                var data = Pattern(2, 0x5A);
                var w = m.Execute(writer, Cdb.Write10((uint)lba, 2), data);
                var r = m.Execute(reader, Cdb.Read10((uint)lba, 2));
                var statusesOk = w.Status is ScsiStatus.Good or ScsiStatus.ReservationConflict
                    && r.Status is ScsiStatus.Good or ScsiStatus.ReservationConflict;
                var dataOk = !(w.Status == ScsiStatus.Good && r.Status == ScsiStatus.Good) || r.DataIn.AsSpan().SequenceEqual(data);
                return (statusesOk && dataOk).Label($"write {w}, read {r}");
            });

    /// <summary>ctl-ha.md §8.3, requirement 47: 2A/01 for every other nexus on both nodes, never the requester.</summary>
    [Property(MaxTest = 200)]
    public Property Mode_select_by_one_nexus_gives_2A_01_to_every_other_nexus_and_not_the_requester() =>
        Prop.ForAll(OpGen.Sequence(OpGen.Any(All, Keys)), OpGen.Nexus(All).ToArbitrary(), (ops, requester) =>
        {
            var m = Run(ops);
            foreach (var n in All)
            {
                OpGen.Drain(m, n);
            }

            var wce = (m.CurrentModePage(ModePages.Caching)[2] & 0x04) != 0;
            var r = SelectPage(m, requester, UnitAttentionTests.CachingWith((byte)(0x10 | (wce ? 0 : 0x04))));
            if (r.Status != ScsiStatus.Good)
            {
                // Only a reservation may stop it; then nobody gets a UA.
                return (r.Status == ScsiStatus.ReservationConflict
                    && All.All(n => m.PendingUnitAttentions(n) == CtlHa.Spec.UaCode.None)).Label(r.ToString());
            }

            var requesterOk = m.Execute(requester, Cdb.TestUnitReady()).DecodedSense is not { Key: 0x06 };
            var othersOk = All.Where(n => n != requester)
                .All(n => m.Execute(n, Cdb.TestUnitReady()).DecodedSense?.Is(0x06, 0x2A, 0x01) == true);
            return (requesterOk && othersOk).Label($"requester ok={requesterOk}, others ok={othersOk}");
        });

    /// <summary>ctl-ha.md §10, requirement 63: a nexus's first command (not INQUIRY/REPORT LUNS/REQUEST SENSE) gets 29/01.</summary>
    [Property(MaxTest = 200)]
    public Property The_first_command_of_each_nexus_gets_power_on() =>
        Prop.ForAll(OpGen.Sequence(OpGen.Any(All, Keys)), Gen.Choose(1, 2).ToArbitrary(), (ops, node) =>
        {
            var m = Run(ops);
            var fresh = new Nexus("iqn.2026-11.test:fresh", 7, node, (ushort)node);
            m.Execute(fresh, Cdb.Inquiry());
            return m.Execute(fresh, Cdb.Read10(0, 1)).DecodedSense?.Is(0x06, 0x29, 0x01) == true;
        });

    /// <summary>The model is deterministic and Clone() is a true copy: the same sequence gives the same answers.</summary>
    [Property(MaxTest = 100)]
    public Property Clone_replays_identically() =>
        Prop.ForAll(OpGen.Sequence(OpGen.Any(All, Keys)), OpGen.Sequence(OpGen.Any(All, Keys)), (prefix, suffix) =>
        {
            var m = Run(prefix);
            var copy = m.Clone();
            return suffix.All(op =>
            {
                var a = op.Apply(m);
                var b = op.Apply(copy);
                return a is null ? b is null : b is not null && a.Status == b.Status && a.Sense.AsSpan().SequenceEqual(b.Sense)
                    && a.DataIn.AsSpan().SequenceEqual(b.DataIn);
            });
        });

    /// <summary>SPC-5 6.16.2: PRgeneration never decreases; CHECK CONDITION always carries decodable sense, other statuses none.</summary>
    [Property(MaxTest = 200)]
    public Property Generation_is_monotonic_and_sense_is_well_formed() =>
        Prop.ForAll(OpGen.Sequence(OpGen.Any(All, Keys)), ops =>
        {
            var m = Settled();
            var gen = m.PrGeneration;
            foreach (var op in ops)
            {
                var r = op.Apply(m);
                if (m.PrGeneration < gen)
                {
                    return false.Label($"generation went back at {op}");
                }

                gen = m.PrGeneration;
                if (r is not null && (r.Status == ScsiStatus.CheckCondition) != (r.Sense.Length > 0))
                {
                    return false.Label($"sense/status mismatch at {op}: {r}");
                }

                _ = r?.DecodedSense;
            }

            return true.Label("ok");
        });

    /// <summary>Any CDB of a supported opcode, with any data-out, gets a well-formed answer and never throws.</summary>
    [Property(MaxTest = 500)]
    public Property Arbitrary_CDBs_get_well_formed_answers()
    {
        var opcodes = CtlHa.Spec.CommandTable.All.Select(c => c.Opcode).Distinct().Append((byte)0xA4).ToArray();
        var gen =
            from nexus in OpGen.Nexus(All)
            from op in Gen.Elements(opcodes)
            from length in Gen.Elements(6, 10, 12, 16)
            from rest in Gen.Choose(0, 255).Select(b => (byte)b).ArrayOf(length - 1)
            from small in Gen.Elements(true, false)
            from data in Gen.Choose(0, 255).Select(b => (byte)b).ArrayOf(small ? 24 : 600)
            select (nexus, cdb: (byte[])[op, .. SmallNumbers(rest)], data);
        return Prop.ForAll(gen.ToArbitrary(), t =>
        {
            var m = Settled();
            var r = m.Execute(t.nexus, t.cdb, t.data);
            var ok = (r.Status == ScsiStatus.CheckCondition) == (r.Sense.Length > 0);
            _ = r.DecodedSense;
            return ok.Label($"{Convert.ToHexString(t.cdb)} -> {r}");
        });
    }

    // Keep LBA and length fields small most of the time so commands reach execution, not only range checks.
    private static byte[] SmallNumbers(byte[] rest)
    {
        var copy = (byte[])rest.Clone();
        for (var i = 1; i < copy.Length - 2; i++)
        {
            copy[i] = (byte)(copy[i] % 3 == 0 ? copy[i] : 0);
        }

        if (copy.Length > 0 && copy[^2] % 2 == 0)
        {
            copy[^2] = (byte)(copy[^2] & 0x07);
        }

        return copy;
    }

    /// <summary>
    /// ctl-ha.md §5.5: with the link up and each node knowing the other's role, RTPG (both formats) and standard
    /// INQUIRY answer the same on both nodes, whatever the roles and mode.
    /// </summary>
    [Property(MaxTest = 100)]
    public Property Rtpg_and_inquiry_are_identical_on_both_nodes_while_the_link_is_up() =>
        Prop.ForAll(
            (from mode in Gen.Elements(CtlHa.Spec.HaMode.Standby, CtlHa.Spec.HaMode.Shared, CtlHa.Spec.HaMode.Proxy)
             from r1 in Gen.Elements(CtlHa.Spec.HaRole.Primary, CtlHa.Spec.HaRole.Secondary)
             from r2 in Gen.Elements(CtlHa.Spec.HaRole.Primary, CtlHa.Spec.HaRole.Secondary)
             from pdf in Gen.Elements(0, 1)
             select (mode, r1, r2, pdf)).ToArbitrary(),
            t =>
            {
                var config = new LunConfig(BlockCount: 64)
                {
                    Node1View = new CtlHa.Spec.LunHaView(1, t.r1, t.r2 == CtlHa.Spec.HaRole.Primary, CtlHa.Spec.LinkState.Online, t.mode),
                    Node2View = new CtlHa.Spec.LunHaView(2, t.r2, t.r1 == CtlHa.Spec.HaRole.Primary, CtlHa.Spec.LinkState.Online, t.mode),
                };
                var m = Settled(config);
                var rtpgSame = m.Execute(A, Cdb.Rtpg(t.pdf)).SameAs(m.Execute(C, Cdb.Rtpg(t.pdf)));
                var inquirySame = m.Execute(A, Cdb.Inquiry()).SameAs(m.Execute(C, Cdb.Inquiry()));
                return (rtpgSame && inquirySame).Label($"rtpg same={rtpgSame}, inquiry same={inquirySame}");
            });

    /// <summary>SPC-5 5.14: at most one holder-type reservation; all-registrants reservations have registrants.</summary>
    [Property(MaxTest = 200)]
    public Property Reservation_state_stays_consistent() =>
        Prop.ForAll(OpGen.Sequence(OpGen.Any(All, Keys)), ops =>
        {
            var m = Run(ops);
            var r = m.PersistentReservation;
            var keysUnique = m.Registrations.Select(x => x.Nexus).Distinct().Count() == m.Registrations.Count;
            var holderOk = r switch
            {
                null => true,
                { IsAllRegistrants: true } => r.Holder is null && m.Registrations.Count > 0,
                _ => r.Holder is not null && m.KeyOf(r.Holder) is not null,
            };
            return keysUnique && holderOk;
        });
}

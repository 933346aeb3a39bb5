using CtlHa.Core;
using CtlHa.Scsi.Reservations;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace CtlHa.Scsi.Tests.Reservations;

/// <summary>Properties over random PERSISTENT RESERVE OUT sequences from three I_T nexuses with a small key space.</summary>
public sealed class PersistentReservationProperties
{
    private static readonly PrNexus[] Nexuses =
    [
        new("iqn.a", 1, 1),
        new("iqn.b", 2, 1),
        new("iqn.a", 1, 2),
    ];

    private static readonly PrType[] Types =
    [
        PrType.WriteExclusive, PrType.ExclusiveAccess, PrType.WriteExclusiveRegistrantsOnly,
        PrType.ExclusiveAccessRegistrantsOnly, PrType.WriteExclusiveAllRegistrants, PrType.ExclusiveAccessAllRegistrants,
    ];

    /// <summary>One step of a trace; prints as a readable line when FsCheck shrinks a counterexample.</summary>
    public sealed record Step(int Who, PrOutRequest Request)
    {
        public override string ToString() => $"{Nexuses[Who]}: {Request}";
    }

    private static Gen<Step> StepGen =>
        from who in Gen.Choose(0, Nexuses.Length - 1)
        from action in Gen.Elements(
            PrOutServiceAction.Register, PrOutServiceAction.RegisterAndIgnoreExistingKey, PrOutServiceAction.Reserve,
            PrOutServiceAction.Release, PrOutServiceAction.Clear, PrOutServiceAction.Preempt, PrOutServiceAction.PreemptAndAbort,
            PrOutServiceAction.Register, PrOutServiceAction.RegisterAndIgnoreExistingKey)
        from type in Gen.Elements(Types)
        from key in Gen.Choose(0, 3)
        from saKey in Gen.Choose(0, 3)
        select new Step(who, new PrOutRequest(action, 0,
            action is PrOutServiceAction.Register or PrOutServiceAction.RegisterAndIgnoreExistingKey or PrOutServiceAction.Clear
                ? PrType.None : type,
            (ulong)key, (ulong)saKey));

    private static Arbitrary<Step[]> Traces => Gen.ArrayOf(StepGen).ToArbitrary();

    [Property(MaxTest = 300)]
    public Property Peer_replaying_replicated_requests_stays_identical()
    {
        return Prop.ForAll(Traces, steps =>
        {
            var primary = new PersistentReservationState();
            var peer = new PersistentReservationState();
            foreach (var s in steps)
            {
                var r = primary.Execute(Nexuses[s.Who], s.Request);
                if (r.Replicate is { } replicated)
                {
                    var replayed = peer.Apply(Nexuses[s.Who], replicated);
                    if (!replayed.UnitAttentions.SequenceEqual(r.UnitAttentions) || !replayed.AbortTasksOf.SequenceEqual(r.AbortTasksOf))
                    {
                        return false;
                    }
                }
                if (!primary.Export().Equivalent(peer.Export()))
                {
                    return false;
                }
            }
            return true;
        });
    }

    [Property(MaxTest = 300)]
    public Property Generation_grows_by_one_exactly_on_successful_register_clear_and_preempt()
    {
        return Prop.ForAll(Traces, steps =>
        {
            var state = new PersistentReservationState();
            foreach (var s in steps)
            {
                uint before = state.Generation;
                bool wasRegistered = state.IsRegistered(Nexuses[s.Who]);
                var r = state.Execute(Nexuses[s.Who], s.Request);
                bool noOpUnregister = s.Request.Action is PrOutServiceAction.Register or PrOutServiceAction.RegisterAndIgnoreExistingKey
                    && !wasRegistered && s.Request.ServiceActionReservationKey == 0;
                bool counts = r.Outcome.Status == ScsiStatus.Good && !noOpUnregister
                    && s.Request.Action is not (PrOutServiceAction.Reserve or PrOutServiceAction.Release);
                if (state.Generation != before + (counts ? 1u : 0u))
                {
                    return false;
                }
            }
            return true;
        });
    }

    [Property(MaxTest = 300)]
    public Property A_registrants_key_survives_every_step_that_does_not_unregister_preempt_or_clear_it()
    {
        return Prop.ForAll(Traces, steps =>
        {
            var state = new PersistentReservationState();
            foreach (var s in steps)
            {
                var before = state.Export().Registrations.ToDictionary(r => r.Nexus, r => r.Key);
                var result = state.Execute(Nexuses[s.Who], s.Request);
                var after = state.Export().Registrations.ToDictionary(r => r.Nexus, r => r.Key);
                bool good = result.Outcome.Status == ScsiStatus.Good;
                foreach (var (nexus, key) in before)
                {
                    bool touchesIt = good && (
                        (nexus == Nexuses[s.Who] && s.Request.Action is PrOutServiceAction.Register or PrOutServiceAction.RegisterAndIgnoreExistingKey)
                        || s.Request.Action == PrOutServiceAction.Clear
                        || (s.Request.Action is PrOutServiceAction.Preempt or PrOutServiceAction.PreemptAndAbort
                            && (s.Request.ServiceActionReservationKey == key || s.Request.ServiceActionReservationKey == 0)));
                    if (!touchesIt && (!after.TryGetValue(nexus, out ulong k) || k != key))
                    {
                        return false;
                    }
                }
            }
            return true;
        });
    }

    [Property(MaxTest = 300)]
    public Property State_invariants_hold_after_every_step()
    {
        return Prop.ForAll(Traces, steps =>
        {
            var state = new PersistentReservationState();
            foreach (var s in steps)
            {
                var result = state.Execute(Nexuses[s.Who], s.Request);
                var snap = state.Export();
                // Keys are never zero, nexuses are unique.
                if (snap.Registrations.Any(r => r.Key == 0) || snap.Registrations.Select(r => r.Nexus).Distinct().Count() != snap.Registrations.Count)
                {
                    return false;
                }
                // A reservation always has a registered holder (SPC-5 §5.14.11.2.3: unregistering drops it).
                if (snap.Reserved)
                {
                    bool ar = PrAsc.IsAllRegistrants(snap.Type);
                    if (ar ? snap.Registrations.Count == 0 : snap.Holder is not { } h || !snap.Registrations.Any(r => r.Nexus == h))
                    {
                        return false;
                    }
                }
                // Failed commands change nothing and replicate nothing.
                if (result.Outcome.Status != ScsiStatus.Good && result.Replicate is not null)
                {
                    return false;
                }
                // An unregistered nexus can never change the reservation (SPC-5 §5.14.7).
            }
            return true;
        });
    }

    [Property(MaxTest = 200)]
    public Property Failed_commands_leave_the_state_untouched()
    {
        return Prop.ForAll(Traces, steps =>
        {
            var state = new PersistentReservationState();
            foreach (var s in steps)
            {
                var before = state.Export();
                var result = state.Execute(Nexuses[s.Who], s.Request);
                if (result.Outcome.Status != ScsiStatus.Good && !before.Equivalent(state.Export()))
                {
                    return false;
                }
            }
            return true;
        });
    }
}

using CtlHa.Core;

namespace CtlHa.Scsi.Reservations;

/// <summary>One registration: an I_T nexus and its reservation key (SPC-5 §5.14.7).</summary>
public readonly record struct PrRegistration(PrNexus Nexus, ulong Key);

/// <summary>
/// The whole persistent-reservation state of one logical unit as a plain value, for HA sync and tests.
/// Unlike CTL (ctl-ha.md §12.2 item 3), the reservation flag travels with the holder and type.
/// </summary>
/// <param name="Holder">The holder for non-all-registrants types; null when not reserved or for all-registrants types.</param>
public sealed record PrSnapshot(
    uint Generation,
    IReadOnlyList<PrRegistration> Registrations,
    bool Reserved,
    PrType Type,
    PrNexus? Holder)
{
    public static PrSnapshot Empty { get; } = new(0, [], false, PrType.None, null);

    public bool Equivalent(PrSnapshot other) =>
        Generation == other.Generation && Reserved == other.Reserved && Type == other.Type
        && Holder == other.Holder && Registrations.SequenceEqual(other.Registrations);
}

/// <summary>What a PERSISTENT RESERVE OUT did.</summary>
/// <param name="Outcome">Status to return to the initiator.</param>
/// <param name="UnitAttentions">UAs the engine must establish (for local nexuses; a peer filters to its own).</param>
/// <param name="AbortTasksOf">PREEMPT AND ABORT: I_T nexuses whose tasks on this LU must be aborted (SPC-5 §5.14.11.4.5).</param>
/// <param name="Replicate">The validated request to send to the HA peer; null when nothing was done.</param>
public sealed record PrOutResult(
    ScsiOutcome Outcome,
    IReadOnlyList<PrUnitAttention> UnitAttentions,
    IReadOnlyList<PrNexus> AbortTasksOf,
    PrOutRequest? Replicate)
{
    public static PrOutResult Conflict { get; } = new(new ScsiOutcome(ScsiStatus.ReservationConflict), [], [], null);

    public static PrOutResult Fail(Sense sense) => new(ScsiOutcome.Check(sense), [], [], null);
}

/// <summary>
/// Persistent reservations of one logical unit, per SPC-5 §5.14 and §6.17 (not CTL's bugs: PREEMPT AND ABORT
/// reports the nexuses to abort, the peer replays through the same code as the executing node, and the
/// reserved flag is part of the snapshot). Thread-safe: every member takes one private lock.
/// </summary>
public sealed class PersistentReservationState
{
    private readonly Lock _lock = new();
    private readonly List<PrRegistration> _registrations = [];
    private uint _generation;
    private bool _reserved;
    private PrType _type;
    private PrNexus? _holder;

    /// <summary>PRGENERATION (SPC-5 §6.16.2).</summary>
    public uint Generation
    {
        get
        {
            lock (_lock)
            {
                return _generation;
            }
        }
    }

    /// <summary>True when at least one I_T nexus is registered (SCSI-2 RESERVE then conflicts, SPC-5 §5.14.3).</summary>
    public bool HasRegistrations
    {
        get
        {
            lock (_lock)
            {
                return _registrations.Count > 0;
            }
        }
    }

    public bool IsRegistered(PrNexus nexus)
    {
        lock (_lock)
        {
            return IndexOf(nexus) >= 0;
        }
    }

    /// <summary>SPC-5 §5.14.10: for all-registrants types every registrant is a holder.</summary>
    public bool IsHolder(PrNexus nexus)
    {
        lock (_lock)
        {
            return IsHolderUnlocked(nexus);
        }
    }

    /// <summary>
    /// True when the SCSI-2 RESERVE/RELEASE from <paramref name="nexus"/> must complete GOOD without effect
    /// (SPC-5 §5.14.3 with CRH = 1): the nexus is the holder, or it is registered under a registrants-only or
    /// all-registrants reservation.
    /// </summary>
    public bool CompatibleReservationHandlingApplies(PrNexus nexus)
    {
        lock (_lock)
        {
            if (!_reserved)
            {
                return false;
            }
            return IsHolderUnlocked(nexus)
                || ((PrAsc.IsRegistrantsOnly(_type) || PrAsc.IsAllRegistrants(_type)) && IndexOf(nexus) >= 0);
        }
    }

    /// <summary>
    /// Whether a command of <paramref name="kind"/> from <paramref name="nexus"/> conflicts with the persistent
    /// reservation (SPC-5 §5.14.3 Table 69, SBC-4 Table 13). Returns true for RESERVATION CONFLICT.
    /// </summary>
    public bool CheckAccess(PrNexus nexus, AccessKind kind)
    {
        lock (_lock)
        {
            if (!_reserved || kind == AccessKind.Unrestricted)
            {
                return false;
            }
            bool registered = IndexOf(nexus) >= 0;
            return _type switch
            {
                // Only the holder may write; reads are open to everyone.
                PrType.WriteExclusive => kind == AccessKind.Write && _holder != nexus,
                PrType.ExclusiveAccess => _holder != nexus,
                // Registrants-only and all-registrants: every registrant has full access.
                PrType.WriteExclusiveRegistrantsOnly or PrType.WriteExclusiveAllRegistrants =>
                    kind == AccessKind.Write && !registered,
                PrType.ExclusiveAccessRegistrantsOnly or PrType.ExclusiveAccessAllRegistrants => !registered,
                _ => false,
            };
        }
    }

    /// <summary>Validates and performs a PERSISTENT RESERVE OUT from <paramref name="requester"/> (SPC-5 §5.14.7–§5.14.11).</summary>
    public PrOutResult Execute(PrNexus requester, PrOutRequest request)
    {
        lock (_lock)
        {
            if (Validate(requester, request) is { } failure)
            {
                return failure;
            }
            return ApplyUnlocked(requester, request);
        }
    }

    /// <summary>
    /// Replays a request the HA peer already validated against an identical state. No checks are made:
    /// both nodes run the same deterministic effect code, so they stay identical.
    /// </summary>
    public PrOutResult Apply(PrNexus requester, PrOutRequest request)
    {
        lock (_lock)
        {
            return ApplyUnlocked(requester, request);
        }
    }

    /// <summary>The whole state as a value.</summary>
    public PrSnapshot Export()
    {
        lock (_lock)
        {
            return new PrSnapshot(_generation, [.. _registrations], _reserved, _reserved ? _type : PrType.None,
                _reserved && !PrAsc.IsAllRegistrants(_type) ? _holder : null);
        }
    }

    /// <summary>Replaces the whole state (HA: the secondary takes the primary's state, ctl-ha.md §15 item 44).</summary>
    public void Import(PrSnapshot snapshot)
    {
        lock (_lock)
        {
            _registrations.Clear();
            _registrations.AddRange(snapshot.Registrations);
            _generation = snapshot.Generation;
            _reserved = snapshot.Reserved;
            _type = snapshot.Reserved ? snapshot.Type : PrType.None;
            _holder = snapshot.Reserved && !PrAsc.IsAllRegistrants(snapshot.Type) ? snapshot.Holder : null;
        }
    }

    /// <summary>
    /// PERSISTENT RESERVE IN data (SPC-5 §6.16), already clipped to the allocation length.
    /// Returns null when the service action is not supported (caller answers 05/24/00, CDB byte 1).
    /// </summary>
    public byte[]? BuildPrIn(PrInServiceAction action, int allocationLength)
    {
        lock (_lock)
        {
            byte[]? full = action switch
            {
                PrInServiceAction.ReadKeys => PrInData.ReadKeys(_generation, _registrations),
                PrInServiceAction.ReadReservation => PrInData.ReadReservation(_generation, _reserved, _type, ReservationKeyUnlocked()),
                PrInServiceAction.ReportCapabilities => PrInData.ReportCapabilities(),
                PrInServiceAction.ReadFullStatus => PrInData.ReadFullStatus(_generation, _registrations, n => IsHolderUnlocked(n), _type),
                _ => null,
            };
            if (full is null)
            {
                return null;
            }
            return full.Length <= allocationLength ? full : full[..allocationLength];
        }
    }

    private ulong ReservationKeyUnlocked()
    {
        // SPC-5 §6.16.3: for all-registrants types the RESERVATION KEY field is zero.
        if (!_reserved || PrAsc.IsAllRegistrants(_type) || _holder is not { } holder)
        {
            return 0;
        }
        int i = IndexOf(holder);
        return i >= 0 ? _registrations[i].Key : 0;
    }

    private int IndexOf(PrNexus nexus)
    {
        for (int i = 0; i < _registrations.Count; i++)
        {
            if (_registrations[i].Nexus == nexus)
            {
                return i;
            }
        }
        return -1;
    }

    private bool IsHolderUnlocked(PrNexus nexus) =>
        _reserved && (PrAsc.IsAllRegistrants(_type) ? IndexOf(nexus) >= 0 : _holder == nexus);

    /// <summary>The checks of SPC-5 §5.14.7 Table 70 and §5.14.10/§5.14.11; null when the request may proceed.</summary>
    private PrOutResult? Validate(PrNexus requester, PrOutRequest request)
    {
        int index = IndexOf(requester);
        bool registered = index >= 0;
        ulong registeredKey = registered ? _registrations[index].Key : 0;
        switch (request.Action)
        {
            case PrOutServiceAction.Register:
                // §5.14.7 Table 70: an unregistered nexus must send RESERVATION KEY zero; a registered one its key.
                return (registered ? request.ReservationKey != registeredKey : request.ReservationKey != 0)
                    ? PrOutResult.Conflict : null;
            case PrOutServiceAction.RegisterAndIgnoreExistingKey:
                return null;
            case PrOutServiceAction.Reserve:
                if (!registered || request.ReservationKey != registeredKey)
                {
                    return PrOutResult.Conflict;
                }
                if (_reserved)
                {
                    // §5.14.10: another holder, or a different type from the same holder → conflict;
                    // the same type from the holder is a no-op GOOD (handled in Apply).
                    if (!IsHolderUnlocked(requester) || _type != request.Type)
                    {
                        return PrOutResult.Conflict;
                    }
                }
                return null;
            case PrOutServiceAction.Release:
                if (!registered || request.ReservationKey != registeredKey)
                {
                    return PrOutResult.Conflict;
                }
                if (_reserved && IsHolderUnlocked(requester) && _type != request.Type)
                {
                    // §5.14.11.2.2: holder releasing with a mismatched type.
                    return PrOutResult.Fail(PrAsc.InvalidRelease);
                }
                return null;
            case PrOutServiceAction.Clear:
                return !registered || request.ReservationKey != registeredKey ? PrOutResult.Conflict : null;
            case PrOutServiceAction.Preempt:
            case PrOutServiceAction.PreemptAndAbort:
            {
                if (!registered || request.ReservationKey != registeredKey)
                {
                    return PrOutResult.Conflict;
                }
                ulong sa = request.ServiceActionReservationKey;
                // §5.14.11.4: a reservation is preempted (and a new one created) unless there is none or it is
                // all-registrants and the key is not zero; only then SCOPE and TYPE matter.
                if (_reserved && !(PrAsc.IsAllRegistrants(_type) && sa != 0))
                {
                    if (request.Scope != 0)
                    {
                        return PrOutResult.Fail(PrAsc.InvalidFieldInCdb(2, 7));
                    }
                    if (!PrAsc.IsValidType((byte)request.Type))
                    {
                        return PrOutResult.Fail(PrAsc.InvalidFieldInCdb(2, 3));
                    }
                }
                bool preemptsHolder = _reserved && !PrAsc.IsAllRegistrants(_type) && sa == ReservationKeyUnlocked();
                bool allRegistrantsZero = _reserved && PrAsc.IsAllRegistrants(_type) && sa == 0;
                if (preemptsHolder || allRegistrantsZero)
                {
                    return null;
                }
                // §5.14.11.4.3: removing registrations only. A zero key is an invalid field;
                // a key nobody holds is a conflict.
                if (sa == 0)
                {
                    return PrOutResult.Fail(PrAsc.InvalidFieldInParameterList(8));
                }
                foreach (var r in _registrations)
                {
                    if (r.Key == sa)
                    {
                        return null;
                    }
                }
                return PrOutResult.Conflict;
            }
            default:
                return PrOutResult.Fail(PrAsc.InvalidFieldInCdb(1, 4));
        }
    }

    private PrOutResult ApplyUnlocked(PrNexus requester, PrOutRequest request)
    {
        var uas = new List<PrUnitAttention>();
        var aborts = new List<PrNexus>();
        switch (request.Action)
        {
            case PrOutServiceAction.Register:
            case PrOutServiceAction.RegisterAndIgnoreExistingKey:
                // An unregistered nexus "unregistering" changes nothing and does not count (as CTL and the model).
                if (request.ServiceActionReservationKey != 0 || IndexOf(requester) >= 0)
                {
                    ApplyRegister(requester, request.ServiceActionReservationKey, uas);
                    _generation++;
                }
                break;
            case PrOutServiceAction.Reserve:
                if (!_reserved)
                {
                    _reserved = true;
                    _type = request.Type;
                    _holder = PrAsc.IsAllRegistrants(request.Type) ? null : requester;
                }
                break;
            case PrOutServiceAction.Release:
                if (_reserved && IsHolderUnlocked(requester))
                {
                    var oldType = _type;
                    ClearReservation();
                    // §5.14.11.2.2: releasing a registrants-only or all-registrants reservation notifies the
                    // other registrants (NUAR = 0); WE and EA releases are silent.
                    if (oldType is not (PrType.WriteExclusive or PrType.ExclusiveAccess))
                    {
                        foreach (var r in _registrations)
                        {
                            if (r.Nexus != requester)
                            {
                                uas.Add(new PrUnitAttention(r.Nexus, PrAsc.ParametersChanged, PrAsc.ReservationsReleasedQ));
                            }
                        }
                    }
                }
                break;
            case PrOutServiceAction.Clear:
                // §5.14.11.6: every other registrant is told. SPC-5 names RESERVATIONS PREEMPTED (2A/03) there;
                // CtlHa sends REGISTRATIONS PREEMPTED (2A/05) as CTL does and ctl-ha.md §15 requirement 50 and the
                // CtlHa model specify, since the registration is what they lose.
                foreach (var r in _registrations)
                {
                    if (r.Nexus != requester)
                    {
                        uas.Add(new PrUnitAttention(r.Nexus, PrAsc.ParametersChanged, PrAsc.RegistrationsPreemptedQ));
                    }
                }
                _registrations.Clear();
                ClearReservation();
                _generation++;
                break;
            case PrOutServiceAction.Preempt:
            case PrOutServiceAction.PreemptAndAbort:
                ApplyPreempt(requester, request, uas, aborts);
                _generation++;
                break;
            default:
                return PrOutResult.Fail(PrAsc.InvalidFieldInCdb(1, 4));
        }
        return new PrOutResult(ScsiOutcome.Good, uas, aborts, request);
    }

    private void ApplyRegister(PrNexus requester, ulong newKey, List<PrUnitAttention> uas)
    {
        int index = IndexOf(requester);
        if (index < 0)
        {
            if (newKey != 0)
            {
                _registrations.Add(new PrRegistration(requester, newKey));
            }
            return;
        }
        if (newKey != 0)
        {
            _registrations[index] = new PrRegistration(requester, newKey);
            return;
        }
        Unregister(index, uas);
    }

    /// <summary>
    /// Removes registration <paramref name="index"/> and the reservation it held (SPC-5 §5.14.11.2.3):
    /// a non-all-registrants holder loses the reservation; registrants-only types notify the remaining
    /// registrants with RESERVATIONS RELEASED; an all-registrants reservation ends with its last registrant.
    /// </summary>
    private void Unregister(int index, List<PrUnitAttention> uas)
    {
        var nexus = _registrations[index].Nexus;
        bool wasHolder = IsHolderUnlocked(nexus);
        var oldType = _type;
        _registrations.RemoveAt(index);
        if (!wasHolder)
        {
            return;
        }
        if (PrAsc.IsAllRegistrants(oldType))
        {
            if (_registrations.Count == 0)
            {
                ClearReservation();
            }
            return;
        }
        ClearReservation();
        if (PrAsc.IsRegistrantsOnly(oldType))
        {
            foreach (var r in _registrations)
            {
                uas.Add(new PrUnitAttention(r.Nexus, PrAsc.ParametersChanged, PrAsc.ReservationsReleasedQ));
            }
        }
    }

    /// <summary>SPC-5 §5.14.11.4 (PREEMPT) and §5.14.11.5 (PREEMPT AND ABORT).</summary>
    private void ApplyPreempt(PrNexus requester, PrOutRequest request, List<PrUnitAttention> uas, List<PrNexus> aborts)
    {
        ulong sa = request.ServiceActionReservationKey;
        bool abort = request.Action == PrOutServiceAction.PreemptAndAbort;

        if (_reserved && PrAsc.IsAllRegistrants(_type) && sa == 0)
        {
            // §5.14.11.4.4: remove every other registration; the requester becomes the holder of a new
            // reservation with the requested type.
            RemoveWhere(r => r.Nexus != requester, uas, aborts, abort);
            _reserved = true;
            _type = request.Type;
            _holder = PrAsc.IsAllRegistrants(request.Type) ? null : requester;
            return;
        }

        if (_reserved && !PrAsc.IsAllRegistrants(_type) && sa == ReservationKeyUnlocked())
        {
            // §5.14.11.4.3: preempt the holder. Registrations with that key go (except the requester's),
            // the requester holds a reservation of the requested type, and if the type changed the
            // registrants that stay are told RESERVATIONS RELEASED.
            var oldType = _type;
            RemoveWhere(r => r.Key == sa && r.Nexus != requester, uas, aborts, abort);
            _reserved = true;
            _type = request.Type;
            _holder = PrAsc.IsAllRegistrants(request.Type) ? null : requester;
            if (oldType != request.Type)
            {
                foreach (var r in _registrations)
                {
                    if (r.Nexus != requester)
                    {
                        uas.Add(new PrUnitAttention(r.Nexus, PrAsc.ParametersChanged, PrAsc.ReservationsReleasedQ));
                    }
                }
            }
            return;
        }

        // No reservation, an all-registrants reservation with a non-zero key, or a key that is not the
        // holder's: only registrations are removed (the requester's own too if it has that key). The
        // removal path keeps the all-registrants and holder rules of Unregister.
        for (int i = _registrations.Count - 1; i >= 0; i--)
        {
            var r = _registrations[i];
            if (r.Key != sa)
            {
                continue;
            }
            if (r.Nexus != requester)
            {
                uas.Add(new PrUnitAttention(r.Nexus, PrAsc.ParametersChanged, PrAsc.RegistrationsPreemptedQ));
                if (abort)
                {
                    aborts.Add(r.Nexus);
                }
            }
            Unregister(i, uas);
        }
    }

    private void RemoveWhere(Func<PrRegistration, bool> predicate, List<PrUnitAttention> uas, List<PrNexus> aborts, bool abort)
    {
        for (int i = _registrations.Count - 1; i >= 0; i--)
        {
            var r = _registrations[i];
            if (!predicate(r))
            {
                continue;
            }
            _registrations.RemoveAt(i);
            uas.Add(new PrUnitAttention(r.Nexus, PrAsc.ParametersChanged, PrAsc.RegistrationsPreemptedQ));
            if (abort)
            {
                aborts.Add(r.Nexus);
            }
        }
    }

    private void ClearReservation()
    {
        _reserved = false;
        _type = PrType.None;
        _holder = null;
    }
}

using CtlHa.Spec;

namespace CtlHa.Model;

/// <summary>Persistent reservation types (SPC-5 6.16.2 table "Persistent reservation type codes").</summary>
public enum PrType : byte
{
    WriteExclusive = 0x1,
    ExclusiveAccess = 0x3,
    WriteExclusiveRegistrantsOnly = 0x5,
    ExclusiveAccessRegistrantsOnly = 0x6,
    WriteExclusiveAllRegistrants = 0x7,
    ExclusiveAccessAllRegistrants = 0x8,
}

/// <summary>One registration: the I_T nexus and its reservation key (ALL_TG_PT is rejected, so one nexus each).</summary>
public sealed record Registration(Nexus Nexus, ulong Key);

/// <summary>The persistent reservation: its type and holder (null holder = all registrants, types 7h/8h).</summary>
public sealed record PrReservation(PrType Type, Nexus? Holder)
{
    public bool IsAllRegistrants => Type is PrType.WriteExclusiveAllRegistrants or PrType.ExclusiveAccessAllRegistrants;
}

/// <summary>SCSI-2 RESERVE/RELEASE and persistent reservations (SPC-5 5.14, 6.16, 6.17; ctl-ha.md §8.4, §8.5).</summary>
public sealed partial class LogicalUnitModel
{
    // Nexuses whose registration the current PREEMPT removed (null outside PREEMPT).
    private List<Nexus>? _preempted;

    /// <summary>Registrations in the order they were first made (READ KEYS and READ FULL STATUS list them so).</summary>
    public IReadOnlyList<Registration> Registrations => _registrations;

    public uint PrGeneration => _prGeneration;

    public PrReservation? PersistentReservation => _prReservation;

    public Nexus? Scsi2ReservationHolder => _scsi2Holder;

    /// <summary>
    /// The SCSI-2 reservation goes without an I_T nexus event of its own — as on an HA node that loses its interlink
    /// and so the peer's sessions (SAM-5 §6.3.4 applied to sessions it can no longer see). No unit attention.
    /// </summary>
    public void DropScsi2Reservation() => _scsi2Holder = null;

    /// <summary>The nexus's reservation key, or null when it is not registered.</summary>
    public ulong? KeyOf(Nexus nexus) => _registrations.Find(r => r.Nexus == nexus)?.Key;

    private bool IsHolder(Nexus nexus) =>
        _prReservation is { } r && (r.IsAllRegistrants ? KeyOf(nexus) is not null : r.Holder == nexus);

    /// <summary>
    /// SPC-5 5.14.1 / SBC-4 4.17 tables, in CTL's form (<c>ctl_scsiio_lun_check</c>): a SCSI-2 reservation of
    /// another nexus blocks everything not AllowedUnderScsi2; a persistent reservation blocks everything not
    /// AllowedUnderPr, except the read class under the Write Exclusive types, for non-registrants, and, under the
    /// holder types (1h, 3h), for registrants that are not the holder.
    /// </summary>
    private bool ReservationConflict(Nexus nexus, ReservationAccess access)
    {
        if (_scsi2Holder is { } holder && holder != nexus && (access & ReservationAccess.AllowedUnderScsi2) == 0)
        {
            return true;
        }

        if (_prReservation is not { } pr || (access & ReservationAccess.AllowedUnderPr) != 0)
        {
            return false;
        }

        var writeExclusive = pr.Type is PrType.WriteExclusive or PrType.WriteExclusiveRegistrantsOnly or PrType.WriteExclusiveAllRegistrants;
        if (writeExclusive && (access & ReservationAccess.AllowedUnderWriteExclusive) != 0)
        {
            return false;
        }

        var registered = KeyOf(nexus) is not null;
        var holderType = pr.Type is PrType.WriteExclusive or PrType.ExclusiveAccess;
        return !registered || (holderType && pr.Holder != nexus);
    }

    /// <summary>
    /// RESERVE(6)/(10), SPC-2 7.21: conflicts with another nexus's reservation. SPC-5 5.14.3 (CRH = 1): while a
    /// persistent reservation exists, RESERVE from its holder (or a registrant of a registrants-only/all-registrants
    /// type; the gate refused everyone else) is a no-op success; while persistent registrations exist without a
    /// reservation, RESERVE is a RESERVATION CONFLICT. CTL <c>ctl_scsi_reserve</c> grants the SCSI-2 reservation
    /// then; the model follows SPC, as the engine does.
    /// </summary>
    private ModelResult Scsi2Reserve(Nexus nexus)
    {
        if (_scsi2Holder is { } holder && holder != nexus)
        {
            return new ModelResult(ScsiStatus.ReservationConflict, [], []);
        }

        if (_prReservation is not null)
        {
            return ModelResult.Good();
        }

        if (_registrations.Count > 0)
        {
            return new ModelResult(ScsiStatus.ReservationConflict, [], []);
        }

        _scsi2Holder = nexus;
        return ModelResult.Good();
    }

    /// <summary>
    /// RELEASE(6)/(10), SPC-2 7.17: the holder always releases its reservation; anyone else gets GOOD without effect,
    /// except that persistent registrations without a persistent reservation make it a RESERVATION CONFLICT
    /// (SPC-5 5.14.3, CRH = 1, as for RESERVE; CTL answers GOOD).
    /// </summary>
    private ModelResult Scsi2Release(Nexus nexus)
    {
        if (_scsi2Holder == nexus)
        {
            _scsi2Holder = null;
            return ModelResult.Good();
        }

        if (_prReservation is null && _registrations.Count > 0)
        {
            return new ModelResult(ScsiStatus.ReservationConflict, [], []);
        }

        return ModelResult.Good();
    }

    // ---- PERSISTENT RESERVE IN ------------------------------------------------------------------------

    /// <summary>PERSISTENT RESERVE IN, SPC-5 6.16. CDB [1] service action, [7..8] ALLOCATION LENGTH.</summary>
    private ModelResult PersistentReserveIn(int serviceAction, ReadOnlySpan<byte> cdb)
    {
        var alloc = (long)Be(cdb, 7, 2);
        var data = serviceAction switch
        {
            0x00 => ReadKeys(),
            0x01 => ReadReservation(),
            0x02 => ReportCapabilities(),
            _ => ReadFullStatus(),
        };
        return DataIn(data, alloc);
    }

    // SPC-5 6.16.2: [0..3] PRGENERATION [4..7] ADDITIONAL LENGTH, then one 8-byte key per registered nexus.
    private byte[] ReadKeys()
    {
        var data = new byte[8 + (8 * _registrations.Count)];
        WriteBe32(data, 0, _prGeneration);
        WriteBe32(data, 4, (ulong)(8 * _registrations.Count));
        for (var i = 0; i < _registrations.Count; i++)
        {
            WriteBe64(data, 8 + (8 * i), _registrations[i].Key);
        }

        return data;
    }

    // SPC-5 6.16.3: header, then if reserved: [8..15] RESERVATION KEY (0 for all-registrants types),
    // [21] SCOPE (0 = LU) | TYPE.
    private byte[] ReadReservation()
    {
        if (_prReservation is not { } r)
        {
            var empty = new byte[8];
            WriteBe32(empty, 0, _prGeneration);
            return empty;
        }

        var data = new byte[24];
        WriteBe32(data, 0, _prGeneration);
        WriteBe32(data, 4, 16);
        WriteBe64(data, 8, r.IsAllRegistrants ? 0 : KeyOf(r.Holder!) ?? 0);
        data[21] = (byte)r.Type;
        return data;
    }

    // SPC-5 6.16.4, what CTL advertises (§8.4): [0..1] LENGTH 8, [2] CRH, [3] TMV | ALLOW COMMANDS 101b,
    // [4..5] type mask WR_EX_AR EX_AC_RO WR_EX_RO EX_AC WR_EX / EX_AC_AR. No PTPL_C, ATP_C or SIP_C.
    private static byte[] ReportCapabilities() => [0x00, 0x08, 0x10, 0xD0, 0xEA, 0x01, 0x00, 0x00];

    // SPC-5 6.16.5: per registration a 24-byte descriptor + TransportID: [0..7] key, [12] ALL_TG_PT | R_HOLDER,
    // [13] scope/type when holder, [18..19] RELATIVE TARGET PORT IDENTIFIER, [20..23] ADDITIONAL DESCRIPTOR LENGTH.
    private byte[] ReadFullStatus()
    {
        var descriptors = new List<byte>();
        foreach (var reg in _registrations)
        {
            var transportId = IscsiTransportId(reg.Nexus);
            var d = new byte[24];
            WriteBe64(d, 0, reg.Key);
            if (_prReservation is { } r && IsHolder(reg.Nexus))
            {
                d[12] = 0x01;
                d[13] = (byte)r.Type;
            }

            WriteBe16(d, 18, reg.Nexus.RelativePortId);
            WriteBe32(d, 20, (ulong)transportId.Length);
            descriptors.AddRange(d);
            descriptors.AddRange(transportId);
        }

        var data = new byte[8 + descriptors.Count];
        WriteBe32(data, 0, _prGeneration);
        WriteBe32(data, 4, (ulong)descriptors.Count);
        descriptors.CopyTo(data, 8);
        return data;
    }

    // SPC-5 7.6.4.6 iSCSI TransportID, FORMAT CODE 01b (initiator port): [0] 45h [2..3] ADDITIONAL LENGTH,
    // then "name,i,0x<ISID>" NUL-terminated and padded to a multiple of 4 (as CTL builds it).
    private static byte[] IscsiTransportId(Nexus nexus)
    {
        var name = System.Text.Encoding.UTF8.GetBytes(nexus.InitiatorPortName);
        var padded = (name.Length + 1 + 3) & ~3;
        var id = new byte[4 + padded];
        id[0] = 0x45;
        WriteBe16(id, 2, padded);
        name.CopyTo(id, 4);
        return id;
    }

    // ---- PERSISTENT RESERVE OUT -----------------------------------------------------------------------

    /// <summary>
    /// PERSISTENT RESERVE OUT, SPC-5 6.17. CDB [1] service action, [2] SCOPE | TYPE, [5..8] PARAMETER LIST LENGTH
    /// (must be 24: 05/24/00 at byte 5). Parameter list: [0..7] RESERVATION KEY, [8..15] SERVICE ACTION
    /// RESERVATION KEY, [20] SPEC_I_PT 08h | ALL_TG_PT 04h | APTPL 01h (rejected for the REGISTER actions:
    /// 05/26/00 at byte 20, bit 0 for APTPL, else 2 for ALL_TG_PT, else 3, in CTL's precedence).
    /// </summary>
    private ModelResult PersistentReserveOut(Nexus nexus, int serviceAction, ReadOnlySpan<byte> cdb, ReadOnlySpan<byte> dataOut)
    {
        if (Be(cdb, 5, 4) != 24)
        {
            return Check(Senses.InvalidFieldInCdb(5));
        }

        var scope = cdb[2] >> 4;
        var type = (byte)(cdb[2] & 0x0F);
        var usesType = serviceAction is 0x01 or 0x02;
        if (usesType)
        {
            if (scope != 0)
            {
                return Check(Senses.InvalidFieldInCdb(2, 7));
            }

            if (!Enum.IsDefined((PrType)type))
            {
                return Check(Senses.InvalidFieldInCdb(2, 3));
            }
        }

        var p = Slice(dataOut, 0, 24);
        var key = Be(p, 0, 8);
        var saKey = Be(p, 8, 8);
        var current = KeyOf(nexus);

        // SPC-5 5.14.7: REGISTER checks the key against the current one (0 when unregistered); REGISTER AND
        // IGNORE EXISTING KEY does not; every other action needs a registered nexus and its key.
        var keyOk = serviceAction switch
        {
            0x00 => key == (current ?? 0),
            0x06 => true,
            _ => current is { } k && k == key,
        };
        if (!keyOk)
        {
            return new ModelResult(ScsiStatus.ReservationConflict, [], []);
        }

        // SPC-5 6.17.3: APTPL, ALL_TG_PT and SPEC_I_PT only mean something to the REGISTER actions (ignored
        // otherwise); CTL supports none of them and checks them after the key, as here.
        var flags = p[20];
        if (serviceAction is 0x00 or 0x06 && (flags & 0x0D) != 0)
        {
            var bit = (flags & 0x01) != 0 ? 0 : (flags & 0x04) != 0 ? 2 : 3;
            return Check(Senses.InvalidFieldInParameterList(20, bit));
        }

        return serviceAction switch
        {
            0x00 or 0x06 => Register(nexus, saKey),
            0x01 => Reserve(nexus, (PrType)type),
            0x02 => Release(nexus, (PrType)type),
            0x03 => Clear(nexus),
            _ => PreemptAndReport(nexus, saKey, scope, type, abort: serviceAction == 0x05),
        };
    }

    /// <summary>SPC-5 5.14.7 (REGISTER / REGISTER AND IGNORE EXISTING KEY); SA key 0 unregisters.</summary>
    private ModelResult Register(Nexus nexus, ulong saKey)
    {
        var index = _registrations.FindIndex(r => r.Nexus == nexus);
        if (saKey == 0)
        {
            if (index < 0)
            {
                return ModelResult.Good(); // unregistered nexus unregistering: no change, no generation bump
            }

            Unregister(nexus);
            _prGeneration++;
            return ModelResult.Good();
        }

        if (index < 0)
        {
            _registrations.Add(new Registration(nexus, saKey));
        }
        else
        {
            _registrations[index] = new Registration(nexus, saKey);
        }

        _prGeneration++;
        return ModelResult.Good();
    }

    // SPC-5 5.14.11.2.2: losing the holder's registration releases a holder-type reservation (2A/04 to the other
    // registrants for the registrants-only types); an all-registrants reservation ends with the last registrant.
    private void Unregister(Nexus nexus)
    {
        _registrations.RemoveAll(r => r.Nexus == nexus);
        if (_prReservation is not { } r)
        {
            return;
        }

        if (r.IsAllRegistrants)
        {
            if (_registrations.Count == 0)
            {
                _prReservation = null;
            }
        }
        else if (r.Holder == nexus)
        {
            _prReservation = null;
            if (r.Type is PrType.WriteExclusiveRegistrantsOnly or PrType.ExclusiveAccessRegistrantsOnly)
            {
                foreach (var other in _registrations)
                {
                    Establish(other.Nexus, UaCode.ReservationsReleased);
                }
            }
        }
    }

    /// <summary>SPC-5 5.14.9: a new reservation, or GOOD for the holder with the same type; otherwise conflict. Generation unchanged.</summary>
    private ModelResult Reserve(Nexus nexus, PrType type)
    {
        if (_prReservation is { } r)
        {
            return IsHolder(nexus) && r.Type == type
                ? ModelResult.Good()
                : new ModelResult(ScsiStatus.ReservationConflict, [], []);
        }

        _prReservation = new PrReservation(type, IsAllRegistrantsType(type) ? null : nexus);
        return ModelResult.Good();
    }

    /// <summary>
    /// SPC-5 5.14.11.2: no reservation or not the holder → GOOD, nothing happens; type mismatch → 05/26/04;
    /// else release, and unless the type is 1h/3h or NUAR is set, 2A/04 to the other registrants.
    /// </summary>
    private ModelResult Release(Nexus nexus, PrType type)
    {
        if (_prReservation is not { } r || !IsHolder(nexus))
        {
            return ModelResult.Good();
        }

        if (r.Type != type)
        {
            return Check(Senses.InvalidReleaseOfPersistentReservation);
        }

        _prReservation = null;
        if (type is not (PrType.WriteExclusive or PrType.ExclusiveAccess) && !NoUaOnRelease)
        {
            foreach (var other in _registrations)
            {
                if (other.Nexus != nexus)
                {
                    Establish(other.Nexus, UaCode.ReservationsReleased);
                }
            }
        }

        return ModelResult.Good();
    }

    /// <summary>
    /// SPC-5 5.14.11.2.6 CLEAR: drops the reservation and every registration; the other registrants get a UA.
    /// CtlHa reports 2A/05 REGISTRATIONS PREEMPTED there, as CTL does and ctl-ha.md §15 requirement 50 states.
    /// </summary>
    private ModelResult Clear(Nexus nexus)
    {
        foreach (var r in _registrations)
        {
            if (r.Nexus != nexus)
            {
                Establish(r.Nexus, UaCode.RegistrationsPreempted);
            }
        }

        _registrations.Clear();
        _prReservation = null;
        _prGeneration++;
        return ModelResult.Good();
    }

    /// <summary>
    /// PREEMPT and PREEMPT AND ABORT, SPC-5 5.14.12 (CtlHa follows SPC-5 on every node: ctl-ha.md §12.2 items 4, 5).
    /// The model has no task set, so PREEMPT AND ABORT has exactly PREEMPT's visible effect here; the abort of the
    /// preempted nexuses' tasks is the engine's (and the conformance suite's) business.
    /// </summary>
    private ModelResult Preempt(Nexus nexus, ulong saKey, int scope, byte type)
    {
        var reservation = _prReservation;

        // No reservation, or SA key ≠ 0 under an all-registrants reservation: remove registrations only (5.14.12.2.2 b).
        if (reservation is null || (reservation.IsAllRegistrants && saKey != 0))
        {
            if (saKey == 0)
            {
                return Check(Senses.InvalidFieldInParameterList(8)); // SA RESERVATION KEY 0 preempts nothing
            }

            return RemoveRegistrationsWithKey(nexus, saKey, exceptRequester: false)
                ? Bump()
                : new ModelResult(ScsiStatus.ReservationConflict, [], []);
        }

        // From here a reservation is preempted and a new one is created: validate SCOPE and TYPE.
        if (scope != 0)
        {
            return Check(Senses.InvalidFieldInCdb(2, 7));
        }

        if (!Enum.IsDefined((PrType)type))
        {
            return Check(Senses.InvalidFieldInCdb(2, 3));
        }

        var newType = (PrType)type;
        if (reservation.IsAllRegistrants)
        {
            // SA key 0 under an all-registrants reservation: every other registration goes (5.14.12.2.3).
            foreach (var r in _registrations.Where(r => r.Nexus != nexus).ToList())
            {
                _registrations.Remove(r);
                _preempted?.Add(r.Nexus);
                Establish(r.Nexus, UaCode.RegistrationsPreempted);
            }

            _prReservation = new PrReservation(newType, IsAllRegistrantsType(newType) ? null : nexus);
            return Bump();
        }

        var holderKey = KeyOf(reservation.Holder!);
        if (saKey != holderKey)
        {
            // Not the holder's key: remove registrations only; the reservation stays (5.14.12.2.2 b).
            if (saKey == 0)
            {
                return Check(Senses.InvalidFieldInParameterList(8));
            }

            return RemoveRegistrationsWithKey(nexus, saKey, exceptRequester: false)
                ? Bump()
                : new ModelResult(ScsiStatus.ReservationConflict, [], []);
        }

        // The holder's key (5.14.12.2.2 a): release, remove every registration with that key except the
        // requester's, take the reservation with the new type; 2A/05 to the removed, and if type or scope
        // changed, 2A/04 to the remaining registrants other than the requester.
        RemoveRegistrationsWithKey(nexus, saKey, exceptRequester: true);
        _prReservation = new PrReservation(newType, IsAllRegistrantsType(newType) ? null : nexus);
        if (newType != reservation.Type)
        {
            foreach (var r in _registrations)
            {
                if (r.Nexus != nexus)
                {
                    Establish(r.Nexus, UaCode.ReservationsReleased);
                }
            }
        }

        return Bump();
    }

    // PREEMPT AND ABORT (SPC-5 5.14.12.3): the tasks of every I_T nexus whose registration was removed, other
    // than the requester, are aborted. The model reports which nexuses those are; it has no tasks to abort.
    private ModelResult PreemptAndReport(Nexus nexus, ulong saKey, int scope, byte type, bool abort)
    {
        _preempted = [];
        var result = Preempt(nexus, saKey, scope, type);
        if (abort && result.Status == ScsiStatus.Good)
        {
            result = result with { AbortedNexuses = _preempted.Where(n => n != nexus).Distinct().ToArray() };
        }

        _preempted = null;
        return result;
    }

    private bool RemoveRegistrationsWithKey(Nexus requester, ulong key, bool exceptRequester)
    {
        var victims = _registrations.Where(r => r.Key == key && !(exceptRequester && r.Nexus == requester)).ToList();
        var found = _registrations.Any(r => r.Key == key);
        foreach (var v in victims)
        {
            _registrations.Remove(v);
            _preempted?.Add(v.Nexus);
            if (v.Nexus != requester)
            {
                Establish(v.Nexus, UaCode.RegistrationsPreempted);
            }
        }

        // An all-registrants reservation ends with its last registrant.
        if (_prReservation is { IsAllRegistrants: true } && _registrations.Count == 0)
        {
            _prReservation = null;
        }

        return found;
    }

    private ModelResult Bump()
    {
        _prGeneration++;
        return ModelResult.Good();
    }

    private static bool IsAllRegistrantsType(PrType type) =>
        type is PrType.WriteExclusiveAllRegistrants or PrType.ExclusiveAccessAllRegistrants;
}

using CtlHa.Core;

namespace CtlHa.Scsi.Reservations;

/// <summary>SCSI-2 reservation state of one LU as a value (CtlHa syncs it over the interlink, unlike CTL).</summary>
public sealed record Scsi2Snapshot(PrNexus? Holder);

/// <summary>
/// SCSI-2 RESERVE(6)/(10) and RELEASE(6)/(10) (SPC-2 §7.21–§7.24, obsolete since SPC-3 but still used), with the
/// SPC-5 §5.14.3 rules for meeting persistent reservations (CRH = 1, as REPORT CAPABILITIES says).
/// Cleared by LOGICAL UNIT RESET, target reset and loss of the holder's I_T nexus (SAM-5 §6.3). Thread-safe.
/// </summary>
public sealed class Scsi2Reservation
{
    private readonly Lock _lock = new();
    private PrNexus? _holder;

    public PrNexus? Holder
    {
        get
        {
            lock (_lock)
            {
                return _holder;
            }
        }
    }

    public bool IsReserved => Holder is not null;

    /// <summary>
    /// True when <paramref name="cdb"/> from <paramref name="nexus"/> must end in RESERVATION CONFLICT.
    /// <paramref name="allowedByCommandTable"/> is the command table's ALLOW_ON_RESV flag, which widens the built-in list.
    /// </summary>
    public bool Conflicts(PrNexus nexus, ReadOnlySpan<byte> cdb, bool allowedByCommandTable = false)
    {
        lock (_lock)
        {
            return _holder is { } holder && holder != nexus && !allowedByCommandTable
                && !ReservationClassifier.AllowedUnderScsi2Reservation(cdb);
        }
    }

    /// <summary>
    /// RESERVE(6) (16h) / RESERVE(10) (56h). RESERVE(10) byte 1: 3RDPTY (bit 4), LONGID (bit 1); third-party
    /// reservations are not supported (05/24/00). SPC-5 §5.14.3 (CRH = 1): a PR holder, or a registrant under a
    /// registrants-only/all-registrants reservation, gets GOOD without effect; otherwise any registration makes
    /// RESERVE conflict. Re-reserving by the holder is GOOD.
    /// </summary>
    public ScsiOutcome Reserve(PrNexus nexus, ReadOnlySpan<byte> cdb, PersistentReservationState persistent)
    {
        if (cdb.Length > 1 && cdb[0] == 0x56 && (cdb[1] & 0x12) != 0)
        {
            return ScsiOutcome.Check(PrAsc.InvalidFieldInCdb(1, (cdb[1] & 0x10) != 0 ? 4 : 1));
        }
        if (persistent.CompatibleReservationHandlingApplies(nexus))
        {
            return ScsiOutcome.Good;
        }
        if (persistent.HasRegistrations)
        {
            return new ScsiOutcome(ScsiStatus.ReservationConflict);
        }
        lock (_lock)
        {
            if (_holder is { } holder && holder != nexus)
            {
                return new ScsiOutcome(ScsiStatus.ReservationConflict);
            }
            _holder = nexus;
            return ScsiOutcome.Good;
        }
    }

    /// <summary>
    /// RELEASE(6) (17h) / RELEASE(10) (57h): the holder releases; anyone else gets GOOD with no effect (SPC-2 §7.17).
    /// With persistent registrations present, CRH = 1 rules as for RESERVE, except that the SCSI-2 holder itself can
    /// always give its reservation back (otherwise a holder that then registered could only lose it by a reset).
    /// </summary>
    public ScsiOutcome Release(PrNexus nexus, ReadOnlySpan<byte> cdb, PersistentReservationState persistent)
    {
        if (cdb.Length > 1 && cdb[0] == 0x57 && (cdb[1] & 0x12) != 0)
        {
            return ScsiOutcome.Check(PrAsc.InvalidFieldInCdb(1, (cdb[1] & 0x10) != 0 ? 4 : 1));
        }
        lock (_lock)
        {
            if (_holder == nexus)
            {
                _holder = null;
                return ScsiOutcome.Good;
            }
        }
        if (persistent.CompatibleReservationHandlingApplies(nexus))
        {
            return ScsiOutcome.Good;
        }
        return persistent.HasRegistrations ? new ScsiOutcome(ScsiStatus.ReservationConflict) : ScsiOutcome.Good;
    }

    /// <summary>LOGICAL UNIT RESET or target reset (SAM-5 §6.3.2, §6.3.3).</summary>
    public void Reset()
    {
        lock (_lock)
        {
            _holder = null;
        }
    }

    /// <summary>I_T nexus loss or I_T NEXUS RESET (SAM-5 §6.3.4): the nexus's reservation goes.</summary>
    public void NexusLost(PrNexus nexus)
    {
        lock (_lock)
        {
            if (_holder == nexus)
            {
                _holder = null;
            }
        }
    }

    public Scsi2Snapshot Export() => new(Holder);

    public void Import(Scsi2Snapshot snapshot)
    {
        lock (_lock)
        {
            _holder = snapshot.Holder;
        }
    }
}

using CtlHa.Core;

namespace CtlHa.Scsi.Reservations;

/// <summary>PERSISTENT RESERVE IN result: the outcome and, when GOOD, the data clipped to the allocation length.</summary>
public readonly record struct PrInResult(ScsiOutcome Outcome, byte[] Data);

/// <summary>
/// All reservation state of one logical unit and the command handlers that use it, independent of how the
/// engine moves data: the engine hands in CDB and parameter bytes and gets outcomes, data and side effects back.
/// </summary>
public sealed class LogicalUnitReservations
{
    public PersistentReservationState Persistent { get; } = new();

    public Scsi2Reservation Scsi2 { get; } = new();

    /// <summary>
    /// Set by the HA layer: called with every successful PERSISTENT RESERVE OUT before its status is returned, so the
    /// peer can <c>LogicalUnit.ApplyReplicatedPersistentReserveOut</c> it. Null on a node without a peer.
    /// </summary>
    public Func<PrNexus, PrOutRequest, CancellationToken, ValueTask>? ReplicateAsync { get; set; }

    /// <summary>
    /// The check before each command (after UA and ALUA gates): true when <paramref name="cdb"/> from
    /// <paramref name="nexus"/> must complete with RESERVATION CONFLICT because of a SCSI-2 or persistent reservation.
    /// </summary>
    public bool Conflicts(ITNexus nexus, ReadOnlySpan<byte> cdb)
    {
        var n = PrNexus.From(nexus);
        if (Scsi2.Conflicts(n, cdb))
        {
            return true;
        }
        return Persistent.CheckAccess(n, ReservationClassifier.Classify(cdb));
    }

    /// <summary>PERSISTENT RESERVE IN (5Eh), SPC-5 §6.16.</summary>
    public PrInResult PersistentReserveIn(ReadOnlySpan<byte> cdb)
    {
        if (cdb.Length < 10)
        {
            return new PrInResult(ScsiOutcome.Check(PrAsc.InvalidFieldInCdb(0)), []);
        }
        var action = (PrInServiceAction)(cdb[1] & 0x1F);
        byte[]? data = action <= PrInServiceAction.ReadFullStatus
            ? Persistent.BuildPrIn(action, PrInData.AllocationLength(cdb))
            : null;
        return data is null
            ? new PrInResult(ScsiOutcome.Check(PrAsc.InvalidFieldInCdb(1, 4)), [])
            : new PrInResult(ScsiOutcome.Good, data);
    }

    /// <summary>
    /// PERSISTENT RESERVE OUT (5Fh), SPC-5 §6.17. Call <see cref="PrOutRequest.CheckCdb"/> first (before moving data),
    /// then this with the received parameter list.
    /// </summary>
    public PrOutResult PersistentReserveOut(ITNexus nexus, ReadOnlySpan<byte> cdb, ReadOnlySpan<byte> parameterList)
    {
        if (!PrOutRequest.TryParse(cdb, parameterList, out var request, out var sense))
        {
            return PrOutResult.Fail(sense);
        }
        return Persistent.Execute(PrNexus.From(nexus), request);
    }

    /// <summary>RESERVE(6)/(10).</summary>
    public ScsiOutcome Reserve(ITNexus nexus, ReadOnlySpan<byte> cdb) => Scsi2.Reserve(PrNexus.From(nexus), cdb, Persistent);

    /// <summary>RELEASE(6)/(10).</summary>
    public ScsiOutcome Release(ITNexus nexus, ReadOnlySpan<byte> cdb) => Scsi2.Release(PrNexus.From(nexus), cdb, Persistent);

    /// <summary>LOGICAL UNIT RESET / target reset: the SCSI-2 reservation goes; persistent reservations stay (SPC-5 §5.14.1).</summary>
    public void Reset() => Scsi2.Reset();

    /// <summary>I_T nexus loss: the nexus's SCSI-2 reservation goes; its registrations stay (SPC-5 §5.14.1).</summary>
    public void NexusLost(ITNexus nexus) => Scsi2.NexusLost(PrNexus.From(nexus));

    public LogicalUnitReservationsSnapshot Export() => new(Persistent.Export(), Scsi2.Export());

    public void Import(LogicalUnitReservationsSnapshot snapshot)
    {
        Persistent.Import(snapshot.Persistent);
        Scsi2.Import(snapshot.Scsi2);
    }
}

/// <summary>Everything reservation-related of one LU, as a value for the HA layer.</summary>
public sealed record LogicalUnitReservationsSnapshot(PrSnapshot Persistent, Scsi2Snapshot Scsi2);

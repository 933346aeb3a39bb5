using MessagePack;

namespace CtlHa.Wire;

/// <summary>
/// One successful state-changing PERSISTENT RESERVE OUT, mirrored by the node that executed it
/// (CTL_MSG_PERS_ACTION, ctl-ha.md §8.4). Union key 20. The receiver applies the same mutation to its
/// copy (UAs only to its own registrants) and then sets its PR generation to <paramref name="GenerationAfter"/>.
/// PreemptAndAbort also aborts the preempted initiators' tasks on the receiver (CTL aborts nothing, §12.2.5).
/// </summary>
/// <param name="Lun">Global LUN number, &lt; MaxLunsLimit.</param>
/// <param name="Action">The mutation.</param>
/// <param name="InitiatorIndex">Initiator index of the I_T nexus that issued the command, ≤ MaxInitiatorIndex.</param>
/// <param name="ReservationKey">Register: the new key (non-zero). Otherwise the requester's registered key.</param>
/// <param name="ServiceActionKey">Preempt / PreemptAndAbort: the key being preempted (0 = preempt all-registrants holder). Else 0.</param>
/// <param name="Type">Reserve: the type (1, 3, 5, 6, 7, 8). Preempt/PreemptAndAbort/Release: that type or 0. Else 0.</param>
/// <param name="TransportId">Register: the registrant's TransportID (≤ 256 bytes, may be empty). Else empty.</param>
/// <param name="GenerationAfter">The executing node's PR generation after the action.</param>
[MessagePackObject]
public sealed record PersistentReserveAction(
    [property: Key(0)] uint Lun,
    [property: Key(1)] PersistentReserveActionKind Action,
    [property: Key(2)] uint InitiatorIndex,
    [property: Key(3)] ulong ReservationKey,
    [property: Key(4)] ulong ServiceActionKey,
    [property: Key(5)] byte Type,
    [property: Key(6)] byte[] TransportId,
    [property: Key(7)] uint GenerationAfter) : InterlinkMessage
{
    public override void Validate()
    {
        WireCheck.Range(Lun, 0, WireLimits.MaxLunsLimit - 1, "PersistentReserveAction.Lun");
        WireCheck.Defined(Action, "PersistentReserveAction.Action");
        WireCheck.Range(InitiatorIndex, 0, WireLimits.MaxInitiatorIndex, "PersistentReserveAction.InitiatorIndex");
        var preempt = Action is PersistentReserveActionKind.Preempt or PersistentReserveActionKind.PreemptAndAbort;
        if (Action == PersistentReserveActionKind.Register)
        {
            WireCheck.NonZero(ReservationKey, "PersistentReserveAction.ReservationKey");
            WireCheck.Bytes(TransportId, 0, WireLimits.MaxTransportIdLength, "PersistentReserveAction.TransportId");
        }
        else
        {
            WireCheck.Bytes(TransportId, 0, 0, "PersistentReserveAction.TransportId");
        }

        if (!preempt)
        {
            WireCheck.Range(ServiceActionKey, 0, 0, "PersistentReserveAction.ServiceActionKey");
        }

        var typeOk = Action switch
        {
            PersistentReserveActionKind.Reserve => LunSync.IsValidReservationType(Type),
            PersistentReserveActionKind.Preempt or PersistentReserveActionKind.PreemptAndAbort or PersistentReserveActionKind.Release
                => Type == 0 || LunSync.IsValidReservationType(Type),
            _ => Type == 0,
        };
        if (!typeOk)
        {
            WireCheck.Fail(InterlinkErrorKind.OutOfRange, $"PersistentReserveAction.Type={Type} is not valid for {Action}");
        }
    }
}

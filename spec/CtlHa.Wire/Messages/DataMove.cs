using MessagePack;

namespace CtlHa.Wire;

/// <summary>
/// Proxy mode, primary → originator: move one segment of a command's data (replaces CTL_MSG_DATAMOVE and
/// the pointer-based DATA channel, ctl-ha.md §2.4, §6.3). Union key 34. Every DataMove is answered by
/// exactly one DataMoveDone with the same TransferHandle and Offset.
/// In: the segment's bytes travel here; the originator sends them to the initiator.
/// Out: the primary asks for bytes [Offset, Offset+Length); the originator fetches them and returns them in DataMoveDone.
/// The receiver checks (beyond Validate) that OriginatorHandle names a live command it forwarded,
/// that Direction matches it and that Offset + Length ≤ its expected data length; otherwise it drops the link.
/// </summary>
/// <param name="Nexus">Echo of the Serialize nexus.</param>
/// <param name="OriginatorHandle">Non-zero.</param>
/// <param name="PrimaryHandle">Non-zero.</param>
/// <param name="TransferHandle">Primary's non-zero id of this segment, unique among outstanding segments.</param>
/// <param name="Direction">In or Out (never None).</param>
/// <param name="Offset">Byte offset of the segment in the command's data buffer.</param>
/// <param name="Length">Segment length, 1..131072; Offset + Length ≤ 1 GiB.</param>
/// <param name="Data">In: exactly Length bytes. Out: empty.</param>
/// <param name="Last">True on the final segment of this data phase.</param>
[MessagePackObject]
public sealed record DataMove(
    [property: Key(0)] Nexus Nexus,
    [property: Key(1)] ulong OriginatorHandle,
    [property: Key(2)] ulong PrimaryHandle,
    [property: Key(3)] ulong TransferHandle,
    [property: Key(4)] DataDirection Direction,
    [property: Key(5)] uint Offset,
    [property: Key(6)] uint Length,
    [property: Key(7)] byte[] Data,
    [property: Key(8)] bool Last) : InterlinkMessage
{
    public override void Validate()
    {
        Nexus.Validate(Nexus, "DataMove.Nexus");
        ScsiWire.ValidateHandles(OriginatorHandle, PrimaryHandle, primaryRequired: true, "DataMove");
        WireCheck.NonZero(TransferHandle, "DataMove.TransferHandle");
        ValidateSegment(Direction, Offset, Length, "DataMove");
        var dataLength = Direction == DataDirection.In ? (int)Length : 0;
        WireCheck.Bytes(Data, dataLength, dataLength, "DataMove.Data");
    }

    internal static void ValidateSegment(DataDirection direction, uint offset, uint length, string type)
    {
        WireCheck.Defined(direction, type + ".Direction");
        if (direction == DataDirection.None)
        {
            WireCheck.Fail(InterlinkErrorKind.OutOfRange, $"{type}.Direction must be In or Out");
        }

        WireCheck.Range(length, 1, WireLimits.MaxDataSegment, type + ".Length");
        WireCheck.Range((ulong)offset + length, 1, WireLimits.MaxExpectedDataLength, type + ".Offset+Length");
    }
}

using MessagePack;

namespace CtlHa.Wire;

/// <summary>
/// Proxy mode, originator → primary: one DataMove segment finished (CTL_MSG_DATAMOVE_DONE). Union key 35.
/// For Out with PortStatus 0 it carries the segment's bytes. A non-zero PortStatus (31337..31342) fails the
/// command on the primary with 04/44/00, SKS retry count = PortStatus; then Data is empty.
/// The primary checks that TransferHandle, Offset, Length and Direction match an outstanding DataMove.
/// </summary>
/// <param name="Nexus">Echo of the DataMove nexus.</param>
/// <param name="OriginatorHandle">Non-zero.</param>
/// <param name="PrimaryHandle">Non-zero.</param>
/// <param name="TransferHandle">Echo of DataMove.TransferHandle (non-zero).</param>
/// <param name="Direction">Echo of DataMove.Direction.</param>
/// <param name="Offset">Echo of DataMove.Offset.</param>
/// <param name="Length">Echo of DataMove.Length.</param>
/// <param name="PortStatus">0 on success, else one of ScsiWire.PortStatus* (31337..31342).</param>
/// <param name="Data">Out and PortStatus 0: exactly Length bytes. Otherwise empty.</param>
[MessagePackObject]
public sealed record DataMoveDone(
    [property: Key(0)] Nexus Nexus,
    [property: Key(1)] ulong OriginatorHandle,
    [property: Key(2)] ulong PrimaryHandle,
    [property: Key(3)] ulong TransferHandle,
    [property: Key(4)] DataDirection Direction,
    [property: Key(5)] uint Offset,
    [property: Key(6)] uint Length,
    [property: Key(7)] uint PortStatus,
    [property: Key(8)] byte[] Data) : InterlinkMessage
{
    public override void Validate()
    {
        Nexus.Validate(Nexus, "DataMoveDone.Nexus");
        ScsiWire.ValidateHandles(OriginatorHandle, PrimaryHandle, primaryRequired: true, "DataMoveDone");
        WireCheck.NonZero(TransferHandle, "DataMoveDone.TransferHandle");
        DataMove.ValidateSegment(Direction, Offset, Length, "DataMoveDone");
        if (!ScsiWire.IsValidPortStatus(PortStatus))
        {
            WireCheck.Fail(InterlinkErrorKind.OutOfRange, $"DataMoveDone.PortStatus={PortStatus} is neither 0 nor 31337..31342");
        }

        var dataLength = Direction == DataDirection.Out && PortStatus == ScsiWire.PortStatusGood ? (int)Length : 0;
        WireCheck.Bytes(Data, dataLength, dataLength, "DataMoveDone.Data");
    }
}

using MessagePack;

namespace CtlHa.Wire;

/// <summary>
/// Liveness probe, sent every heartbeat interval (250 ms default) once the link is authenticated
/// (PROTOCOL.md §5). Union key 4. Any received frame proves liveness; a heartbeat guarantees one exists.
/// </summary>
/// <param name="Sequence">Starts at 1 per connection and increases by 1 with each heartbeat; a receiver
/// drops the link if it does not increase (a replayed or looped stream).</param>
/// <param name="TimestampMicros">Sender's monotonic clock in microseconds, for RTT/log only; never compared across nodes.</param>
[MessagePackObject]
public sealed record Heartbeat(
    [property: Key(0)] ulong Sequence,
    [property: Key(1)] ulong TimestampMicros) : InterlinkMessage
{
    public override void Validate() => WireCheck.NonZero(Sequence, "Heartbeat.Sequence");
}

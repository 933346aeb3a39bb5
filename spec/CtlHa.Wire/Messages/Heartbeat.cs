using MessagePack;

namespace CtlHa.Wire;

/// <summary>
/// Liveness probe, sent every heartbeat interval (250 ms default) once the link is Online
/// (PROTOCOL.md §5). Union key 4. Any received frame proves the peer sends; the echo proves it also reads.
/// </summary>
/// <param name="Sequence">Starts at 1 per connection and increases by exactly 1 with each heartbeat.</param>
/// <param name="TimestampMicros">Sender's monotonic clock in microseconds, for RTT/log only; never compared across nodes.</param>
/// <param name="EchoSequence">Highest heartbeat Sequence the sender has received from the receiver (0 = none yet).
/// Must not exceed what the receiver sent. A node whose own heartbeats stay unechoed for the dead-peer interval
/// declares the peer dead: it has stopped reading.</param>
[MessagePackObject]
public sealed record Heartbeat(
    [property: Key(0)] ulong Sequence,
    [property: Key(1)] ulong TimestampMicros,
    [property: Key(2)] ulong EchoSequence) : InterlinkMessage
{
    public override void Validate() => WireCheck.NonZero(Sequence, "Heartbeat.Sequence");
}

using MessagePack;

namespace CtlHa.Wire;

/// <summary>
/// Base of every interlink message. On the wire a message is the MessagePack union
/// <c>[unionKey, [field0, field1, …]]</c> (spec/PROTOCOL.md §3). Union keys are stable forever;
/// a new message takes a new key and a new protocol version.
/// </summary>
[Union(0, typeof(AuthChallenge))]
[Union(1, typeof(AuthResponse))]
[Union(2, typeof(Login))]
[Union(3, typeof(Goodbye))]
[Union(4, typeof(Heartbeat))]
[Union(10, typeof(PortSync))]
[Union(11, typeof(InitiatorSync))]
[Union(12, typeof(LunSync))]
[Union(13, typeof(ModeSync))]
[Union(14, typeof(SyncComplete))]
[Union(15, typeof(SyncFence))]
[Union(16, typeof(SyncFenceAck))]
[Union(20, typeof(PersistentReserveAction))]
[Union(21, typeof(UnitAttention))]
[Union(22, typeof(TaskManagement))]
[Union(30, typeof(Serialize))]
[Union(31, typeof(ReadyToRun))]
[Union(32, typeof(FinishIo))]
[Union(33, typeof(SerializeFailed))]
[Union(34, typeof(DataMove))]
[Union(35, typeof(DataMoveDone))]
public abstract record InterlinkMessage
{
    /// <summary>
    /// Checks every field against its documented range (spec/PROTOCOL.md §6) without any context
    /// beyond this message. Throws <see cref="InterlinkProtocolException"/> (OutOfRange or Malformed).
    /// The decoder calls it on every message; senders call it before encoding.
    /// </summary>
    public abstract void Validate();
}

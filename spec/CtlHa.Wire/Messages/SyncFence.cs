using MessagePack;

namespace CtlHa.Wire;

/// <summary>
/// Asks the peer to confirm that it has applied every message sent before this one (PROTOCOL.md §6.5). Union key 15.
/// A node that executed a command changing replicated state (MODE SELECT, PERSISTENT RESERVE OUT, RESERVE/RELEASE, a
/// task management function) sends the sync messages, then a SyncFence, and answers its initiator only when the
/// matching <see cref="SyncFenceAck"/> arrives or the link drops: an initiator that goes on through the other node
/// then sees the change (CTL answers before the peer has applied it).
/// </summary>
/// <param name="FenceId">Chosen by the sender, unique per connection, never 0.</param>
[MessagePackObject]
public sealed record SyncFence([property: Key(0)] ulong FenceId) : InterlinkMessage
{
    public override void Validate() => WireCheck.NonZero(FenceId, "SyncFence.FenceId");
}

/// <summary>
/// The answer to <see cref="SyncFence"/> (union key 16): sent once every message received before the fence has been
/// applied. Receivers ignore an acknowledgement for a fence they are no longer waiting for.
/// </summary>
/// <param name="FenceId">The acknowledged fence, never 0.</param>
[MessagePackObject]
public sealed record SyncFenceAck([property: Key(0)] ulong FenceId) : InterlinkMessage
{
    public override void Validate() => WireCheck.NonZero(FenceId, "SyncFenceAck.FenceId");
}

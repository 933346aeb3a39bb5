using CtlHa.Wire;

namespace CtlHa.Interlink;

/// <summary>Link phases, one for one with spec <c>CtlHa.Spec.LinkPhase</c> (conformance compares them by name).</summary>
public enum InterlinkPhase
{
    Unconfigured,
    Listening,
    Connecting,
    BackingOff,
    Authenticating,
    LoggingIn,
    Online,
    Rejected,
}

/// <summary>Events moving the link, one for one with spec <c>CtlHa.Spec.LinkTrigger</c> (compared by name).</summary>
public enum InterlinkTrigger
{
    ConfigureListen,
    ConfigureConnect,
    ReconfigureListen,
    ReconfigureConnect,
    Unconfigure,
    TcpAccepted,
    TcpConnected,
    TcpFailed,
    AuthSucceeded,
    AuthFailed,
    LoginMatched,
    VersionMismatch,
    ModeMismatch,
    SameNodeId,
    InvalidNodeId,
    ClusterMismatch,
    MaxLunsMismatch,
    MaxPortsMismatch,
    MaxInitiatorsMismatch,
    HeartbeatLost,
    PeerClosed,
    ProtocolError,
    Shutdown,
    RetryTimerFired,
}

/// <summary>One logged transition.</summary>
public readonly record struct InterlinkTransition(InterlinkPhase From, InterlinkTrigger Trigger, InterlinkPhase To);

/// <summary>
/// Why the last authentication or Login failed (for <c>ctlha status</c>): the trigger, and for a Login
/// mismatch the field with both values.
/// </summary>
/// <param name="Trigger">AuthFailed or one of the Login mismatch triggers.</param>
/// <param name="Mismatch">The field and both values, for Login mismatches.</param>
/// <param name="Reason">One line, as logged.</param>
/// <param name="At">When it happened (UTC).</param>
public sealed record LinkRejection(InterlinkTrigger Trigger, LoginMismatch? Mismatch, string Reason, DateTimeOffset At)
{
    public override string ToString() => Reason;

    /// <summary>The trigger the spec uses for a Login mismatch field.</summary>
    public static InterlinkTrigger TriggerFor(LoginField field) => field switch
    {
        LoginField.ProtocolVersion => InterlinkTrigger.VersionMismatch,
        LoginField.HaMode => InterlinkTrigger.ModeMismatch,
        LoginField.NodeIdSame => InterlinkTrigger.SameNodeId,
        LoginField.NodeIdInvalid => InterlinkTrigger.InvalidNodeId,
        LoginField.ClusterName => InterlinkTrigger.ClusterMismatch,
        LoginField.MaxLuns => InterlinkTrigger.MaxLunsMismatch,
        LoginField.MaxPorts => InterlinkTrigger.MaxPortsMismatch,
        LoginField.MaxInitiatorsPerPort => InterlinkTrigger.MaxInitiatorsMismatch,
        _ => InterlinkTrigger.ProtocolError,
    };
}

/// <summary>What the HA layer learns when a link comes up.</summary>
/// <param name="ConnectionId">Increases with every connection; messages of one connection never reach another.</param>
/// <param name="PeerLogin">The peer's Login.</param>
/// <param name="Authenticated">False only when both sides allowed an unauthenticated link.</param>
public sealed record InterlinkPeer(long ConnectionId, Login PeerLogin, bool Authenticated);

/// <summary>Why an Online link went down.</summary>
/// <param name="ConnectionId">The connection that ended.</param>
/// <param name="Trigger">PeerClosed, ProtocolError, HeartbeatLost, Shutdown or a reconfiguration.</param>
/// <param name="Reason">One line, as logged.</param>
public sealed record InterlinkDown(long ConnectionId, InterlinkTrigger Trigger, string Reason);

/// <summary>
/// The HA layer's side of the link. Calls for one connection never overlap except that
/// <see cref="OnLinkUpAsync"/> runs concurrently with <see cref="OnMessageAsync"/> (the peer syncs at the same time).
/// </summary>
public interface IInterlinkHandler
{
    /// <summary>
    /// The link is Online: send this node's state sync (PortSync, InitiatorSync, LunSync, ModeSync) with
    /// <see cref="InterlinkLink.SendAsync"/>. When it returns the link sends SyncComplete with the counts.
    /// The token is cancelled when this connection ends.
    /// </summary>
    ValueTask OnLinkUpAsync(InterlinkPeer peer, CancellationToken cancellationToken);

    /// <summary>
    /// Every received message except the handshake, Heartbeat and Goodbye, in arrival order (SyncComplete included,
    /// after its counts were checked). Throw <see cref="InterlinkProtocolException"/> for a bad handle or
    /// out-of-context message: the link drops with that reason. The receive loop waits for this call, which is the
    /// back-pressure towards the peer.
    /// </summary>
    ValueTask OnMessageAsync(InterlinkMessage message, CancellationToken cancellationToken);

    /// <summary>An Online connection ended (called once per OnLinkUpAsync, after the socket closed).</summary>
    void OnLinkDown(InterlinkDown down);
}

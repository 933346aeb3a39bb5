namespace CtlHa.Wire;

// Wire enums. Values are the integers on the wire and never change; a receiver rejects any value
// not listed (OutOfRange). Where CTL has the same concept the CTL number is kept (ctl-ha.md §3.2).

/// <summary>HA mode of a node (DESIGN.md "four HA modes"); numbers are CTL's kern.cam.ctl.ha_mode.
/// The fourth mode, unavailable, has no interlink and so never appears on the wire.</summary>
public enum HaMode : byte
{
    /// <summary>ACT_STBY (0): secondary answers discovery and reservations; media commands get 02/04/0B.</summary>
    Standby = 0,

    /// <summary>SER_ONLY (1): secondary executes locally after SERIALIZE → ReadyToRun.</summary>
    Shared = 1,

    /// <summary>XFER (2): secondary forwards every command; data moves over the interlink.</summary>
    Proxy = 2,
}

/// <summary>How a node authenticates in <see cref="AuthChallenge"/>.</summary>
public enum AuthMethod : byte
{
    /// <summary>Mutual HMAC-SHA256 over both nonces with the pre-shared key.</summary>
    HmacSha256Psk = 0,

    /// <summary>No key; accepted only if both sides announce it (operator's allow-unauthenticated).</summary>
    None = 1,
}

/// <summary>Which side of the TCP connection a node is; bound into the auth MAC so a reflected MAC fails.</summary>
public enum LinkRole : byte
{
    /// <summary>The node that accepted the connection (--peer listen:…).</summary>
    Acceptor = 1,

    /// <summary>The node that opened the connection (--peer connect:…).</summary>
    Connector = 2,
}

/// <summary>Why a node closes the link (<see cref="Goodbye"/>).</summary>
public enum GoodbyeReason : byte
{
    /// <summary>Orderly shutdown of the node.</summary>
    Shutdown = 0,

    /// <summary>The operator changed the peer address or configuration.</summary>
    Reconfigured = 1,

    /// <summary>A Login field did not match; <see cref="Goodbye.Field"/> names it.</summary>
    LoginMismatch = 2,

    /// <summary>The peer's AuthResponse MAC was wrong.</summary>
    AuthenticationFailed = 3,

    /// <summary>The sender requires a key but the peer announced AuthMethod.None.</summary>
    AuthenticationRequired = 4,

    /// <summary>The sender has no key but the peer requires one.</summary>
    NoKey = 5,

    /// <summary>The peer broke the protocol (bad frame, message out of order).</summary>
    ProtocolError = 6,

    /// <summary>No frame from the peer within the dead-peer interval.</summary>
    HeartbeatTimeout = 7,
}

/// <summary>The Login check a <see cref="Goodbye"/> of reason LoginMismatch names; numbers are the check order
/// (the same order as CtlHa.Spec LoginValidation.MismatchOrder).</summary>
public enum LoginField : byte
{
    /// <summary>No field (Goodbye reasons other than LoginMismatch).</summary>
    None = 0,

    /// <summary>ProtocolVersion differs.</summary>
    ProtocolVersion = 1,

    /// <summary>Mode differs.</summary>
    HaMode = 2,

    /// <summary>Both nodes have the same NodeId.</summary>
    NodeIdSame = 3,

    /// <summary>A NodeId is outside {1, 2}.</summary>
    NodeIdInvalid = 4,

    /// <summary>ClusterName differs (ordinal).</summary>
    ClusterName = 5,

    /// <summary>MaxLuns differs.</summary>
    MaxLuns = 6,

    /// <summary>MaxPorts differs.</summary>
    MaxPorts = 7,

    /// <summary>MaxInitiatorsPerPort differs.</summary>
    MaxInitiatorsPerPort = 8,
}

/// <summary>SAM-5 task attribute; numbers are CTL's ctl_tag_type.</summary>
public enum TaskAttribute : byte
{
    Untagged = 0,
    Simple = 1,
    Ordered = 2,
    HeadOfQueue = 3,
    Aca = 4,
}

/// <summary>Direction of a command's data, seen from the initiator.</summary>
public enum DataDirection : byte
{
    /// <summary>No data phase.</summary>
    None = 0,

    /// <summary>Data-In: target → initiator (READ).</summary>
    In = 1,

    /// <summary>Data-Out: initiator → target (WRITE).</summary>
    Out = 2,
}

/// <summary>Task management function replicated to the peer; numbers are CTL's ctl_task_type.</summary>
public enum TaskManagementFunction : byte
{
    AbortTask = 0,
    AbortTaskSet = 1,
    ClearAca = 2,
    ClearTaskSet = 3,
    ItNexusReset = 4,
    LunReset = 5,
    TargetReset = 6,
    BusReset = 7,
}

/// <summary>Persistent-reservation mutation mirrored to the peer; numbers are CTL's ctl_pr_action
/// except PreemptAndAbort, which CTL folds into Preempt (and so aborts nothing, §12.2.5).</summary>
public enum PersistentReserveActionKind : byte
{
    Register = 0,
    Unregister = 1,
    Preempt = 2,
    Clear = 3,
    Reserve = 4,
    Release = 5,
    PreemptAndAbort = 6,
}

/// <summary>LUN role flags in <see cref="LunSync"/> (CTL_LUN_PRIMARY_SC, CTL_LUN_PEER_SC_PRIMARY, CTL_LUN_DISABLED).</summary>
[Flags]
public enum LunRoleFlags : byte
{
    None = 0,

    /// <summary>The sender is primary for this LUN.</summary>
    Primary = 1,

    /// <summary>The sender already knows the receiver is primary (so a primary receiver need not reply).</summary>
    PeerPrimaryKnown = 2,

    /// <summary>The LUN is disabled on the sender.</summary>
    Disabled = 4,
}

/// <summary>Who a <see cref="UnitAttention"/> applies to on the receiver.</summary>
public enum UnitAttentionScope : byte
{
    /// <summary>Every local initiator of the receiver.</summary>
    AllInitiators = 0,

    /// <summary>Every local initiator except <see cref="UnitAttention.InitiatorIndex"/>.</summary>
    AllExcept = 1,

    /// <summary>Only <see cref="UnitAttention.InitiatorIndex"/>.</summary>
    One = 2,
}

/// <summary>SAM residual kind accompanying a residual count.</summary>
public enum ResidualKind : byte
{
    None = 0,
    Underflow = 1,
    Overflow = 2,
}

using Stateless;
using Stateless.Graph;
using Stateless.Reflection;

namespace CtlHa.Spec;

/// <summary>Where one node's interlink is in its life (ctl-ha.md §2.1, §2.2, §4.2; DESIGN.md "Interlink essentials").</summary>
public enum LinkPhase
{
    /// <summary>No peer configured (CTL <c>ha_peer</c> empty): <see cref="LinkState.Offline"/>.</summary>
    Unconfigured,

    /// <summary>Listen side, waiting for the one connection it accepts (backlog 1, §2.1).</summary>
    Listening,

    /// <summary>Connect side, TCP connect in progress.</summary>
    Connecting,

    /// <summary>Connect side, waiting to retry after a failed or dropped connection (CTL: 0.5 s, §2.1).</summary>
    BackingOff,

    /// <summary>TCP up; mutual PSK authentication (HMAC-SHA256 over both nonces) in progress.</summary>
    Authenticating,

    /// <summary>Authenticated; Login exchange and validation (<see cref="LoginValidation"/>) in progress.</summary>
    LoggingIn,

    /// <summary>Logged in: <see cref="LinkState.Online"/>, sync and I/O messages flow.</summary>
    Online,

    /// <summary>
    /// The peer failed authentication or Login; the connection is closed and the reason is kept in
    /// <see cref="LinkLifecycleSpec.LastRejection"/>. Left when the retry timer fires (rate-limits flapping).
    /// On the listen side that timer is a fixed pause of at most 0.5 s that never grows with repeated rejections
    /// (the listener stays bound, so a fixed and restarted peer is accepted at once); the connect side backs off
    /// exponentially as in <see cref="BackingOff"/>.
    /// </summary>
    Rejected,
}

/// <summary>Which end of the TCP connection this node is (CTL <c>listen</c> / <c>connect</c>).</summary>
public enum LinkSide
{
    None,
    Listen,
    Connect,
}

/// <summary>Events that move the link lifecycle.</summary>
public enum LinkTrigger
{
    /// <summary>Peer configured as <c>listen ADDR:PORT</c> from unconfigured.</summary>
    ConfigureListen,

    /// <summary>Peer configured as <c>connect ADDR:PORT</c> from unconfigured.</summary>
    ConfigureConnect,

    /// <summary>The peer setting changed to a different listen value: drop, then listen again (§2.1, requirement 66).</summary>
    ReconfigureListen,

    /// <summary>The peer setting changed to a different connect value: drop, then connect again.</summary>
    ReconfigureConnect,

    /// <summary>The peer setting was cleared: drop, Offline (§5.6).</summary>
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

    /// <summary>No heartbeat within the dead-peer timeout (≤ 1 s by default; CTL ~6 s keepalive).</summary>
    HeartbeatLost,

    /// <summary>EOF or reset from the peer.</summary>
    PeerClosed,

    /// <summary>A bad frame or message (requirements 9, 67): drop with a logged reason.</summary>
    ProtocolError,

    /// <summary>Node shutdown: close the link so the peer sees it go (§2.2).</summary>
    Shutdown,

    /// <summary>The back-off (or rejection) timer expired.</summary>
    RetryTimerFired,
}

/// <summary>
/// The interlink lifecycle of one node as a Stateless machine with external state. Unhandled triggers are
/// not permitted (<see cref="CanFire"/> false; <see cref="Fire"/> throws <see cref="InvalidOperationException"/>).
/// Writing the same peer setting again is a no-op for the caller: do not fire Reconfigure for it.
/// </summary>
public sealed class LinkLifecycleSpec
{
    private static readonly LinkTrigger[] DropTriggers = [LinkTrigger.PeerClosed, LinkTrigger.ProtocolError, LinkTrigger.HeartbeatLost];

    private static readonly LinkPhase[] ConfiguredPhases =
    [
        LinkPhase.Listening, LinkPhase.Connecting, LinkPhase.BackingOff, LinkPhase.Authenticating,
        LinkPhase.LoggingIn, LinkPhase.Online, LinkPhase.Rejected,
    ];

    private readonly StateMachine<LinkPhase, LinkTrigger> _machine;
    private LinkPhase _phase;
    private LinkSide _side;

    /// <summary>A fresh node: unconfigured.</summary>
    public LinkLifecycleSpec()
        : this(LinkPhase.Unconfigured, LinkSide.None)
    {
    }

    /// <summary>A machine positioned at <paramref name="phase"/> on <paramref name="side"/> (side None iff Unconfigured).</summary>
    public LinkLifecycleSpec(LinkPhase phase, LinkSide side, LinkTrigger? lastRejection = null)
    {
        if ((phase == LinkPhase.Unconfigured) != (side == LinkSide.None)
            || (phase == LinkPhase.Listening && side != LinkSide.Listen)
            || (phase is LinkPhase.Connecting or LinkPhase.BackingOff && side != LinkSide.Connect))
        {
            throw new ArgumentException($"Phase {phase} cannot be on side {side}.", nameof(side));
        }

        _phase = phase;
        _side = side;
        LastRejection = lastRejection;
        _machine = new StateMachine<LinkPhase, LinkTrigger>(() => _phase, s => _phase = s, FiringMode.Immediate);
        Configure();
    }

    /// <summary>Current phase.</summary>
    public LinkPhase Phase => _phase;

    /// <summary>Which end this node is; None when unconfigured.</summary>
    public LinkSide Side => _side;

    /// <summary>The last authentication or Login failure (kept after leaving Rejected, for status output).</summary>
    public LinkTrigger? LastRejection { get; private set; }

    /// <summary>The link state the rest of the node sees (§2.2).</summary>
    public LinkState LinkState => ToLinkState(_phase);

    /// <summary>Online → Online, Unconfigured → Offline, everything else → Connecting (CTL UNKNOWN).</summary>
    public static LinkState ToLinkState(LinkPhase phase) => phase switch
    {
        LinkPhase.Online => LinkState.Online,
        LinkPhase.Unconfigured => LinkState.Offline,
        _ => LinkState.Connecting,
    };

    /// <summary>All triggers, in declaration order.</summary>
    public static IReadOnlyList<LinkTrigger> AllTriggers { get; } = Enum.GetValues<LinkTrigger>();

    /// <summary>Whether <paramref name="trigger"/> is permitted now.</summary>
    public bool CanFire(LinkTrigger trigger) => _machine.CanFire(trigger);

    /// <summary>The triggers permitted now (ignored ones included).</summary>
    public IReadOnlyList<LinkTrigger> PermittedTriggers() => AllTriggers.Where(CanFire).ToArray();

    /// <summary>Fires a trigger; throws <see cref="InvalidOperationException"/> when it is not permitted.</summary>
    public void Fire(LinkTrigger trigger) => _machine.Fire(trigger);

    /// <summary>Fires a trigger if permitted; returns whether it was.</summary>
    public bool TryFire(LinkTrigger trigger)
    {
        if (!_machine.CanFire(trigger))
        {
            return false;
        }

        _machine.Fire(trigger);
        return true;
    }

    /// <summary>Introspection for graphs and coverage checks.</summary>
    public StateMachineInfo GetInfo() => _machine.GetInfo();

    /// <summary>Mermaid state diagram (left to right).</summary>
    public string ToMermaid() => MermaidGraph.Format(_machine.GetInfo(), MermaidGraphDirection.LeftToRight);

    /// <summary>Graphviz DOT diagram.</summary>
    public string ToDot() => UmlDotGraph.Format(_machine.GetInfo());

    public override string ToString() =>
        LastRejection is { } r ? $"{_phase} ({_side}, last rejection {r})" : $"{_phase} ({_side})";

    private void Configure()
    {
        _machine.OnTransitioned(t =>
        {
            _side = t.Trigger switch
            {
                LinkTrigger.ConfigureListen or LinkTrigger.ReconfigureListen => LinkSide.Listen,
                LinkTrigger.ConfigureConnect or LinkTrigger.ReconfigureConnect => LinkSide.Connect,
                LinkTrigger.Unconfigure or LinkTrigger.Shutdown => LinkSide.None,
                _ => _side,
            };
        });

        _machine.Configure(LinkPhase.Unconfigured)
            .Permit(LinkTrigger.ConfigureListen, LinkPhase.Listening)
            .Permit(LinkTrigger.ConfigureConnect, LinkPhase.Connecting)
            .Ignore(LinkTrigger.Unconfigure)
            .Ignore(LinkTrigger.Shutdown);

        _machine.Configure(LinkPhase.Listening)
            .Permit(LinkTrigger.TcpAccepted, LinkPhase.Authenticating);

        _machine.Configure(LinkPhase.Connecting)
            .Permit(LinkTrigger.TcpConnected, LinkPhase.Authenticating)
            .Permit(LinkTrigger.TcpFailed, LinkPhase.BackingOff);

        _machine.Configure(LinkPhase.BackingOff)
            .Permit(LinkTrigger.RetryTimerFired, LinkPhase.Connecting);

        _machine.Configure(LinkPhase.Authenticating)
            .Permit(LinkTrigger.AuthSucceeded, LinkPhase.LoggingIn)
            .Permit(LinkTrigger.AuthFailed, LinkPhase.Rejected);

        var loggingIn = _machine.Configure(LinkPhase.LoggingIn)
            .Permit(LinkTrigger.LoginMatched, LinkPhase.Online);
        foreach (var mismatch in LoginValidation.MismatchOrder)
        {
            loggingIn.Permit(mismatch, LinkPhase.Rejected);
        }

        _machine.Configure(LinkPhase.Rejected)
            .OnEntry(t => LastRejection = t.Trigger, "record the rejection reason")
            .PermitIf(LinkTrigger.RetryTimerFired, LinkPhase.Listening, IsListenSide, "listen side")
            .PermitIf(LinkTrigger.RetryTimerFired, LinkPhase.Connecting, IsConnectSide, "connect side");

        // A live connection that drops: the listener stays open (§2.1), the connect side backs off.
        foreach (var phase in new[] { LinkPhase.Authenticating, LinkPhase.LoggingIn, LinkPhase.Online })
        {
            var config = _machine.Configure(phase);
            foreach (var drop in DropTriggers)
            {
                config.PermitIf(drop, LinkPhase.Listening, IsListenSide, "listen side")
                    .PermitIf(drop, LinkPhase.BackingOff, IsConnectSide, "connect side");
            }
        }

        // Reconfigure, unconfigure and shutdown work from every configured phase (§2.1, §2.2).
        foreach (var phase in ConfiguredPhases)
        {
            var config = _machine.Configure(phase);
            if (phase == LinkPhase.Listening)
            {
                config.PermitReentry(LinkTrigger.ReconfigureListen);
            }
            else
            {
                config.Permit(LinkTrigger.ReconfigureListen, LinkPhase.Listening);
            }

            if (phase == LinkPhase.Connecting)
            {
                config.PermitReentry(LinkTrigger.ReconfigureConnect);
            }
            else
            {
                config.Permit(LinkTrigger.ReconfigureConnect, LinkPhase.Connecting);
            }

            config.Permit(LinkTrigger.Unconfigure, LinkPhase.Unconfigured)
                .Permit(LinkTrigger.Shutdown, LinkPhase.Unconfigured);
        }
    }

    private bool IsListenSide() => _side == LinkSide.Listen;

    private bool IsConnectSide() => _side == LinkSide.Connect;
}

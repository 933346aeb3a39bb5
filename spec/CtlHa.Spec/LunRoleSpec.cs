using Stateless;
using Stateless.Graph;
using Stateless.Reflection;

namespace CtlHa.Spec;

/// <summary>
/// The (role, link) part of one node's view of one LUN; whether the peer is primary is machine data
/// (<see cref="LunRoleSpec.PeerPrimary"/>), only ever true while Online.
/// </summary>
public enum LunHaPhase
{
    SecondaryOffline,
    PrimaryOffline,
    SecondaryConnecting,
    PrimaryConnecting,
    SecondaryOnline,
    PrimaryOnline,
}

/// <summary>Events that change one node's view of one LUN.</summary>
public enum LunRoleTrigger
{
    /// <summary>Operator/cluster manager makes the LUN primary here (§7.3; never automatic, requirement 41).</summary>
    Promote,

    /// <summary>Operator makes the LUN secondary here (§7.3).</summary>
    Demote,

    /// <summary>An interlink peer was configured: Offline → Connecting. Not in mode Unavailable.</summary>
    Configure,

    /// <summary>The interlink reached Online (§4.1).</summary>
    LinkUp,

    /// <summary>The interlink left Online but stays configured (§7.1).</summary>
    LinkDown,

    /// <summary>The peer's LUN_SYNC says it is primary (§4.3).</summary>
    PeerAnnouncedPrimary,

    /// <summary>The peer's LUN_SYNC says it is not primary (or the LUN is disabled there) (§4.3).</summary>
    PeerAnnouncedSecondary,

    /// <summary>The interlink peer setting was cleared: → Offline (§5.6).</summary>
    Unconfigure,
}

/// <summary>What the node must do about the backing store after a transition (§5.1, §7.3, requirement 17).</summary>
public enum BackingStoreChange
{
    None,
    Open,
    Close,
}

/// <summary>The effects of one transition of <see cref="LunRoleSpec"/>.</summary>
/// <param name="Before">View before.</param>
/// <param name="After">View after.</param>
/// <param name="UnitAttentions">UAs to establish for every local initiator of the LUN.</param>
/// <param name="AnnounceToPeer">Send LUN_SYNC (role change with the link up, §5.1; or link up, §4.1).</param>
/// <param name="BackingStore">Open or close the backing store.</param>
public sealed record LunRoleOutcome(
    LunHaView Before,
    LunHaView After,
    IReadOnlyList<UaCode> UnitAttentions,
    bool AnnounceToPeer,
    BackingStoreChange BackingStore);

/// <summary>
/// One node's HA role and ALUA knowledge for one LUN, for a fixed mode, as a Stateless machine with
/// external state. Every transition reports the UAs it raises: 2A/06 ASYMMETRIC ACCESS STATE CHANGED
/// exactly when the LUN's own role or the PeerPrimary knowledge changes (§5.1 / requirement 16, §4.3
/// LUN_SYNC, §7.1 / requirement 38, §7.3 / requirement 42).
/// </summary>
/// <remarks>
/// Promote is refused while the link is Online and the peer is primary: two primaries for one LUN are
/// refused while the link is up (CTL neither detects nor prevents this, §12.2 item 12). Two primaries can
/// still meet when both were promoted while the link was down; the view then reports
/// <see cref="LunHaView.IsSplitBrain"/> and <see cref="AluaTable"/> reports both groups Active/Optimized.
/// </remarks>
public sealed class LunRoleSpec
{
    private readonly StateMachine<LunHaPhase, LunRoleTrigger> _machine;
    private LunHaPhase _phase;
    private bool _peerPrimary;

    /// <summary>A new LUN on an HA node: secondary (requirement 14) with no interlink yet.</summary>
    public LunRoleSpec(int nodeId, HaMode mode)
        : this(new LunHaView(nodeId, HaRole.Secondary, false, LinkState.Offline, mode))
    {
    }

    /// <summary>A machine positioned at <paramref name="view"/> (which must be consistent).</summary>
    public LunRoleSpec(LunHaView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        view.EnsureConsistent();
        NodeId = view.NodeId;
        Mode = view.Mode;
        _phase = PhaseOf(view.LocalRole, view.Link);
        _peerPrimary = view.PeerPrimary;
        _machine = new StateMachine<LunHaPhase, LunRoleTrigger>(() => _phase, s => _phase = s, FiringMode.Immediate);
        Configure();
    }

    public int NodeId { get; }

    public HaMode Mode { get; }

    public LunHaPhase Phase => _phase;

    public bool PeerPrimary => _peerPrimary;

    public HaRole LocalRole => RoleOf(_phase);

    public LinkState Link => LinkOf(_phase);

    /// <summary>The current view, as the tables take it.</summary>
    public LunHaView View => new(NodeId, LocalRole, _peerPrimary, Link, Mode);

    /// <summary>All triggers, in declaration order.</summary>
    public static IReadOnlyList<LunRoleTrigger> AllTriggers { get; } = Enum.GetValues<LunRoleTrigger>();

    public bool CanFire(LunRoleTrigger trigger) => _machine.CanFire(trigger);

    /// <summary>The triggers permitted now (ignored ones included).</summary>
    public IReadOnlyList<LunRoleTrigger> PermittedTriggers() => AllTriggers.Where(CanFire).ToArray();

    /// <summary>Fires a trigger and returns its effects; throws <see cref="InvalidOperationException"/> when not permitted.</summary>
    public LunRoleOutcome Fire(LunRoleTrigger trigger)
    {
        var before = View;
        _machine.Fire(trigger);
        var after = View;

        var uas = before.LocalRole != after.LocalRole || before.PeerPrimary != after.PeerPrimary
            ? new[] { UaCode.AsymmetricAccessStateChanged }
            : [];
        var announce = after.Link == LinkState.Online
            && (trigger == LunRoleTrigger.LinkUp || before.LocalRole != after.LocalRole);
        var store = (before.HasBackingStore, after.HasBackingStore) switch
        {
            (false, true) => BackingStoreChange.Open,
            (true, false) => BackingStoreChange.Close,
            _ => BackingStoreChange.None,
        };
        return new LunRoleOutcome(before, after, uas, announce, store);
    }

    /// <summary>
    /// Applies a LUN_SYNC from the peer (§4.3): <paramref name="peerPrimary"/> is whether the peer says it is
    /// primary (and the LUN enabled there); <paramref name="peerBelievesUsPrimary"/> is the PEER_SC_PRIMARY bit
    /// of its flags. A primary whose peer did not know answers with its own LUN_SYNC (requirement 45):
    /// the outcome's AnnounceToPeer is then true.
    /// </summary>
    public LunRoleOutcome ReceiveLunSync(bool peerPrimary, bool peerBelievesUsPrimary)
    {
        var outcome = Fire(peerPrimary ? LunRoleTrigger.PeerAnnouncedPrimary : LunRoleTrigger.PeerAnnouncedSecondary);
        return LocalRole == HaRole.Primary && !peerBelievesUsPrimary ? outcome with { AnnounceToPeer = true } : outcome;
    }

    /// <summary>Fires a trigger if permitted; null when it is not.</summary>
    public LunRoleOutcome? TryFire(LunRoleTrigger trigger) => _machine.CanFire(trigger) ? Fire(trigger) : null;

    /// <summary>Introspection for graphs and coverage checks.</summary>
    public StateMachineInfo GetInfo() => _machine.GetInfo();

    public string ToMermaid() => MermaidGraph.Format(_machine.GetInfo(), MermaidGraphDirection.LeftToRight);

    public string ToDot() => UmlDotGraph.Format(_machine.GetInfo());

    public override string ToString() => _peerPrimary ? $"{_phase} (peer primary)" : _phase.ToString();

    /// <summary>Phase for a role and link state.</summary>
    public static LunHaPhase PhaseOf(HaRole role, LinkState link) => (role, link) switch
    {
        (HaRole.Secondary, LinkState.Offline) => LunHaPhase.SecondaryOffline,
        (HaRole.Primary, LinkState.Offline) => LunHaPhase.PrimaryOffline,
        (HaRole.Secondary, LinkState.Connecting) => LunHaPhase.SecondaryConnecting,
        (HaRole.Primary, LinkState.Connecting) => LunHaPhase.PrimaryConnecting,
        (HaRole.Secondary, _) => LunHaPhase.SecondaryOnline,
        _ => LunHaPhase.PrimaryOnline,
    };

    public static HaRole RoleOf(LunHaPhase phase) =>
        phase is LunHaPhase.PrimaryOffline or LunHaPhase.PrimaryConnecting or LunHaPhase.PrimaryOnline
            ? HaRole.Primary
            : HaRole.Secondary;

    public static LinkState LinkOf(LunHaPhase phase) => phase switch
    {
        LunHaPhase.SecondaryOffline or LunHaPhase.PrimaryOffline => LinkState.Offline,
        LunHaPhase.SecondaryConnecting or LunHaPhase.PrimaryConnecting => LinkState.Connecting,
        _ => LinkState.Online,
    };

    private void Configure()
    {
        // PeerPrimary is knowledge carried by the link: any transition that leaves or (re)enters Online
        // starts from "peer not primary" until the peer's LUN_SYNC says otherwise (§7.1, §4.1).
        _machine.OnTransitioned(t =>
        {
            if (t.Destination is not LunHaPhase.PrimaryOnline and not LunHaPhase.SecondaryOnline
                || t.Trigger == LunRoleTrigger.LinkUp)
            {
                _peerPrimary = false;
            }
        });

        foreach (var phase in Enum.GetValues<LunHaPhase>())
        {
            var config = _machine.Configure(phase);
            var role = RoleOf(phase);
            var link = LinkOf(phase);
            var other = PhaseOf(role == HaRole.Primary ? HaRole.Secondary : HaRole.Primary, link);

            if (role == HaRole.Primary)
            {
                config.Ignore(LunRoleTrigger.Promote).Permit(LunRoleTrigger.Demote, other);
            }
            else if (link == LinkState.Online)
            {
                config.PermitIf(LunRoleTrigger.Promote, other, () => !_peerPrimary, "peer not primary")
                    .Ignore(LunRoleTrigger.Demote);
            }
            else
            {
                config.Permit(LunRoleTrigger.Promote, other).Ignore(LunRoleTrigger.Demote);
            }

            switch (link)
            {
                case LinkState.Offline:
                    config.PermitIf(LunRoleTrigger.Configure, PhaseOf(role, LinkState.Connecting), () => Mode != HaMode.Unavailable, "mode has an interlink")
                        .Ignore(LunRoleTrigger.Unconfigure);
                    break;
                case LinkState.Connecting:
                    config.Permit(LunRoleTrigger.LinkUp, PhaseOf(role, LinkState.Online))
                        .Permit(LunRoleTrigger.Unconfigure, PhaseOf(role, LinkState.Offline));
                    break;
                default:
                    config.Permit(LunRoleTrigger.LinkDown, PhaseOf(role, LinkState.Connecting))
                        .Permit(LunRoleTrigger.Unconfigure, PhaseOf(role, LinkState.Offline))
                        .InternalTransitionIf(LunRoleTrigger.PeerAnnouncedPrimary, _ => true, RecordPeerPrimary, "internal: peer is primary")
                        .InternalTransitionIf(LunRoleTrigger.PeerAnnouncedSecondary, _ => true, RecordPeerSecondary, "internal: peer is not primary");
                    break;
            }
        }
    }

    private void RecordPeerPrimary(StateMachine<LunHaPhase, LunRoleTrigger>.Transition transition) => _peerPrimary = true;

    private void RecordPeerSecondary(StateMachine<LunHaPhase, LunRoleTrigger>.Transition transition) => _peerPrimary = false;
}

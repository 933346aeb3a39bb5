using CtlHa.Conformance.Differential;
using CtlHa.Conformance.Suites;
using CtlHa.Model;
using CtlHa.Spec;

namespace CtlHa.Conformance.Ha;

/// <summary>
/// One initiator port of the HA machine: it logs in on one node only. init1/init3 share an iSCSI name (one host with a
/// path to each node), init2/init4 are a second host. After its node restarts it logs in with the next ISID generation:
/// a new I_T nexus (the old one was lost with the node), which the model meets with POWER ON.
/// </summary>
public sealed record HaInitiator(int Index, PairNode Node, string Name, ulong IsidBase)
{
    public static IReadOnlyList<HaInitiator> All { get; } =
    [
        new(1, PairNode.A, "iqn.2026-11.org.ctlha:ha-host-a", 0x4000_0160_0100),
        new(2, PairNode.A, "iqn.2026-11.org.ctlha:ha-host-b", 0x4000_0160_0200),
        new(3, PairNode.B, "iqn.2026-11.org.ctlha:ha-host-a", 0x4000_0160_0300),
        new(4, PairNode.B, "iqn.2026-11.org.ctlha:ha-host-b", 0x4000_0160_0400),
    ];

    public ulong Isid(int generation) => IsidBase + (ulong)generation;

    /// <summary>The model's nexus: node 1 has relative port 1, node 2 relative port 257 (HaPorts of the HA layer, CtlHa.Ha README).</summary>
    public Nexus ToNexus(int generation) => new(Name, Isid(generation), (int)Node, Node == PairNode.A ? (ushort)1 : (ushort)257);
}

/// <summary>One operation of the HA machine; <see cref="ToString"/> is its trace line's left side.</summary>
public abstract record HaOp
{
    /// <summary>Whether the operation is allowed in <paramref name="state"/> (generation and shrinking keep only those).</summary>
    public abstract bool Permitted(HaPairState state);

    /// <summary>The pair's HA state after the operation (pure).</summary>
    public abstract HaPairState Next(HaPairState state);
}

/// <summary>A SCSI command from one initiator (LUN 0).</summary>
public sealed record HaCommand(HaInitiator Initiator, DiffStep Step) : HaOp
{
    public override bool Permitted(HaPairState state) => state.Alive(Initiator.Node);

    public override HaPairState Next(HaPairState state) => state;

    public override string ToString() => $"{Initiator.Node}: init{Initiator.Index} {Step.Label}";
}

/// <summary>LOGICAL UNIT RESET task management function from one initiator (only with the link up: a reset the peer cannot hear is outside the model).</summary>
public sealed record HaLunReset(HaInitiator Initiator) : HaOp
{
    public override bool Permitted(HaPairState state) => state.Linked;

    public override HaPairState Next(HaPairState state) => state;

    public override string ToString() => $"{Initiator.Node}: init{Initiator.Index} TMF LOGICAL UNIT RESET";
}

public enum HaLinkAction
{
    Cut,
    Stall,
    Restore,
}

/// <summary>Interlink fault through the proxy (cut = reset, stall = silence until the heartbeat gives up) or its end.</summary>
public sealed record HaLink(HaLinkAction Action) : HaOp
{
    public override bool Permitted(HaPairState state) => Action == HaLinkAction.Restore ? state.LinkFaulted : !state.LinkFaulted;

    public override HaPairState Next(HaPairState state) => state with { LinkFaulted = Action != HaLinkAction.Restore };

    public override string ToString() => $"link {Action.ToString().ToLowerInvariant()}";
}

/// <summary>
/// SIGKILL of a node, or a graceful stop (SIGTERM) with <paramref name="Graceful"/> (never the last one; a primary only
/// while the link is up, so the survivor holds its state).
/// </summary>
public sealed record HaKill(PairNode Node, bool Graceful = false) : HaOp
{
    public override bool Permitted(HaPairState state) =>
        state.Alive(PairNode.A) && state.Alive(PairNode.B) && (!state.LinkFaulted || !state.Primary(Node));

    public override HaPairState Next(HaPairState state) => state.With(Node, alive: false);

    public override string ToString() => $"{Node}: {(Graceful ? "stop (SIGTERM)" : "kill -9")}";
}

/// <summary>Restart of a killed node (same ports and files); it comes back secondary, so only while the other node is primary.</summary>
public sealed record HaRestart(PairNode Node) : HaOp
{
    public override bool Permitted(HaPairState state) => !state.Alive(Node) && state.Primary(HaPairState.Other(Node));

    public override HaPairState Next(HaPairState state) => state.With(Node, alive: true, primary: false, generation: state.Generation(Node) + 1);

    public override string ToString() => $"{Node}: restart";
}

/// <summary>
/// Promote or demote through the control API. Allowed while linked (a promotion the node must refuse when the peer is
/// primary is expected to be refused), or with the peer dead; never while the link is faulted with the peer alive
/// (the two sides' state would diverge, which the single-LU model cannot describe).
/// </summary>
public sealed record HaSetRole(PairNode Node, bool Primary) : HaOp
{
    public override bool Permitted(HaPairState state)
    {
        var other = HaPairState.Other(Node);
        return state.Alive(Node) && state.Primary(Node) != Primary && (state.Linked || !state.Alive(other));
    }

    /// <summary>The node must refuse: promoting while the linked peer is primary (two primaries are refused while linked).</summary>
    public bool Refused(HaPairState state) => Primary && state.Linked && state.Primary(HaPairState.Other(Node));

    public override HaPairState Next(HaPairState state) => Refused(state) ? state : state.With(Node, primary: Primary);

    public override string ToString() => $"{Node}: {(Primary ? "promote" : "demote")}";
}

/// <summary>
/// The generation-time model of the pair (FsCheck's Model): which nodes run, their roles, whether the interlink is
/// faulted, and each node's ISID generation. <see cref="View"/> derives each node's LUN view as the spec defines it.
/// </summary>
public sealed record HaPairState(HaMode Mode, bool AliveA, bool AliveB, bool PrimaryA, bool PrimaryB, bool LinkFaulted, int GenerationA, int GenerationB, int Steps)
{
    public static HaPairState Initial(HaMode mode) => new(mode, true, true, true, false, false, 0, 0, 0);

    public bool Alive(PairNode node) => node == PairNode.A ? AliveA : AliveB;

    public bool Primary(PairNode node) => node == PairNode.A ? PrimaryA : PrimaryB;

    public int Generation(PairNode node) => node == PairNode.A ? GenerationA : GenerationB;

    /// <summary>Both nodes run and the proxy lets the interlink through (the actual waits for link-up after every change).</summary>
    public bool Linked => AliveA && AliveB && !LinkFaulted;

    public static PairNode Other(PairNode node) => node == PairNode.A ? PairNode.B : PairNode.A;

    public HaPairState With(PairNode node, bool? alive = null, bool? primary = null, int? generation = null) => node == PairNode.A
        ? this with { AliveA = alive ?? AliveA, PrimaryA = primary ?? PrimaryA, GenerationA = generation ?? GenerationA }
        : this with { AliveB = alive ?? AliveB, PrimaryB = primary ?? PrimaryB, GenerationB = generation ?? GenerationB };

    /// <summary>
    /// A running node's view of the LUN (spec <see cref="LunHaView"/>): its role; the peer is known primary only with
    /// the link up; the link is Online or Connecting (an interlink is configured, so never Offline).
    /// </summary>
    public LunHaView View(PairNode node) => new(
        (int)node,
        Primary(node) ? HaRole.Primary : HaRole.Secondary,
        Linked && Primary(Other(node)),
        Linked ? LinkState.Online : LinkState.Connecting,
        Mode);

    public override string ToString() =>
        $"{Mode.ToString().ToLowerInvariant()} A={(AliveA ? PrimaryA ? "primary" : "secondary" : "dead")} B={(AliveB ? PrimaryB ? "primary" : "secondary" : "dead")} link={(Linked ? "up" : "down")}";
}

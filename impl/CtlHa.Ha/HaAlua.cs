using CtlHa.Core;
using CtlHa.Scsi.Commands;

namespace CtlHa.Ha;

/// <summary>What a node does with a command for a LUN after UA reporting (spec <c>GateAction</c>).</summary>
public enum HaGateAction
{
    ExecuteLocally,
    ForwardToPrimary,
    Reject,
}

/// <summary>
/// ctl-ha.md §5.5 (states) and §5.2/§5.3/§9 (gates), the same decisions as spec <c>AluaTable</c> and
/// <c>CommandGates</c> (impl may not reference the spec; conformance compares both).
/// </summary>
public static class HaAlua
{
    /// <summary>NOT READY 04/0A ASYMMETRIC ACCESS STATE TRANSITION (gate 2).</summary>
    public static Sense TransitioningSense { get; } = new(SenseKey.NotReady, 0x04, 0x0A);

    /// <summary>NOT READY 04/0B TARGET PORT IN STANDBY STATE (gate 3).</summary>
    public static Sense StandbySense { get; } = new(SenseKey.NotReady, 0x04, 0x0B);

    /// <summary>NOT READY 04/0C TARGET PORT IN UNAVAILABLE STATE (gate 1).</summary>
    public static Sense UnavailableSense { get; } = new(SenseKey.NotReady, 0x04, 0x0C);

    /// <summary>ILLEGAL REQUEST 25/00 LOGICAL UNIT NOT SUPPORTED: REQUEST SENSE data on an unreachable LUN (req 29).</summary>
    public static Sense LunNotSupportedSense { get; } = new(SenseKey.IllegalRequest, 0x25, 0x00);

    /// <summary>State of the answering node's own group ("ts" in §5.5).</summary>
    public static AluaState OwnGroupState(HaLunView v)
    {
        if (v.LocalRole == HaRole.Primary)
        {
            return AluaState.ActiveOptimized;
        }
        if (v.PeerPrimary)
        {
            return v.Mode == HaMode.Standby ? AluaState.Standby : AluaState.ActiveNonOptimized;
        }
        return v.Link == HaLinkState.Offline ? AluaState.Unavailable : AluaState.Transitioning;
    }

    /// <summary>State of the other node's group ("os" in §5.5); split brain reports both AO (CtlHa differs from CTL).</summary>
    public static AluaState PeerGroupState(HaLunView v)
    {
        if (v.LocalRole == HaRole.Primary)
        {
            if (v.PeerPrimary)
            {
                return AluaState.ActiveOptimized;
            }
            return v.Link switch
            {
                HaLinkState.Online => v.Mode == HaMode.Standby ? AluaState.Standby : AluaState.ActiveNonOptimized,
                HaLinkState.Connecting => AluaState.Transitioning,
                _ => AluaState.Unavailable,
            };
        }
        if (v.PeerPrimary)
        {
            return AluaState.ActiveOptimized;
        }
        return v.Link == HaLinkState.Online ? AluaState.Transitioning : AluaState.ActiveOptimized;
    }

    /// <summary>State of TPG 2 (node 1) and TPG 3 (node 2), in group id order.</summary>
    public static (AluaState Node1, AluaState Node2) NodeGroupStates(HaLunView v)
    {
        var own = OwnGroupState(v);
        var peer = PeerGroupState(v);
        return v.NodeId == 1 ? (own, peer) : (peer, own);
    }

    /// <summary>Standard INQUIRY peripheral qualifier 001b only on a non-primary LUN without interlink (req 23).</summary>
    public static bool IsConnected(HaLunView v) => v.LocalRole == HaRole.Primary || v.Link != HaLinkState.Offline;

    /// <summary>
    /// §5.2 gates and §5.3 forwarding for a supported command, after UA reporting (spec <c>CommandGates.Evaluate</c>).
    /// </summary>
    public static (HaGateAction Action, Sense? Sense) Evaluate(HaLunView v, CommandFlags flags)
    {
        if (v.LocalRole == HaRole.Primary)
        {
            return (HaGateAction.ExecuteLocally, null);
        }
        bool okOnUnavailable = (flags & CommandFlags.OkOnUnavailable) != 0;
        if (v.Link == HaLinkState.Offline && !okOnUnavailable)
        {
            return (HaGateAction.Reject, UnavailableSense);
        }
        if (!v.PeerPrimary && !okOnUnavailable)
        {
            return (HaGateAction.Reject, TransitioningSense);
        }
        if (v.Mode == HaMode.Standby && (flags & CommandFlags.OkOnStandby) == 0)
        {
            return (HaGateAction.Reject, StandbySense);
        }
        return v.PeerPrimary && (flags & CommandFlags.RunHere) == 0
            ? (HaGateAction.ForwardToPrimary, null)
            : (HaGateAction.ExecuteLocally, null);
    }
}

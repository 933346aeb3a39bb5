using CtlHa.Core;
using CtlHa.Scsi.Commands;

namespace CtlHa.Scsi.Alua;

/// <summary>A target port group as REPORT TARGET PORT GROUPS reports it (SPC-5 §6.37).</summary>
/// <param name="SupportedStates">Byte 1 of the descriptor: T_SUP 0x80, O_SUP 0x40, LBD_SUP 0x10, U_SUP 0x08, S_SUP 0x04, AN_SUP 0x02, AO_SUP 0x01.</param>
/// <param name="StatusCode">00h none, 01h altered by SET TPG, 02h altered by implicit ALUA.</param>
public sealed record TargetPortGroup(ushort Id, AluaState State, IReadOnlyList<ushort> RelativeTargetPortIds,
    byte SupportedStates = 0x8F, byte StatusCode = 0x02, bool Preferred = false);

/// <summary>
/// Asymmetric access as seen by the engine. The HA layer supplies its own; the default is one group (id 1,
/// Active/Optimized) holding the asking nexus's relative target port.
/// </summary>
public interface IAluaProvider
{
    /// <summary>Target port groups for the LU in the order RTPG lists them.</summary>
    IReadOnlyList<TargetPortGroup> GetTargetPortGroups(LogicalUnit lun, ITNexus nexus);

    /// <summary>The group of the nexus's target port (INQUIRY VPD 83h designator type 5h).</summary>
    ushort GetTargetPortGroupId(LogicalUnit lun, ITNexus nexus);

    /// <summary>Standard INQUIRY peripheral qualifier: false → 001b "not connected" (ctl-ha.md §5.5).</summary>
    bool IsConnected(LogicalUnit lun);

    /// <summary>
    /// Gate check before a command runs through this path (ctl-ha.md §5.2): null lets it run, otherwise the outcome
    /// to return (for instance NOT READY 04/0B on a standby path).
    /// </summary>
    ScsiOutcome? CheckAccess(CommandContext ctx, CommandDescriptor command);

    /// <summary>
    /// RTPG extended header IMPLICIT TRANSITION TIME (SPC-5 §6.37): seconds an initiator should allow an implicit ALUA
    /// transition (e.g. Transitioning after a peer loss) before giving up; 0 = none is ever made.
    /// </summary>
    byte ImplicitTransitionTimeSeconds { get; }
}

/// <summary>Non-HA default: a single Active/Optimized group 1.</summary>
public sealed class SingleGroupAluaProvider : IAluaProvider
{
    public static SingleGroupAluaProvider Instance { get; } = new();

    public IReadOnlyList<TargetPortGroup> GetTargetPortGroups(LogicalUnit lun, ITNexus nexus) =>
        [new TargetPortGroup(1, AluaState.ActiveOptimized, [nexus.RelativeTargetPortId])];

    public ushort GetTargetPortGroupId(LogicalUnit lun, ITNexus nexus) => 1;

    public bool IsConnected(LogicalUnit lun) => true;

    public ScsiOutcome? CheckAccess(CommandContext ctx, CommandDescriptor command) => null;

    /// <summary>A single group never changes state by itself.</summary>
    public byte ImplicitTransitionTimeSeconds => 0;
}

namespace CtlHa.Spec;

/// <summary>A sense key with ASC/ASCQ, as a value (SCSI errors are values, never exceptions).</summary>
public readonly record struct GateSense(byte Key, byte Asc, byte Ascq)
{
    public override string ToString() => $"{Key:X2}/{Asc:X2}/{Ascq:X2}";
}

/// <summary>What a node does with a command for a LUN once the gates have run.</summary>
public enum GateAction
{
    /// <summary>Execute on this node without involving the peer.</summary>
    ExecuteLocally,

    /// <summary>
    /// Send SERIALIZE to the primary peer: in standby/shared the primary orders it and this node then
    /// executes it (R2R); in proxy the primary executes it (§5.3, §6).
    /// </summary>
    ForwardToPrimary,

    /// <summary>Complete with CHECK CONDITION and <see cref="GateVerdict.Sense"/>.</summary>
    Reject,
}

/// <summary>The outcome of <see cref="CommandGates.Evaluate"/>; <see cref="Sense"/> is set exactly for Reject.</summary>
public readonly record struct GateVerdict(GateAction Action, GateSense? Sense)
{
    public static GateVerdict Execute { get; } = new(GateAction.ExecuteLocally, null);

    public static GateVerdict Forward { get; } = new(GateAction.ForwardToPrimary, null);

    public static GateVerdict RejectWith(GateSense sense) => new(GateAction.Reject, sense);

    public override string ToString() => Sense is { } s ? $"{Action} {s}" : Action.ToString();
}

/// <summary>
/// ctl-ha.md §5.2 (gates on a node that is not primary for the LUN), §5.3 (forwarding) and §9 (RUN_HERE),
/// as one pure function.
/// </summary>
/// <remarks>
/// Order on the receiving node: (1) a command the table does not support is rejected at once with its
/// <see cref="CommandInfo.UnsupportedSense"/> (CTL validates the opcode before the UA check; such infos have
/// <see cref="CommandInfo.ReportsUnitAttention"/> false); (2) a pending UA is reported unless the command
/// has ReportsUnitAttention false (§5.2 last paragraph, requirement 22); (3) <see cref="Evaluate"/>.
/// The local checks that follow the gates in the non-proxy modes (write protect, reservations, media) are
/// the model's and engine's business, not this table's.
/// </remarks>
public static class CommandGates
{
    /// <summary>NOT READY, ASYMMETRIC ACCESS STATE TRANSITION (02/04/0A): gate 2.</summary>
    public static GateSense TransitioningSense { get; } = new(0x02, 0x04, 0x0A);

    /// <summary>NOT READY, TARGET PORT IN STANDBY STATE (02/04/0B): gate 3.</summary>
    public static GateSense StandbySense { get; } = new(0x02, 0x04, 0x0B);

    /// <summary>NOT READY, TARGET PORT IN UNAVAILABLE STATE (02/04/0C): gate 1.</summary>
    public static GateSense UnavailableSense { get; } = new(0x02, 0x04, 0x0C);

    /// <summary>ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE (05/20/00), e.g. MAINTENANCE OUT (requirement 24).</summary>
    public static GateSense InvalidOpcodeSense { get; } = new(0x05, 0x20, 0x00);

    /// <summary>ILLEGAL REQUEST, INVALID FIELD IN CDB (05/24/00): an unsupported service action of a supported opcode.</summary>
    public static GateSense InvalidFieldInCdbSense { get; } = new(0x05, 0x24, 0x00);

    /// <summary>ILLEGAL REQUEST, LOGICAL UNIT NOT SUPPORTED (05/25/00): REQUEST SENSE data on an unreachable LUN (requirement 29).</summary>
    public static GateSense LunNotSupportedSense { get; } = new(0x05, 0x25, 0x00);

    /// <summary>What a node does with <paramref name="cmd"/> for a LUN it sees as <paramref name="v"/>, after UA reporting.</summary>
    public static GateVerdict Evaluate(LunHaView v, CommandInfo cmd)
    {
        ArgumentNullException.ThrowIfNull(v);
        ArgumentNullException.ThrowIfNull(cmd);
        v.EnsureConsistent();

        if (cmd.UnsupportedSense is { } invalid)
        {
            return GateVerdict.RejectWith(invalid);
        }

        if (v.LocalRole == HaRole.Primary)
        {
            return GateVerdict.Execute;
        }

        // §5.2 gate 1: no interlink configured.
        if (v.Link == LinkState.Offline && !cmd.OkOnUnavailable)
        {
            return GateVerdict.RejectWith(UnavailableSense);
        }

        // §5.2 gate 2: the peer is not (known to be) primary.
        if (!v.PeerPrimary && !cmd.OkOnUnavailable)
        {
            return GateVerdict.RejectWith(TransitioningSense);
        }

        // §5.2 gate 3: a standby path serves only OK_ON_STANDBY commands.
        if (v.Mode == HaMode.Standby && !cmd.OkOnStandby)
        {
            return GateVerdict.RejectWith(StandbySense);
        }

        // §5.3: forward when the peer is primary, unless RUN_HERE (§9). Same rule in all three linked modes.
        return v.PeerPrimary && !cmd.RunHere ? GateVerdict.Forward : GateVerdict.Execute;
    }

    /// <summary>
    /// §5.2 gate 4: whether the node runs the local checks that follow the gates (write protect 27/01 and
    /// 27/02, SCSI-2 and PR reservation conflicts, media state) for a command that passed them. A node that
    /// is not primary in proxy mode skips them: the primary makes them on the forwarded command.
    /// </summary>
    public static bool RunsLocalChecks(LunHaView v)
    {
        ArgumentNullException.ThrowIfNull(v);
        v.EnsureConsistent();
        return v.LocalRole == HaRole.Primary || v.Mode != HaMode.Proxy;
    }

    /// <summary>
    /// The originator's re-check when R2R arrives in standby/shared mode (§6.1 step 3, §5.2 "again ... on R2R"):
    /// the gates run again on the current view; a Reject means the state changed meanwhile, anything else
    /// means "execute here now" (the primary has ordered the command).
    /// </summary>
    public static GateVerdict EvaluateOnReadyToRun(LunHaView v, CommandInfo cmd)
    {
        var verdict = Evaluate(v, cmd);
        return verdict.Action == GateAction.Reject ? verdict : GateVerdict.Execute;
    }
}

namespace CtlHa.Spec;

/// <summary>SAM-5 task attribute of a queued command (CTL <c>tag_type</c>).</summary>
public enum TaskAttribute
{
    Untagged,
    Simple,
    Ordered,
    HeadOfQueue,
    Aca,
}

/// <summary>The <c>serseq</c> LUN option (ctl-ha.md §11.3).</summary>
public enum SerSeq
{
    /// <summary>Consecutive I/Os run in parallel; strict overlap only.</summary>
    Off,

    /// <summary>A READ after an adjacent older READ waits until that one's media read is done.</summary>
    Read,

    /// <summary>As Read, and adjacency counts as overlap for READ/WRITE extent checks.</summary>
    On,
}

/// <summary>A block range [Lba, Lba + Length).</summary>
public readonly record struct LbaRange(ulong Lba, ulong Length)
{
    public ulong End => Lba + Length;

    public bool Intersects(LbaRange other) => Lba < other.End && other.Lba < End;
}

/// <summary>
/// One command in a LUN's order-of-arrival (OOA) queue, as the §11.1 rules see it.
/// <paramref name="Extent"/> null means the whole disk (UNMAP before its data arrives, §11.2 extent rules).
/// </summary>
public sealed record OoaEntry(
    long InitiatorIndex,
    uint Tag,
    TaskAttribute Attribute,
    SerializationClass Class,
    LbaRange? Extent,
    bool Aborted = false,
    bool StatusSent = false,
    bool SerSeqDone = false);

/// <summary>Outcome of the OOA check for a pending command.</summary>
public enum OoaAction
{
    /// <summary>Nothing older blocks it: run.</summary>
    Pass,

    /// <summary>The pending command is aborted: run at once, it completes as aborted (§11.1 step 1).</summary>
    Skip,

    /// <summary>Wait for <see cref="OoaVerdict.BlockerIndex"/>.</summary>
    Block,

    /// <summary>Untagged after untagged from the same nexus: 05/4E/00 (requirement 56).</summary>
    Overlap,

    /// <summary>Duplicate tag from the same nexus: 05/4D/(tag &amp; FFh) (requirement 56).</summary>
    OverlapTag,
}

/// <summary>The decision for a pending command; <see cref="BlockerIndex"/> indexes the older list given.</summary>
public readonly record struct OoaVerdict(OoaAction Action, int? BlockerIndex, GateSense? Sense);

/// <summary>
/// ctl-ha.md §11.1 (newest CTL order of checks) around the §11.2 table, as pure functions. The engine and
/// the primary's queue for forwarded commands (the single ordering point, requirement 59) both follow this.
/// </summary>
public static class OoaRules
{
    /// <summary>ILLEGAL REQUEST, OVERLAPPED COMMANDS ATTEMPTED (05/4E/00).</summary>
    public static GateSense OverlappedCommandsSense { get; } = new(0x05, 0x4E, 0x00);

    /// <summary>ILLEGAL REQUEST, TAGGED OVERLAPPED COMMANDS (05/4D/tag).</summary>
    public static GateSense TaggedOverlapSense(uint tag) => new(0x05, 0x4D, (byte)(tag & 0xFF));

    /// <summary>
    /// Checks a pending command against the older commands on the same LUN, given newest first (§11.1).
    /// The first non-pass result decides.
    /// </summary>
    public static OoaVerdict Check(OoaEntry pending, IReadOnlyList<OoaEntry> olderNewestFirst, bool unrestricted, SerSeq serSeq)
    {
        ArgumentNullException.ThrowIfNull(pending);
        ArgumentNullException.ThrowIfNull(olderNewestFirst);

        // Step 1: an aborted command runs at once and completes as aborted.
        if (pending.Aborted)
        {
            return new(OoaAction.Skip, null, null);
        }

        // Step 2: ORDERED waits for everything older.
        if (pending.Attribute == TaskAttribute.Ordered && olderNewestFirst.Count > 0)
        {
            return new(OoaAction.Block, 0, null);
        }

        // Step 3: walk the older commands from newest to oldest.
        for (var i = 0; i < olderNewestFirst.Count; i++)
        {
            var action = CheckPair(pending, olderNewestFirst[i], unrestricted, serSeq);
            switch (action)
            {
                case OoaAction.Pass:
                    continue;
                case OoaAction.Block:
                    return new(OoaAction.Block, i, null);
                case OoaAction.Overlap:
                    return new(OoaAction.Overlap, i, OverlappedCommandsSense);
                case OoaAction.OverlapTag:
                    return new(OoaAction.OverlapTag, i, TaggedOverlapSense(pending.Tag));
                default:
                    throw new InvalidOperationException($"CheckPair returned {action}.");
            }
        }

        return new(OoaAction.Pass, null, null);
    }

    /// <summary>§11.1 step 3 for one older command (never returns Skip).</summary>
    public static OoaAction CheckPair(OoaEntry pending, OoaEntry older, bool unrestricted, SerSeq serSeq)
    {
        ArgumentNullException.ThrowIfNull(pending);
        ArgumentNullException.ThrowIfNull(older);

        var sameNexusLive = pending.InitiatorIndex == older.InitiatorIndex && !older.Aborted && !older.StatusSent;
        if (sameNexusLive && pending.Attribute == TaskAttribute.Untagged && older.Attribute == TaskAttribute.Untagged)
        {
            return OoaAction.Overlap;
        }

        if (sameNexusLive && pending.Attribute != TaskAttribute.Untagged && older.Attribute != TaskAttribute.Untagged
            && pending.Tag == older.Tag)
        {
            return OoaAction.OverlapTag;
        }

        if (pending.Attribute == TaskAttribute.HeadOfQueue)
        {
            return OoaAction.Pass;
        }

        if (older.Attribute is TaskAttribute.Ordered or TaskAttribute.HeadOfQueue)
        {
            return OoaAction.Block;
        }

        if (older.Class == SerializationClass.None)
        {
            return OoaAction.Pass;
        }

        var seq = serSeq == SerSeq.On;
        return SerializationTable.Lookup(pending.Class, older.Class) switch
        {
            SerializationTable.Decision.Pass => OoaAction.Pass,
            SerializationTable.Decision.Block => OoaAction.Block,
            SerializationTable.Decision.BlockUnlessUnrestricted => unrestricted ? OoaAction.Pass : OoaAction.Block,
            SerializationTable.Decision.ExtentCheck => ExtentCheck(pending, older, seq),
            SerializationTable.Decision.ExtentCheckUnlessUnrestricted => unrestricted ? OoaAction.Pass : ExtentCheck(pending, older, seq),
            SerializationTable.Decision.SequentialCheck => serSeq == SerSeq.Off ? OoaAction.Pass : SequentialCheck(pending, older),
            var d => throw new InvalidOperationException($"Unknown decision {d}."),
        };
    }

    /// <summary>
    /// §11.2 extent rule: block when the ranges intersect; with <paramref name="seq"/> (serseq = on) the older
    /// range is extended by one block until the older command has SERSEQ_DONE. A null extent is the whole disk.
    /// </summary>
    public static OoaAction ExtentCheck(OoaEntry pending, OoaEntry older, bool seq)
    {
        ArgumentNullException.ThrowIfNull(pending);
        ArgumentNullException.ThrowIfNull(older);
        if (pending.Extent is not { } p || older.Extent is not { } o)
        {
            return OoaAction.Block;
        }

        if (seq && !older.SerSeqDone)
        {
            o = o with { Length = o.Length + 1 };
        }

        return p.Intersects(o) ? OoaAction.Block : OoaAction.Pass;
    }

    /// <summary>§11.2 xS: block when the older READ ends exactly where the newer starts and it lacks SERSEQ_DONE.</summary>
    public static OoaAction SequentialCheck(OoaEntry pending, OoaEntry older)
    {
        ArgumentNullException.ThrowIfNull(pending);
        ArgumentNullException.ThrowIfNull(older);
        if (older.SerSeqDone || pending.Extent is not { } p || older.Extent is not { } o)
        {
            return OoaAction.Pass;
        }

        return o.End == p.Lba ? OoaAction.Block : OoaAction.Pass;
    }
}

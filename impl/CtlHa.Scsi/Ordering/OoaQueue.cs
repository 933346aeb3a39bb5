using CtlHa.Core;
using CtlHa.Scsi.Commands;

namespace CtlHa.Scsi.Ordering;

/// <summary>Result of admitting a command to the OOA queue.</summary>
internal enum OoaAdmission
{
    Run,
    Blocked,

    /// <summary>Untagged command while an untagged one of the same nexus is active: 05/4E/00.</summary>
    Overlap,

    /// <summary>Tag already active on the same nexus: 05/4D/(tag &amp; 0xFF).</summary>
    OverlapTag,
}

/// <summary>
/// A logical unit's order-of-arrival queue (CTL <c>ooa_queue</c>) and the serialization rules of ctl-ha.md §11.1/§11.2.
/// One lock and one list, oldest first; a command that passes everything is just appended (no allocation beyond the
/// list slot). A blocked command remembers its blocker and is re-evaluated when that blocker completes, sets
/// SERSEQ_DONE, learns its UNMAP ranges or is aborted.
/// </summary>
internal sealed class OoaQueue
{
    private readonly Lock _lock = new();
    private readonly List<CommandContext> _list = new(64);
    private readonly LogicalUnit _lun;

    public OoaQueue(LogicalUnit lun) => _lun = lun;

    /// <summary>Serialization actions, ctl-ha.md §11.2.</summary>
    private enum Action : byte
    {
        Pass,
        Block,
        BlockUnlessUnrestricted, // bO
        Extent,                  // xT
        ExtentUnlessUnrestricted,// xO (older UNMAP: its descriptors)
        Sequential,              // xS
    }

    // Row = new command class, column = older command class; order of SerializationClass.
    // TUR READ WRITE UNMAP SYNC MDSNS MDSEL RQSNS INQ RDCAP RES LOGSNS FMT START
    private static readonly Action[,] Table = Build(
        "P P P P P B B P P P B P P B",
        "P S T O P B B P P P B P B B",
        "P T T O P B B P P P B P B B",
        "P b b P P B B P P P B P B B",
        "P P b P P B B P P P B P B B",
        "B B B B B P B P P P B P B B",
        "B B B B B B B P P P B B B B",
        "B B B B B B B B B B B B P B",
        "P P P P P P P P P P P P P P",
        "P P P P P P P P P P B P B B",
        "B B B B B B B B P P B B B B",
        "P P P P P P P P P P B P B B",
        "B B B B B B B B B B B B B B",
        "B B B B B B B B B P B B B B");

    private static Action[,] Build(params string[] rows)
    {
        var t = new Action[rows.Length, rows.Length];
        for (int r = 0; r < rows.Length; r++)
        {
            string[] cells = rows[r].Split(' ');
            for (int c = 0; c < cells.Length; c++)
            {
                t[r, c] = cells[c] switch
                {
                    "P" => Action.Pass,
                    "B" => Action.Block,
                    "b" => Action.BlockUnlessUnrestricted,
                    "T" => Action.Extent,
                    "O" => Action.ExtentUnlessUnrestricted,
                    "S" => Action.Sequential,
                    _ => throw new InvalidOperationException(cells[c]),
                };
            }
        }
        return t;
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _list.Count;
            }
        }
    }

    /// <summary>Appends the command and decides whether it may run now.</summary>
    public OoaAdmission Admit(CommandContext ctx)
    {
        lock (_lock)
        {
            int index = _list.Count;
            var result = Evaluate(ctx, index, checkOverlap: true, out var blocker);
            if (result is OoaAdmission.Overlap or OoaAdmission.OverlapTag)
            {
                return result; // not queued
            }
            _list.Add(ctx);
            if (result == OoaAdmission.Blocked)
            {
                ctx.BlockedBy = blocker;
                ctx.Waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            return result;
        }
    }

    /// <summary>Removes a finished (or failed, or aborted) command and releases what waited for it.</summary>
    public void Complete(CommandContext ctx)
    {
        List<TaskCompletionSource>? wake = null;
        lock (_lock)
        {
            int index = _list.IndexOf(ctx);
            if (index < 0)
            {
                return;
            }
            _list.RemoveAt(index);
            ctx.BlockedBy = null;
            Reevaluate(ctx, ref wake);
        }
        Signal(wake);
    }

    public void SerSeqDone(CommandContext ctx)
    {
        if (_lun.Options.SerSeq == SerSeqMode.Off)
        {
            return; // ctl_serseq_done does nothing with serseq=off
        }
        List<TaskCompletionSource>? wake = null;
        lock (_lock)
        {
            if (ctx.SerSeqDoneFlag)
            {
                return;
            }
            ctx.SerSeqDoneFlag = true;
            Reevaluate(ctx, ref wake);
        }
        Signal(wake);
    }

    public void SetUnmapRanges(CommandContext ctx, IReadOnlyList<(ulong Lba, ulong Blocks)> ranges)
    {
        List<TaskCompletionSource>? wake = null;
        lock (_lock)
        {
            ctx.UnmapRanges = ranges;
            Reevaluate(ctx, ref wake);
        }
        Signal(wake);
    }

    /// <summary>Snapshot of the queued commands matching a predicate (task management).</summary>
    public List<CommandContext> Find(Func<CommandContext, bool> predicate)
    {
        var found = new List<CommandContext>();
        lock (_lock)
        {
            foreach (var c in _list)
            {
                if (predicate(c))
                {
                    found.Add(c);
                }
            }
        }
        return found;
    }

    /// <summary>
    /// Aborts a queued command: marks it, cancels its I/O and, if it was blocked, lets it run now (an aborted pending
    /// command is SKIPped by §11.1 step 1 and completes at once as aborted).
    /// </summary>
    public bool Abort(CommandContext ctx, bool report)
    {
        if (!ctx.MarkAborted(report))
        {
            return false;
        }
        ctx.CancelIo();
        TaskCompletionSource? waiter = null;
        lock (_lock)
        {
            if (ctx.BlockedBy is not null)
            {
                ctx.BlockedBy = null;
                waiter = ctx.Waiter;
            }
        }
        waiter?.TrySetResult();
        return true;
    }

    private void Reevaluate(CommandContext changed, ref List<TaskCompletionSource>? wake)
    {
        for (int i = 0; i < _list.Count; i++)
        {
            var waiting = _list[i];
            if (!ReferenceEquals(waiting.BlockedBy, changed))
            {
                continue;
            }
            var result = Evaluate(waiting, i, checkOverlap: false, out var blocker);
            if (result == OoaAdmission.Blocked)
            {
                waiting.BlockedBy = blocker;
            }
            else
            {
                waiting.BlockedBy = null;
                (wake ??= []).Add(waiting.Waiter!);
            }
        }
    }

    private static void Signal(List<TaskCompletionSource>? wake)
    {
        if (wake is null)
        {
            return;
        }
        foreach (var w in wake)
        {
            w.TrySetResult();
        }
    }

    /// <summary>ctl-ha.md §11.1: the decision for the command at <paramref name="index"/> against every older one.</summary>
    private OoaAdmission Evaluate(CommandContext pending, int index, bool checkOverlap, out CommandContext? blocker)
    {
        blocker = null;
        if (pending.IsAborted)
        {
            return OoaAdmission.Run;
        }
        if (pending.Attribute == TaskAttribute.Ordered && index > 0)
        {
            blocker = _list[index - 1];
            return OoaAdmission.Blocked;
        }
        // Newest to oldest; the first non-PASS result decides (overlaps with commands older than a blocker are
        // not looked for, as in CTL).
        for (int i = index - 1; i >= 0; i--)
        {
            var older = _list[i];
            if (checkOverlap && older.Nexus.Id == pending.Nexus.Id && !older.IsAborted)
            {
                bool pendingUntagged = pending.Attribute == TaskAttribute.Untagged;
                bool olderUntagged = older.Attribute == TaskAttribute.Untagged;
                if (pendingUntagged && olderUntagged)
                {
                    return OoaAdmission.Overlap;
                }
                if (!pendingUntagged && !olderUntagged && older.Task.Tag == pending.Task.Tag)
                {
                    return OoaAdmission.OverlapTag;
                }
            }
            if (pending.Attribute == TaskAttribute.HeadOfQueue)
            {
                continue;
            }
            if (older.Attribute is TaskAttribute.Ordered or TaskAttribute.HeadOfQueue || Decide(pending, older) == Action.Block)
            {
                blocker = older;
                return OoaAdmission.Blocked;
            }
        }
        return OoaAdmission.Run;
    }

    /// <summary>Table lookup plus the extent rules of §11.2; returns Pass or Block.</summary>
    private Action Decide(CommandContext pending, CommandContext older)
    {
        var newClass = pending.Command.Serialization;
        var oldClass = older.Command.Serialization;
        if (newClass == SerializationClass.None || oldClass == SerializationClass.None)
        {
            return Action.Pass;
        }
        bool unrestricted = _lun.Mode.QueueAlgorithmModifier == 1;
        switch (Table[(int)newClass, (int)oldClass])
        {
            case Action.Pass:
                return Action.Pass;
            case Action.Block:
                return Action.Block;
            case Action.BlockUnlessUnrestricted:
                return unrestricted ? Action.Pass : Action.Block;
            case Action.Extent:
            {
                if (!pending.HasExtent || !older.HasExtent)
                {
                    return Action.Block;
                }
                // serseq=on: adjacency counts as overlap until the older one's media read is done.
                ulong extra = _lun.Options.SerSeq == SerSeqMode.On && !older.SerSeqDoneFlag ? 1UL : 0UL;
                return Overlaps(older.Lba, older.Blocks + extra, pending.Lba, pending.Blocks) ? Action.Block : Action.Pass;
            }
            case Action.ExtentUnlessUnrestricted:
            {
                if (unrestricted)
                {
                    return Action.Pass;
                }
                if (older.UnmapRanges is not { } ranges || !pending.HasExtent)
                {
                    return Action.Block; // descriptors not received yet: the UNMAP covers the whole disk
                }
                foreach (var (lba, blocks) in ranges)
                {
                    if (Overlaps(lba, blocks, pending.Lba, pending.Blocks))
                    {
                        return Action.Block;
                    }
                }
                return Action.Pass;
            }
            case Action.Sequential:
            {
                if (_lun.Options.SerSeq == SerSeqMode.Off || older.SerSeqDoneFlag || !pending.HasExtent || !older.HasExtent)
                {
                    return Action.Pass;
                }
                return older.Lba + older.Blocks == pending.Lba ? Action.Block : Action.Pass;
            }
            default:
                return Action.Block;
        }
    }

    private static bool Overlaps(ulong lba1, ulong len1, ulong lba2, ulong len2)
    {
        if (len1 == 0 || len2 == 0)
        {
            return false;
        }
        ulong end1 = lba1 + len1 - 1;
        ulong end2 = lba2 + len2 - 1;
        return lba1 <= end2 && lba2 <= end1;
    }
}

namespace CtlHa.Core;

/// <summary>
/// Write coalescing across layers (TCP_CORK in spirit, in user space). A read loop that handles everything one socket
/// read delivered — several iSCSI commands, several interlink messages — runs that work inside a burst
/// (<see cref="Begin"/>). A connection whose writer is touched during the burst (<see cref="Touch"/>) is held: its
/// single writer keeps queueing instead of writing until the burst ends, so twenty responses leave in one send()
/// instead of twenty. Holding never reorders anything — messages still go into the writer's FIFO as they are made —
/// and never blocks a producer; it only delays the writer's next drain to the end of the burst.
/// </summary>
/// <remarks>
/// A burst lives on one thread and ends before that thread awaits anything (the read loops end it before an
/// incomplete await and begin a new one after), so a hold lasts as long as some synchronous work. Work that may
/// block — a flush to disk, a large write — calls <see cref="Release"/> first, so nothing waits behind a slow disk.
/// </remarks>
public static class OutputBurst
{
    [ThreadStatic]
    private static List<OutputCork>? t_held;

    [ThreadStatic]
    private static int t_depth;

    /// <summary>Starts a burst on this thread (nested calls join the outer one). Dispose the result to end it.</summary>
    public static Scope Begin()
    {
        t_depth++;
        return new Scope(Environment.CurrentManagedThreadId);
    }

    /// <summary>True while this thread is inside a burst.</summary>
    public static bool IsActive => t_depth > 0;

    /// <summary>Called by a writer's producer side: inside a burst, holds <paramref name="cork"/> until it ends.</summary>
    public static void Touch(OutputCork cork)
    {
        ArgumentNullException.ThrowIfNull(cork);
        if (t_depth == 0)
        {
            return;
        }

        var held = t_held ??= [];
        foreach (var c in held)
        {
            if (ReferenceEquals(c, cork))
            {
                return;
            }
        }

        cork.Hold();
        held.Add(cork);
    }

    /// <summary>
    /// Lets every writer this thread's burst holds write now (the burst goes on; later output is held again). For code
    /// about to block: fsync, large writes.
    /// </summary>
    public static void Release()
    {
        if (t_held is not { Count: > 0 } held)
        {
            return;
        }

        // Copy first: a writer released here may run inline and produce (and so Touch) on this thread.
        var corks = held.ToArray();
        held.Clear();
        foreach (var cork in corks)
        {
            cork.Unhold();
        }
    }

    /// <summary>One <see cref="Begin"/>; disposing it ends the burst (the outermost one releases the holds).</summary>
    public readonly struct Scope(int threadId) : IDisposable
    {
        public void Dispose()
        {
            if (threadId == 0)
            {
                return; // default(Scope): nothing begun
            }

            if (Environment.CurrentManagedThreadId != threadId || t_depth == 0)
            {
                // An await inside a burst: the holds would stay with a thread-pool thread. A bug in the caller.
                throw new InvalidOperationException("An output burst must end on the thread that began it, before any await.");
            }

            if (--t_depth == 0)
            {
                Release();
            }
        }
    }
}

/// <summary>
/// The hold state of one writer (see <see cref="OutputBurst"/>). The writer calls <see cref="WaitReleasedAsync"/>
/// before it drains its queue; <see cref="Flush"/> wakes it now whoever holds it (urgent output: heartbeats, state
/// sync, shutdown).
/// </summary>
public sealed class OutputCork
{
    private readonly Lock _lock = new();
    private int _holders;
    private TaskCompletionSource? _waiter;

    /// <summary>True while some burst holds this writer.</summary>
    public bool IsHeld => Volatile.Read(ref _holders) > 0;

    /// <summary>
    /// Completes when no burst holds the writer (at once if none does) or <see cref="Flush"/> is called. The writer's
    /// continuation runs on the thread that ends the burst: the drain happens there, without a thread hand-off.
    /// </summary>
    public ValueTask WaitReleasedAsync()
    {
        lock (_lock)
        {
            if (_holders == 0)
            {
                return ValueTask.CompletedTask;
            }

            _waiter ??= new TaskCompletionSource();
            return new ValueTask(_waiter.Task);
        }
    }

    /// <summary>Wakes a waiting writer now (the holds stay: the next drain waits again).</summary>
    public void Flush()
    {
        TaskCompletionSource? waiter;
        lock (_lock)
        {
            waiter = _waiter;
            _waiter = null;
        }

        waiter?.TrySetResult();
    }

    internal void Hold()
    {
        lock (_lock)
        {
            _holders++;
        }
    }

    internal void Unhold()
    {
        TaskCompletionSource? waiter = null;
        lock (_lock)
        {
            if (--_holders == 0)
            {
                waiter = _waiter;
                _waiter = null;
            }
        }

        waiter?.TrySetResult();
    }
}

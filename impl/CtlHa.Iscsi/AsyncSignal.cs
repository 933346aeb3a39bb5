using System.Threading.Tasks.Sources;

namespace CtlHa.Iscsi;

/// <summary>
/// A reusable, allocation-free awaitable for one waiter at a time (a command's Data-Out wait or Data-In hand-off).
/// Continuations run asynchronously so the read loop and the writer never run executor code inline.
/// </summary>
internal sealed class AsyncSignal : IValueTaskSource
{
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };

    /// <summary>Arms the signal; call before publishing that someone waits.</summary>
    public ValueTask Arm()
    {
        _core.Reset();
        return new ValueTask(this, _core.Version);
    }

    public void Set() => _core.SetResult(true);

    public void Fail(Exception exception) => _core.SetException(exception);

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}

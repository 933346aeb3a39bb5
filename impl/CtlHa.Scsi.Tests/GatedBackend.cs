using System.Collections.Concurrent;
using CtlHa.Scsi.Backends;

namespace CtlHa.Scsi.Tests;

/// <summary>
/// A real <see cref="MemoryBackend"/> whose operations can be held at chosen offsets, and which records when each
/// operation starts: lets ordering tests see which command reached the medium when.
/// </summary>
public sealed class GatedBackend(long sizeBytes) : IBlockBackend
{
    private readonly MemoryBackend _inner = new(sizeBytes);

    public long SizeBytes => _inner.SizeBytes;

    public bool IsThin => true;

    /// <summary>Operations ("R@offset", "W@offset", "U@offset") in the order they started.</summary>
    public ConcurrentQueue<string> Started { get; } = new();

    private readonly ConcurrentDictionary<string, TaskCompletionSource> _gates = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _startedSignals = new();

    /// <summary>Holds the next operation with this key ("R@0") until <see cref="Release"/>.</summary>
    public void Hold(string key) => _gates[key] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Release(string key)
    {
        if (_gates.TryRemove(key, out var gate))
        {
            gate.TrySetResult();
        }
    }

    public Task WhenStartedAsync(string key) => Signal(key).Task.WaitAsync(TimeSpan.FromSeconds(30));

    public bool HasStarted(string key) => Started.Contains(key);

    private TaskCompletionSource Signal(string key) =>
        _startedSignals.GetOrAdd(key, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    private async ValueTask EnterAsync(string key, CancellationToken cancellationToken)
    {
        Started.Enqueue(key);
        Signal(key).TrySetResult();
        if (_gates.TryGetValue(key, out var gate))
        {
            await gate.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask ReadAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        await EnterAsync($"R@{offset}", cancellationToken);
        await _inner.ReadAsync(offset, destination, cancellationToken);
    }

    public async ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> source, bool forceUnitAccess, CancellationToken cancellationToken)
    {
        await EnterAsync($"W@{offset}", cancellationToken);
        await _inner.WriteAsync(offset, source, forceUnitAccess, cancellationToken);
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    public async ValueTask UnmapAsync(long offset, long length, CancellationToken cancellationToken)
    {
        await EnterAsync($"U@{offset}", cancellationToken);
        await _inner.UnmapAsync(offset, length, cancellationToken);
    }

    public ValueTask<IReadOnlyList<AllocationExtent>> GetAllocationAsync(long offset, long length, CancellationToken cancellationToken) =>
        _inner.GetAllocationAsync(offset, length, cancellationToken);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

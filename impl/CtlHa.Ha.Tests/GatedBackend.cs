using CtlHa.Scsi.Backends;

namespace CtlHa.Ha.Tests;

/// <summary>A memory backend whose reads can be held (a slow disk), to keep a command in flight.</summary>
public sealed class GatedBackend(long sizeBytes) : IBlockBackend
{
    private readonly MemoryBackend _inner = new(sizeBytes);

    public TaskCompletionSource? ReadGate { get; set; }

    public TaskCompletionSource ReadStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public long SizeBytes => _inner.SizeBytes;

    public bool IsThin => _inner.IsThin;

    public async ValueTask ReadAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        ReadStarted.TrySetResult();
        if (ReadGate is { } gate)
        {
            await gate.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        await _inner.ReadAsync(offset, destination, cancellationToken).ConfigureAwait(false);
    }

    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> source, bool forceUnitAccess, CancellationToken cancellationToken) =>
        _inner.WriteAsync(offset, source, forceUnitAccess, cancellationToken);

    public ValueTask FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    public ValueTask UnmapAsync(long offset, long length, CancellationToken cancellationToken) => _inner.UnmapAsync(offset, length, cancellationToken);

    public ValueTask<IReadOnlyList<AllocationExtent>> GetAllocationAsync(long offset, long length, CancellationToken cancellationToken) =>
        _inner.GetAllocationAsync(offset, length, cancellationToken);

    public ValueTask DisposeAsync() => _inner.DisposeAsync();
}

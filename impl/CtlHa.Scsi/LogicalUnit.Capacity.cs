namespace CtlHa.Scsi;

// Online capacity change (SPC-5 2A/09 CAPACITY DATA HAS CHANGED).
public sealed partial class LogicalUnit
{
    private readonly SemaphoreSlim _resizeLock = new(1, 1);

    /// <summary>
    /// Grows the LU to <paramref name="blockCount"/> blocks at run time: the backend grows first (a file sparsely), then
    /// READ CAPACITY, range checks and block limits use the new size and every I_T nexus gets 2A/09. Shrinking is refused
    /// (<see cref="InvalidOperationException"/>): commands already past their range check could still address the blocks
    /// that would go, and initiators do not expect a disk to lose its tail. Returns false when the size is unchanged.
    /// </summary>
    public ValueTask<bool> ResizeAsync(long blockCount, CancellationToken cancellationToken = default) =>
        ResizeCoreAsync(blockCount, adopt: false, cancellationToken);

    /// <summary>
    /// Takes the capacity an HA primary announced (LunSync), in either direction: the store is grown when shorter and
    /// never truncated (the primary owns it). Raises 2A/09 for every local nexus when the size changes.
    /// </summary>
    public ValueTask<bool> AdoptCapacityAsync(long blockCount, CancellationToken cancellationToken = default) =>
        ResizeCoreAsync(blockCount, adopt: true, cancellationToken);

    /// <summary>Raised after the capacity changed (either way), with the UAs already set.</summary>
    public event Action<LogicalUnit>? CapacityChanged;

    private async ValueTask<bool> ResizeCoreAsync(long blockCount, bool adopt, CancellationToken cancellationToken)
    {
        if (blockCount <= 0 || blockCount > long.MaxValue / BlockSize)
        {
            throw new ArgumentOutOfRangeException(nameof(blockCount), $"LUN {LunId}: {blockCount} blocks is not a capacity");
        }
        await _resizeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            long current = BlockCount;
            if (blockCount == current)
            {
                return false;
            }
            if (blockCount < current && !adopt)
            {
                throw new InvalidOperationException(
                    $"LUN {LunId}: shrinking from {current} to {blockCount} blocks is not supported (only growing is)");
            }
            await Backend.ResizeAsync(blockCount * BlockSize, cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _blockCount, blockCount);
            Mode.SetCapacity(blockCount);
        }
        finally
        {
            _resizeLock.Release();
        }
        if (Engine is not null)
        {
            EstablishUnitAttentionForAll(UnitAttention.CapacityChange);
        }
        CapacityChanged?.Invoke(this);
        return true;
    }
}

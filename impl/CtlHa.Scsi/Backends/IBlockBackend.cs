namespace CtlHa.Scsi.Backends;

/// <summary>
/// Byte-addressed storage behind a logical unit (CTL's "backend"). Offsets and lengths are in bytes;
/// the engine only issues block-aligned requests. Implementations must allow concurrent calls
/// (the engine's OOA queue orders conflicting commands, the backend does not).
/// </summary>
public interface IBlockBackend : IAsyncDisposable
{
    /// <summary>Capacity in bytes.</summary>
    long SizeBytes { get; }

    /// <summary>True when unmapped ranges are deallocated (thin provisioning, LBPME=1) and read back as zeros.</summary>
    bool IsThin { get; }

    ValueTask ReadAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken);

    /// <param name="forceUnitAccess">FUA: the data is on stable storage when the call completes.</param>
    ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> source, bool forceUnitAccess, CancellationToken cancellationToken);

    /// <summary>Makes all completed writes stable (SYNCHRONIZE CACHE).</summary>
    ValueTask FlushAsync(CancellationToken cancellationToken);

    /// <summary>Deallocates a range; it reads back as zeros afterwards.</summary>
    ValueTask UnmapAsync(long offset, long length, CancellationToken cancellationToken);

    /// <summary>
    /// Describes [offset, offset+length) as consecutive extents, each mapped or deallocated, covering the range
    /// exactly (GET LBA STATUS).
    /// </summary>
    ValueTask<IReadOnlyList<AllocationExtent>> GetAllocationAsync(long offset, long length, CancellationToken cancellationToken);

    /// <summary>
    /// Changes the capacity (online LUN resize). A larger one grows the store (a file sparsely, with ftruncate); a
    /// smaller one only lowers <see cref="SizeBytes"/> and never truncates: the bytes beyond stay in the store (an HA
    /// peer adopting the primary's capacity must not destroy data the primary owns). Stores that cannot change size
    /// keep the default, which refuses.
    /// </summary>
    ValueTask ResizeAsync(long sizeBytes, CancellationToken cancellationToken) =>
        ValueTask.FromException(new NotSupportedException($"{GetType().Name} cannot change its capacity"));
}

/// <summary>One run of bytes that are all mapped or all deallocated.</summary>
public readonly record struct AllocationExtent(long Offset, long Length, bool Mapped);

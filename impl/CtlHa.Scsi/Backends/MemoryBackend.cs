namespace CtlHa.Scsi.Backends;

/// <summary>
/// RAM disk made of lazily allocated 64 KiB chunks: an untouched or fully unmapped chunk holds no memory and
/// reports as deallocated, so thin provisioning behaves like a sparse file.
/// </summary>
public sealed class MemoryBackend : IBlockBackend
{
    public const int ChunkSize = 64 * 1024;

    private readonly byte[]?[] _chunks;
    private readonly Lock _allocLock = new();

    public MemoryBackend(long sizeBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sizeBytes);
        SizeBytes = sizeBytes;
        _chunks = new byte[]?[(sizeBytes + ChunkSize - 1) / ChunkSize];
    }

    public long SizeBytes { get; }

    public bool IsThin => true;

    public ValueTask ReadAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var dst = destination.Span;
        while (!dst.IsEmpty)
        {
            int index = (int)(offset / ChunkSize);
            int inChunk = (int)(offset % ChunkSize);
            int n = Math.Min(dst.Length, ChunkSize - inChunk);
            byte[]? chunk = Volatile.Read(ref _chunks[index]);
            if (chunk is null)
            {
                dst[..n].Clear();
            }
            else
            {
                chunk.AsSpan(inChunk, n).CopyTo(dst);
            }
            dst = dst[n..];
            offset += n;
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> source, bool forceUnitAccess, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var src = source.Span;
        while (!src.IsEmpty)
        {
            int index = (int)(offset / ChunkSize);
            int inChunk = (int)(offset % ChunkSize);
            int n = Math.Min(src.Length, ChunkSize - inChunk);
            byte[] chunk = Volatile.Read(ref _chunks[index]) ?? Allocate(index);
            src[..n].CopyTo(chunk.AsSpan(inChunk, n));
            src = src[n..];
            offset += n;
        }
        return ValueTask.CompletedTask;
    }

    private byte[] Allocate(int index)
    {
        lock (_allocLock)
        {
            return _chunks[index] ??= new byte[ChunkSize];
        }
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask UnmapAsync(long offset, long length, CancellationToken cancellationToken)
    {
        long end = offset + length;
        while (offset < end)
        {
            int index = (int)(offset / ChunkSize);
            int inChunk = (int)(offset % ChunkSize);
            int n = (int)Math.Min(end - offset, ChunkSize - inChunk);
            if (inChunk == 0 && n == ChunkSize)
            {
                lock (_allocLock)
                {
                    _chunks[index] = null;
                }
            }
            else if (Volatile.Read(ref _chunks[index]) is { } chunk)
            {
                chunk.AsSpan(inChunk, n).Clear();
            }
            offset += n;
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyList<AllocationExtent>> GetAllocationAsync(long offset, long length, CancellationToken cancellationToken)
    {
        var list = new List<AllocationExtent>();
        long end = offset + length;
        while (offset < end)
        {
            int index = (int)(offset / ChunkSize);
            long chunkEnd = Math.Min(end, ((long)index + 1) * ChunkSize);
            bool mapped = Volatile.Read(ref _chunks[index]) is not null;
            long n = chunkEnd - offset;
            if (list.Count > 0 && list[^1].Mapped == mapped)
            {
                list[^1] = list[^1] with { Length = list[^1].Length + n };
            }
            else
            {
                list.Add(new AllocationExtent(offset, n, mapped));
            }
            offset = chunkEnd;
        }
        return ValueTask.FromResult<IReadOnlyList<AllocationExtent>>(list);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

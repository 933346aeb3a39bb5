using System.Runtime.InteropServices;
using CtlHa.Core;
using Microsoft.Win32.SafeHandles;

namespace CtlHa.Scsi.Backends;

/// <summary>
/// A sparse regular file. Positional I/O through <see cref="RandomAccess"/> on one <see cref="SafeFileHandle"/>
/// (no stream, no shared file position, no copies). UNMAP punches holes (fallocate PUNCH_HOLE|KEEP_SIZE) on Linux
/// and writes zeros elsewhere; GET LBA STATUS walks holes with lseek SEEK_DATA/SEEK_HOLE.
/// </summary>
public sealed class FileBackend : IBlockBackend
{
    private const int ZeroChunk = 1 << 20;

    private readonly SafeFileHandle _handle;
    private bool _punchHoleWorks = OperatingSystem.IsLinux();
    private bool _seekHoleWorks = OperatingSystem.IsLinux();

    private FileBackend(SafeFileHandle handle, long sizeBytes, bool inlineIo)
    {
        _handle = handle;
        _sizeBytes = sizeBytes;
        _inlineIo = inlineIo;
    }

    private readonly bool _inlineIo;

    private long _sizeBytes;

    public long SizeBytes => Volatile.Read(ref _sizeBytes);

    public bool IsThin => true;

    public string? Path { get; private init; }

    /// <summary>
    /// Opens (or creates) <paramref name="path"/>. A new file, or one shorter than <paramref name="sizeBytes"/>, is
    /// extended sparsely to that size; without a size the file's length is the capacity.
    /// </summary>
    /// <param name="inlineIo">
    /// Issue pread/pwrite on the calling thread instead of RandomAccess's thread-pool hop. Faster when the file is
    /// mostly in the page cache (a hit costs microseconds, the hop more); a slow disk then blocks the caller.
    /// </param>
    public static FileBackend Open(string path, long? sizeBytes = null, bool inlineIo = false)
    {
        var handle = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, FileOptions.None);
        try
        {
            long length = RandomAccess.GetLength(handle);
            if (sizeBytes is { } wanted && length < wanted)
            {
                RandomAccess.SetLength(handle, wanted); // ftruncate: sparse
                length = wanted;
            }
            if (length <= 0)
            {
                throw new ArgumentException($"Backing file '{path}' is empty and no size was given.", nameof(sizeBytes));
            }
            return new FileBackend(handle, sizeBytes ?? length, inlineIo) { Path = path };
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Writes larger than this (or with FUA) first release the caller's output burst (<see cref="OutputBurst"/>).</summary>
    private const int SlowWriteBytes = 64 * 1024;

    public ValueTask ReadAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        if (!_inlineIo)
        {
            return ReadExactAsync(offset, destination, cancellationToken);
        }
        cancellationToken.ThrowIfCancellationRequested();
        var span = destination.Span;
        while (!span.IsEmpty)
        {
            int n = RandomAccess.Read(_handle, span, offset);
            if (n == 0)
            {
                span.Clear();
                break;
            }
            span = span[n..];
            offset += n;
        }
        return ValueTask.CompletedTask;
    }

    private async ValueTask ReadExactAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        while (!destination.IsEmpty)
        {
            int n = await RandomAccess.ReadAsync(_handle, destination, offset, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                // Past EOF of a file shorter than the configured size: reads as zeros.
                destination.Span.Clear();
                return;
            }
            destination = destination[n..];
            offset += n;
        }
    }

    public async ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> source, bool forceUnitAccess, CancellationToken cancellationToken)
    {
        if (forceUnitAccess || source.Length > SlowWriteBytes)
        {
            OutputBurst.Release(); // may block on the disk: responses already made go out first
        }
        if (_inlineIo)
        {
            cancellationToken.ThrowIfCancellationRequested();
            RandomAccess.Write(_handle, source.Span, offset);
        }
        else
        {
            await RandomAccess.WriteAsync(_handle, source, offset, cancellationToken).ConfigureAwait(false);
        }
        if (forceUnitAccess)
        {
            RandomAccess.FlushToDisk(_handle);
        }
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        OutputBurst.Release(); // fsync may take long: responses already made go out first
        RandomAccess.FlushToDisk(_handle);
        return ValueTask.CompletedTask;
    }

    public async ValueTask UnmapAsync(long offset, long length, CancellationToken cancellationToken)
    {
        OutputBurst.Release(); // hole punching may take long
        if (length <= 0)
        {
            return;
        }
        if (_punchHoleWorks)
        {
            if (NativeMethods.Fallocate(_handle, NativeMethods.FallocFlPunchHole | NativeMethods.FallocFlKeepSize, offset, length) == 0)
            {
                return;
            }
            // EOPNOTSUPP on file systems without hole punching: fall back to zeros from now on.
            _punchHoleWorks = false;
        }
        byte[] zeros = new byte[(int)Math.Min(length, ZeroChunk)];
        while (length > 0)
        {
            int n = (int)Math.Min(length, zeros.Length);
            await RandomAccess.WriteAsync(_handle, zeros.AsMemory(0, n), offset, cancellationToken).ConfigureAwait(false);
            offset += n;
            length -= n;
        }
    }

    public ValueTask<IReadOnlyList<AllocationExtent>> GetAllocationAsync(long offset, long length, CancellationToken cancellationToken)
    {
        var result = new List<AllocationExtent>();
        long end = offset + length;
        if (!_seekHoleWorks)
        {
            result.Add(new AllocationExtent(offset, length, true));
            return ValueTask.FromResult<IReadOnlyList<AllocationExtent>>(result);
        }
        long fileLength = RandomAccess.GetLength(_handle);
        long pos = offset;
        while (pos < end)
        {
            if (pos >= fileLength)
            {
                Add(result, pos, end - pos, mapped: false);
                break;
            }
            long data = NativeMethods.Lseek(_handle, pos, NativeMethods.SeekData);
            if (data < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno != NativeMethods.Enxio)
                {
                    // SEEK_DATA unsupported: report everything mapped (always true, merely not thin-aware).
                    _seekHoleWorks = false;
                    result.Clear();
                    result.Add(new AllocationExtent(offset, length, true));
                    return ValueTask.FromResult<IReadOnlyList<AllocationExtent>>(result);
                }
                data = end; // no data after pos
            }
            if (data > pos)
            {
                long holeEnd = Math.Min(data, end);
                Add(result, pos, holeEnd - pos, mapped: false);
                pos = holeEnd;
                continue;
            }
            long hole = NativeMethods.Lseek(_handle, pos, NativeMethods.SeekHole);
            if (hole < 0 || hole <= pos)
            {
                hole = end;
            }
            long dataEnd = Math.Min(hole, end);
            Add(result, pos, dataEnd - pos, mapped: true);
            pos = dataEnd;
        }
        return ValueTask.FromResult<IReadOnlyList<AllocationExtent>>(result);
    }

    /// <summary>Grows the file sparsely (ftruncate) when it is shorter than the new capacity; never truncates it.</summary>
    public ValueTask ResizeAsync(long sizeBytes, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sizeBytes);
        cancellationToken.ThrowIfCancellationRequested();
        if (RandomAccess.GetLength(_handle) < sizeBytes)
        {
            RandomAccess.SetLength(_handle, sizeBytes);
        }
        Volatile.Write(ref _sizeBytes, sizeBytes);
        return ValueTask.CompletedTask;
    }

    private static void Add(List<AllocationExtent> list, long offset, long length, bool mapped)
    {
        if (length <= 0)
        {
            return;
        }
        if (list.Count > 0 && list[^1] is var last && last.Mapped == mapped && last.Offset + last.Length == offset)
        {
            list[^1] = last with { Length = last.Length + length };
            return;
        }
        list.Add(new AllocationExtent(offset, length, mapped));
    }

    public ValueTask DisposeAsync()
    {
        _handle.Dispose();
        return ValueTask.CompletedTask;
    }
}

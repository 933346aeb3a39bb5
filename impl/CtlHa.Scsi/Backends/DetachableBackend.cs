namespace CtlHa.Scsi.Backends;

/// <summary>
/// A backing store that an HA node opens only while it may touch the medium (ctl-ha.md §5.1, §7.3): in standby and
/// proxy mode the secondary never does I/O on it, so it keeps it closed and promotion opens it. Capacity and
/// provisioning are known while closed (the LUN's identity must not change). I/O while closed — a command that passed
/// the ALUA gate just before a demotion — throws <see cref="BackendDetachedException"/>; <see cref="CloseAsync"/> waits
/// for the I/O already under way.
/// </summary>
public sealed class DetachableBackend : IBlockBackend
{
    private readonly Func<IBlockBackend> _open;
    private readonly SemaphoreSlim _transition = new(1, 1);
    private IBlockBackend? _inner;
    private int _inFlight;

    /// <param name="opened">The store, open: its capacity and provisioning are what this reports, open or closed.</param>
    /// <param name="reopen">Opens the store again (e.g. <see cref="FileBackend.Open"/>) on every <see cref="Open"/> after a close.</param>
    public DetachableBackend(IBlockBackend opened, Func<IBlockBackend> reopen)
    {
        ArgumentNullException.ThrowIfNull(opened);
        ArgumentNullException.ThrowIfNull(reopen);
        _sizeBytes = opened.SizeBytes;
        IsThin = opened.IsThin;
        _inner = opened;
        _open = reopen;
    }

    private long _sizeBytes;
    private bool _resizedWhileClosed;

    /// <summary>The LUN's capacity: the store's when opened, then what <see cref="ResizeAsync"/> set (open or closed).</summary>
    public long SizeBytes => Volatile.Read(ref _sizeBytes);

    public bool IsThin { get; }

    public bool IsOpen => Volatile.Read(ref _inner) is not null;

    /// <summary>Opens the store if closed. Throws what the opener throws (the LUN then stays closed).</summary>
    public void Open()
    {
        _transition.Wait();
        try
        {
            if (_inner is not null)
            {
                return;
            }
            var inner = _open();
            if (inner.SizeBytes < SizeBytes && _resizedWhileClosed)
            {
                // The LUN grew while this node had the store closed (the primary resized it): a shared file is already
                // that long; a store of its own is extended the same way (sparse) rather than refused.
                inner.ResizeAsync(SizeBytes, CancellationToken.None).AsTask().GetAwaiter().GetResult();
            }
            if (inner.SizeBytes != SizeBytes)
            {
                inner.DisposeAsync().AsTask().GetAwaiter().GetResult();
                throw new IOException($"the backing store now has {inner.SizeBytes} bytes, the LUN {SizeBytes}");
            }
            Volatile.Write(ref _inner, inner);
            _resizedWhileClosed = false;
        }
        finally
        {
            _transition.Release();
        }
    }

    /// <summary>Closes the store once the I/O under way has finished; new I/O fails from the moment this is called.</summary>
    public async ValueTask CloseAsync()
    {
        await _transition.WaitAsync().ConfigureAwait(false);
        try
        {
            var inner = Interlocked.Exchange(ref _inner, null);
            if (inner is null)
            {
                return;
            }
            // Bounded: I/O ends or fails on its own; a command cannot hold the store for long.
            for (int i = 0; Volatile.Read(ref _inFlight) > 0 && i < 30_000; i++)
            {
                await Task.Delay(1).ConfigureAwait(false);
            }
            await inner.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            await inner.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            _transition.Release();
        }
    }

    /// <summary>
    /// Changes the capacity. Open: the store is resized. Closed (a standby/proxy secondary adopting the primary's
    /// capacity): only the size changes, and the next <see cref="Open"/> expects it (growing a shorter store to it).
    /// </summary>
    public async ValueTask ResizeAsync(long sizeBytes, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sizeBytes);
        await _transition.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_inner is { } inner)
            {
                await inner.ResizeAsync(sizeBytes, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                _resizedWhileClosed = true;
            }
            Volatile.Write(ref _sizeBytes, sizeBytes);
        }
        finally
        {
            _transition.Release();
        }
    }

    public ValueTask ReadAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        var inner = Enter();
        ValueTask operation;
        try
        {
            operation = inner.ReadAsync(offset, destination, cancellationToken);
        }
        catch
        {
            Interlocked.Decrement(ref _inFlight);
            throw;
        }
        return Track(operation);
    }

    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> source, bool forceUnitAccess, CancellationToken cancellationToken)
    {
        var inner = Enter();
        ValueTask operation;
        try
        {
            operation = inner.WriteAsync(offset, source, forceUnitAccess, cancellationToken);
        }
        catch
        {
            Interlocked.Decrement(ref _inFlight);
            throw;
        }
        return Track(operation);
    }

    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        var inner = Enter();
        try
        {
            await inner.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    public async ValueTask UnmapAsync(long offset, long length, CancellationToken cancellationToken)
    {
        var inner = Enter();
        try
        {
            await inner.UnmapAsync(offset, length, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    public async ValueTask<IReadOnlyList<AllocationExtent>> GetAllocationAsync(long offset, long length, CancellationToken cancellationToken)
    {
        var inner = Enter();
        try
        {
            return await inner.GetAllocationAsync(offset, length, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await CloseAsync().ConfigureAwait(false);
        _transition.Dispose();
    }

    private IBlockBackend Enter()
    {
        Interlocked.Increment(ref _inFlight);
        if (Volatile.Read(ref _inner) is { } inner)
        {
            return inner;
        }
        Interlocked.Decrement(ref _inFlight);
        throw new BackendDetachedException();
    }

    /// <summary>Counts the operation out when it ends; synchronous completions (the common, cached case) allocate nothing.</summary>
    private ValueTask Track(ValueTask operation)
    {
        if (operation.IsCompletedSuccessfully)
        {
            Interlocked.Decrement(ref _inFlight);
            return default;
        }
        return Awaited(operation);
    }

    private async ValueTask Awaited(ValueTask operation)
    {
        try
        {
            await operation.ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }
}

/// <summary>I/O on a <see cref="DetachableBackend"/> that is closed (this node is no longer primary for the LUN).</summary>
public sealed class BackendDetachedException() : IOException("the backing store is closed: this node is not primary for the LUN");

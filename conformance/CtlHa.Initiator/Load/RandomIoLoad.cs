using System.Diagnostics;
using CtlHa.Initiator.Scsi;

namespace CtlHa.Initiator.Load;

/// <summary>The result of a bounded random I/O run.</summary>
public sealed record IoLoadResult(long Operations, long Reads, long Writes, long NotGood, TimeSpan Elapsed)
{
    public double Iops => Elapsed > TimeSpan.Zero ? Operations / Elapsed.TotalSeconds : 0;

    public override string ToString() => $"{Operations} ops ({Reads} reads, {Writes} writes, {NotGood} not GOOD) in {Elapsed.TotalSeconds:F2}s = {Iops:F0} IOPS";
}

/// <summary>
/// A tiny load generator for benchmarks: <c>queueDepth</c> workers issue random READ (16)/WRITE (16) of
/// <c>blockSize</c> bytes until <c>maxOperations</c> are done or <c>duration</c> has passed, whichever first.
/// Both bounds are mandatory so a run can never go on forever.
/// </summary>
public static class RandomIoLoad
{
    public static async Task<IoLoadResult> RunAsync(
        IscsiInitiatorSession session,
        int lun,
        int blockSize,
        int queueDepth,
        double readFraction,
        long maxOperations,
        TimeSpan duration,
        CancellationToken cancellationToken,
        int seed = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(queueDepth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxOperations, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(duration, TimeSpan.Zero);
        if (readFraction is < 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(readFraction), "Must be within 0..1.");
        }

        var capacity = await session.GetCapacityAsync(lun, cancellationToken)
                       ?? throw new InvalidOperationException($"READ CAPACITY (16) failed on LUN {lun}.");
        if (blockSize <= 0 || blockSize % capacity.BlockLength != 0)
        {
            throw new ArgumentException($"Block size {blockSize} is not a multiple of the LUN's {capacity.BlockLength}-byte blocks.", nameof(blockSize));
        }

        var blocksPerIo = (uint)(blockSize / capacity.BlockLength);
        var slots = (long)(capacity.Blocks / blocksPerIo);
        if (slots < 1)
        {
            throw new ArgumentException("The LUN is smaller than one I/O.", nameof(blockSize));
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(duration);
        long issued = 0, reads = 0, writes = 0, notGood = 0;
        var stopwatch = Stopwatch.StartNew();

        async Task WorkerAsync(int worker)
        {
            var random = new Random(seed * 7919 + worker);
            var payload = new byte[blockSize];
            random.NextBytes(payload);
            while (!deadline.IsCancellationRequested && Interlocked.Increment(ref issued) <= maxOperations)
            {
                var lba = (ulong)random.NextInt64(slots) * blocksPerIo;
                var read = random.NextDouble() < readFraction;
                ScsiResponse response;
                try
                {
                    response = read
                        ? await session.Read16Async(lun, lba, blocksPerIo, (int)capacity.BlockLength, cancellationToken)
                        : await session.Write16Async(lun, lba, payload, (int)capacity.BlockLength, cancellationToken);
                }
                catch (IscsiTimeoutException) when (deadline.IsCancellationRequested)
                {
                    return;
                }

                Interlocked.Increment(ref read ? ref reads : ref writes);
                if (!response.IsGood)
                {
                    Interlocked.Increment(ref notGood);
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, queueDepth).Select(WorkerAsync));
        stopwatch.Stop();
        var done = Interlocked.Read(ref reads) + Interlocked.Read(ref writes);
        return new IoLoadResult(done, reads, writes, notGood, stopwatch.Elapsed);
    }
}

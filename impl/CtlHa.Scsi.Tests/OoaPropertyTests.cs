using CtlHa.Core;
using CtlHa.Scsi.Backends;
using FsCheck.Xunit;

namespace CtlHa.Scsi.Tests;

/// <summary>
/// Property: whatever the backend's timing, commands on overlapping blocks take effect in arrival order, so every
/// READ sees exactly the writes issued before it and the final medium equals the sequential result (§11.2 xT rules).
/// </summary>
public sealed class OoaPropertyTests
{
    /// <summary>A memory backend that yields or sleeps at random so concurrent commands interleave.</summary>
    private sealed class JitterBackend(long size, int seed) : IBlockBackend
    {
        private readonly MemoryBackend _inner = new(size);
        private readonly Random _random = new(seed);
        private readonly Lock _lock = new();

        public long SizeBytes => _inner.SizeBytes;

        public bool IsThin => true;

        private async ValueTask JitterAsync()
        {
            int r;
            lock (_lock)
            {
                r = _random.Next(4);
            }
            if (r == 0)
            {
                await Task.Delay(1);
            }
            else if (r == 1)
            {
                await Task.Yield();
            }
        }

        public async ValueTask ReadAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken)
        {
            await JitterAsync();
            await _inner.ReadAsync(offset, destination, cancellationToken);
        }

        public async ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> source, bool forceUnitAccess, CancellationToken cancellationToken)
        {
            await JitterAsync();
            await _inner.WriteAsync(offset, source, forceUnitAccess, cancellationToken);
        }

        public ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask UnmapAsync(long offset, long length, CancellationToken cancellationToken) => _inner.UnmapAsync(offset, length, cancellationToken);

        public ValueTask<IReadOnlyList<AllocationExtent>> GetAllocationAsync(long offset, long length, CancellationToken cancellationToken) =>
            _inner.GetAllocationAsync(offset, length, cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    [Property(MaxTest = 40)]
    public async Task<bool> Concurrent_overlapping_commands_take_effect_in_arrival_order(int seed, bool serseqOn)
    {
        const int Blocks = 32;
        const int Bs = 512;
        var random = new Random(seed);
        var h = await Harness.ReadyAsync(sizeBytes: Blocks * Bs,
            options: new LogicalUnitOptions { SerSeq = serseqOn ? SerSeqMode.On : SerSeqMode.Read },
            backend: size => new JitterBackend(size, seed));
        byte[] model = new byte[Blocks * Bs];
        var running = new List<(Task<ScsiOutcome> Task, TestChannel Channel, byte[]? Expected)>();
        int count = random.Next(2, 14);
        for (int i = 0; i < count; i++)
        {
            uint lba = (uint)random.Next(Blocks);
            ushort len = (ushort)random.Next(1, Math.Min(8, Blocks - (int)lba) + 1);
            var attr = random.Next(6) == 0 ? TaskAttribute.Ordered : TaskAttribute.Simple;
            if (random.Next(3) == 0)
            {
                var channel = new TestChannel();
                byte[] expected = model.AsSpan((int)lba * Bs, len * Bs).ToArray();
                running.Add((h.Engine.ExecuteAsync(h.Task(Cdbs.Read10(lba, len), channel, attr: attr), CancellationToken.None).AsTask(), channel, expected));
            }
            else
            {
                byte[] data = Cdbs.Pattern(len * Bs, random.Next());
                data.CopyTo(model, (int)lba * Bs);
                var channel = new TestChannel(data);
                running.Add((h.Engine.ExecuteAsync(h.Task(Cdbs.Write10(lba, len), channel, attr: attr), CancellationToken.None).AsTask(), channel, null));
            }
        }
        await Task.WhenAll(running.Select(r => r.Task)).WaitAsync(TimeSpan.FromSeconds(20));
        foreach (var (task, channel, expected) in running)
        {
            if (task.Result.Status != ScsiStatus.Good || (expected is not null && !expected.AsSpan().SequenceEqual(channel.DataIn)))
            {
                return false;
            }
        }
        var (_, final) = await h.RunAsync(Cdbs.Read10(0, Blocks));
        return final.AsSpan().SequenceEqual(model) && h.Lun0.ActiveCommandCount == 0;
    }
}

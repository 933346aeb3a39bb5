using CtlHa.Core;
using CtlHa.Scsi.Backends;

namespace CtlHa.Scsi.Tests;

/// <summary>The store an HA secondary keeps closed, and what a command sees when the store fails or is closed.</summary>
public sealed class DetachableBackendTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"ctlha-detach-{Guid.NewGuid():N}.img");

    public void Dispose() => File.Delete(_path);

    private DetachableBackend OpenStore() =>
        new(FileBackend.Open(_path, 1 << 20), () => FileBackend.Open(_path));

    [Fact]
    public async Task Closed_store_refuses_io_keeps_its_size_and_reopens_with_the_data()
    {
        await using var store = OpenStore();
        await store.WriteAsync(4096, new byte[] { 1, 2, 3 }, false, CancellationToken.None);
        await store.CloseAsync();
        Assert.False(store.IsOpen);
        Assert.Equal(1 << 20, store.SizeBytes);
        await Assert.ThrowsAsync<BackendDetachedException>(() => store.ReadAsync(0, new byte[512], CancellationToken.None).AsTask());
        await Assert.ThrowsAsync<BackendDetachedException>(() => store.WriteAsync(0, new byte[512], false, CancellationToken.None).AsTask());

        store.Open();
        var back = new byte[3];
        await store.ReadAsync(4096, back, CancellationToken.None);
        Assert.Equal(new byte[] { 1, 2, 3 }, back);
    }

    [Fact]
    public async Task A_closed_store_leaves_the_file_free_and_refuses_to_reopen_a_file_of_another_size()
    {
        await using var store = OpenStore();
        await store.CloseAsync();
        using (var f = File.Open(_path, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            f.SetLength(2 << 20); // an operator grew the file while this node was secondary
        }
        Assert.Throws<IOException>(store.Open);
        Assert.False(store.IsOpen);
    }

    [Fact]
    public async Task Close_waits_for_the_io_under_way()
    {
        var gated = new GatedBackend(1 << 20);
        await using var store = new DetachableBackend(gated, () => throw new InvalidOperationException("not reopened here"));
        gated.Hold("R@0");
        var read = store.ReadAsync(0, new byte[512], CancellationToken.None).AsTask();
        await gated.WhenStartedAsync("R@0");
        var close = store.CloseAsync().AsTask();
        await Task.Delay(50);
        Assert.False(close.IsCompleted); // the read still holds the store
        Assert.False(store.IsOpen); // but nothing new gets in
        gated.Release("R@0");
        await read.WaitAsync(TimeSpan.FromSeconds(10));
        await close.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_command_on_a_closed_store_reports_an_asymmetric_access_state_transition()
    {
        var store = OpenStore();
        var h = await Harness.ReadyAsync(backend: _ => store);
        await store.CloseAsync();
        OutcomeAssert.Check((await h.RunAsync(Cdbs.Read10(0, 1))).Outcome, SenseKey.NotReady, 0x04, 0x0A);
        store.Open();
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Read10(0, 1))).Outcome);
    }

    [Fact]
    public async Task A_failing_store_gives_medium_errors_not_a_dropped_command()
    {
        var h = await Harness.ReadyAsync(backend: size => new FailingBackend(size));
        OutcomeAssert.Check((await h.RunAsync(Cdbs.Read10(0, 1))).Outcome, SenseKey.MediumError, 0x11, 0x00);
        OutcomeAssert.Check((await h.RunAsync(Cdbs.Write10(0, 1), new byte[512])).Outcome, SenseKey.MediumError, 0x0C, 0x00);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Read10(1, 1))).Outcome); // only LBA 0 is bad
    }

    /// <summary>A memory store whose first block fails with EIO, as a disk with a bad sector.</summary>
    private sealed class FailingBackend(long size) : IBlockBackend
    {
        private readonly MemoryBackend _inner = new(size);

        public long SizeBytes => _inner.SizeBytes;

        public bool IsThin => _inner.IsThin;

        public ValueTask ReadAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken) =>
            offset < 512 ? ValueTask.FromException(new IOException("EIO")) : _inner.ReadAsync(offset, destination, cancellationToken);

        public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> source, bool forceUnitAccess, CancellationToken cancellationToken) =>
            offset < 512 ? ValueTask.FromException(new IOException("EIO")) : _inner.WriteAsync(offset, source, forceUnitAccess, cancellationToken);

        public ValueTask FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

        public ValueTask UnmapAsync(long offset, long length, CancellationToken cancellationToken) => _inner.UnmapAsync(offset, length, cancellationToken);

        public ValueTask<IReadOnlyList<AllocationExtent>> GetAllocationAsync(long offset, long length, CancellationToken cancellationToken) =>
            _inner.GetAllocationAsync(offset, length, cancellationToken);

        public ValueTask DisposeAsync() => _inner.DisposeAsync();
    }
}

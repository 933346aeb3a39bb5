using CtlHa.Core;

namespace CtlHa.Scsi.Tests;

/// <summary>Order-of-arrival queue: ctl-ha.md §11.1 checks, §11.2 table and the serseq option.</summary>
public sealed class OoaTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(150);

    private static async Task<(Harness H, GatedBackend Backend)> CreateAsync(SerSeqMode serseq)
    {
        GatedBackend? backend = null;
        var h = await Harness.ReadyAsync(options: new LogicalUnitOptions { SerSeq = serseq },
            backend: size => backend = new GatedBackend(size));
        return (h, backend!);
    }

    private static Task<ScsiOutcome> Start(Harness h, byte[] cdb, TestChannel channel, ITNexus? nexus = null,
        TaskAttribute attr = TaskAttribute.Simple, uint? tag = null) =>
        h.Engine.ExecuteAsync(h.Task(cdb, channel, nexus, attr: attr, tag: tag), CancellationToken.None).AsTask();

    [Fact]
    public async Task Serseq_read_releases_an_adjacent_read_when_the_media_read_is_done_not_when_data_is_sent()
    {
        var (h, backend) = await CreateAsync(SerSeqMode.Read);
        backend.Hold("R@0");
        var slowInitiator = new TestChannel { SendGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var first = Start(h, Cdbs.Read10(0, 8), slowInitiator);
        await backend.WhenStartedAsync("R@0");

        var second = Start(h, Cdbs.Read10(8, 8), new TestChannel());
        await Task.Delay(Settle);
        Assert.False(backend.HasStarted("R@4096")); // adjacent READ waits while the older media read is in progress

        backend.Release("R@0");
        await slowInitiator.SendStarted.Task.WaitAsync(Timeout);     // first is now stuck sending to a slow initiator
        OutcomeAssert.Good(await second.WaitAsync(Timeout));          // ... and the second READ ran to completion
        Assert.False(first.IsCompleted);
        slowInitiator.SendGate.SetResult();
        OutcomeAssert.Good(await first.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Serseq_off_lets_adjacent_reads_run_in_parallel()
    {
        var (h, backend) = await CreateAsync(SerSeqMode.Off);
        backend.Hold("R@0");
        var first = Start(h, Cdbs.Read10(0, 8), new TestChannel());
        await backend.WhenStartedAsync("R@0");
        OutcomeAssert.Good(await Start(h, Cdbs.Read10(8, 8), new TestChannel()).WaitAsync(Timeout));
        backend.Release("R@0");
        OutcomeAssert.Good(await first.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Serseq_read_does_not_hold_non_adjacent_reads()
    {
        var (h, backend) = await CreateAsync(SerSeqMode.Read);
        backend.Hold("R@0");
        var first = Start(h, Cdbs.Read10(0, 8), new TestChannel());
        await backend.WhenStartedAsync("R@0");
        OutcomeAssert.Good(await Start(h, Cdbs.Read10(9, 8), new TestChannel()).WaitAsync(Timeout));
        OutcomeAssert.Good(await Start(h, Cdbs.Read10(1, 4), new TestChannel()).WaitAsync(Timeout)); // overlapping reads never conflict
        backend.Release("R@0");
        OutcomeAssert.Good(await first.WaitAsync(Timeout));
    }

    [Theory]
    [InlineData(SerSeqMode.On, true)]
    [InlineData(SerSeqMode.Read, false)]
    [InlineData(SerSeqMode.Off, false)]
    public async Task Serseq_on_makes_a_read_adjacent_to_an_older_write_wait(SerSeqMode mode, bool waits)
    {
        var (h, backend) = await CreateAsync(mode);
        backend.Hold("W@0");
        var write = Start(h, Cdbs.Write10(0, 8), new TestChannel(new byte[4096]));
        await backend.WhenStartedAsync("W@0");
        var read = Start(h, Cdbs.Read10(8, 8), new TestChannel());
        await Task.Delay(Settle);
        Assert.Equal(waits, !read.IsCompleted);
        backend.Release("W@0");
        OutcomeAssert.Good(await write.WaitAsync(Timeout));
        OutcomeAssert.Good(await read.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Serseq_on_releases_an_adjacent_read_after_the_older_reads_media_read()
    {
        var (h, backend) = await CreateAsync(SerSeqMode.On);
        var slowInitiator = new TestChannel { SendGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var first = Start(h, Cdbs.Read10(0, 8), slowInitiator);
        await slowInitiator.SendStarted.Task.WaitAsync(Timeout);
        OutcomeAssert.Good(await Start(h, Cdbs.Read10(8, 8), new TestChannel()).WaitAsync(Timeout));
        slowInitiator.SendGate.SetResult();
        OutcomeAssert.Good(await first.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Overlapping_write_waits_for_the_older_write_and_disjoint_write_does_not()
    {
        var (h, backend) = await CreateAsync(SerSeqMode.Off);
        backend.Hold("W@0");
        var older = Start(h, Cdbs.Write10(0, 8), new TestChannel(Cdbs.Pattern(4096, 1)));
        await backend.WhenStartedAsync("W@0");
        var overlapping = Start(h, Cdbs.Write10(4, 8), new TestChannel(Cdbs.Pattern(4096, 2)));
        OutcomeAssert.Good(await Start(h, Cdbs.Write10(100, 1), new TestChannel(new byte[512])).WaitAsync(Timeout));
        await Task.Delay(Settle);
        Assert.False(backend.HasStarted("W@2048"));
        backend.Release("W@0");
        OutcomeAssert.Good(await older.WaitAsync(Timeout));
        OutcomeAssert.Good(await overlapping.WaitAsync(Timeout));
        Assert.Equal(Cdbs.Pattern(4096, 2), (await h.RunAsync(Cdbs.Read10(4, 8))).Data);
    }

    [Fact]
    public async Task Compare_and_write_holds_off_overlapping_io_until_it_is_done()
    {
        var (h, backend) = await CreateAsync(SerSeqMode.Off);
        byte[] initial = Cdbs.Pattern(512, 3);
        byte[] cawData = Cdbs.Pattern(512, 4);
        OutcomeAssert.Good((await h.RunAsync(Cdbs.Write10(10, 1), initial)).Outcome);
        byte[] caw = new byte[16];
        caw[0] = 0x89;
        caw[9] = 10;
        caw[13] = 1;
        backend.Hold("R@5120");
        var cawTask = Start(h, caw, new TestChannel([.. initial, .. cawData]));
        await backend.WhenStartedAsync("R@5120");
        var reader = new TestChannel();
        var read = Start(h, Cdbs.Read10(9, 2), reader);
        var writer = Start(h, Cdbs.Write10(10, 1), new TestChannel(Cdbs.Pattern(512, 5)));
        await Task.Delay(Settle);
        Assert.False(writer.IsCompleted);
        Assert.False(read.IsCompleted);
        backend.Release("R@5120");
        OutcomeAssert.Good(await cawTask.WaitAsync(Timeout));
        OutcomeAssert.Good(await read.WaitAsync(Timeout));
        OutcomeAssert.Good(await writer.WaitAsync(Timeout));
        Assert.Equal(cawData, reader.DataIn[512..]); // the READ saw the completed COMPARE AND WRITE, not a half state
        Assert.Equal(Cdbs.Pattern(512, 5), (await h.RunAsync(Cdbs.Read10(10, 1))).Data);
    }

    [Fact]
    public async Task Ordered_task_waits_for_every_older_task_and_blocks_younger_ones()
    {
        var (h, backend) = await CreateAsync(SerSeqMode.Off);
        backend.Hold("R@0");
        var older = Start(h, Cdbs.Read10(0, 1), new TestChannel());
        await backend.WhenStartedAsync("R@0");
        var ordered = Start(h, Cdbs.TestUnitReady(), new TestChannel(), attr: TaskAttribute.Ordered);
        var younger = Start(h, Cdbs.Read10(50, 1), new TestChannel());
        await Task.Delay(Settle);
        Assert.False(ordered.IsCompleted);
        Assert.False(younger.IsCompleted);
        backend.Release("R@0");
        OutcomeAssert.Good(await older.WaitAsync(Timeout));
        OutcomeAssert.Good(await ordered.WaitAsync(Timeout));
        OutcomeAssert.Good(await younger.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Head_of_queue_passes_older_tasks()
    {
        var (h, backend) = await CreateAsync(SerSeqMode.Off);
        backend.Hold("W@0");
        var older = Start(h, Cdbs.Write10(0, 1), new TestChannel(new byte[512]), attr: TaskAttribute.Ordered);
        await backend.WhenStartedAsync("W@0");
        OutcomeAssert.Good(await Start(h, Cdbs.Read10(0, 1), new TestChannel(), attr: TaskAttribute.HeadOfQueue).WaitAsync(Timeout));
        backend.Release("W@0");
        OutcomeAssert.Good(await older.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Untagged_overlap_and_duplicate_tag_are_rejected_on_the_same_nexus_only()
    {
        var (h, backend) = await CreateAsync(SerSeqMode.Off);
        backend.Hold("R@0");
        var untagged = Start(h, Cdbs.Read10(0, 1), new TestChannel(), attr: TaskAttribute.Untagged);
        await backend.WhenStartedAsync("R@0");
        OutcomeAssert.Check(await Start(h, Cdbs.Read10(9, 1), new TestChannel(), attr: TaskAttribute.Untagged).WaitAsync(Timeout),
            SenseKey.IllegalRequest, 0x4E, 0x00);
        var other = h.NewNexus("iqn.test:other");
        await h.ClearUnitAttentionsAsync(other);
        OutcomeAssert.Good(await Start(h, Cdbs.Read10(9, 1), new TestChannel(), other, TaskAttribute.Untagged).WaitAsync(Timeout));
        backend.Release("R@0");
        OutcomeAssert.Good(await untagged.WaitAsync(Timeout));

        backend.Hold("R@0");
        var tagged = Start(h, Cdbs.Read10(0, 1), new TestChannel(), tag: 0x1234);
        await backend.WhenStartedAsync("R@0");
        OutcomeAssert.Check(await Start(h, Cdbs.Read10(20, 1), new TestChannel(), tag: 0x1234).WaitAsync(Timeout),
            SenseKey.IllegalRequest, 0x4D, 0x34);
        OutcomeAssert.Good(await Start(h, Cdbs.Read10(20, 1), new TestChannel(), other, tag: 0x1234).WaitAsync(Timeout));
        backend.Release("R@0");
        OutcomeAssert.Good(await tagged.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Unmap_blocks_only_io_overlapping_its_descriptors()
    {
        var (h, backend) = await CreateAsync(SerSeqMode.Off);
        backend.Hold("U@51200");
        byte[] parameters = Cdbs.UnmapParameters((100, 8));
        var unmap = Start(h, Cdbs.Unmap(parameters.Length), new TestChannel(parameters));
        await backend.WhenStartedAsync("U@51200");
        OutcomeAssert.Good(await Start(h, Cdbs.Read10(0, 8), new TestChannel()).WaitAsync(Timeout));
        var overlapping = Start(h, Cdbs.Read10(104, 1), new TestChannel());
        await Task.Delay(Settle);
        Assert.False(overlapping.IsCompleted);
        backend.Release("U@51200");
        OutcomeAssert.Good(await unmap.WaitAsync(Timeout));
        OutcomeAssert.Good(await overlapping.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Mode_select_waits_for_older_io_and_blocks_younger_io()
    {
        var (h, backend) = await CreateAsync(SerSeqMode.Off);
        backend.Hold("R@0");
        var read = Start(h, Cdbs.Read10(0, 1), new TestChannel());
        await backend.WhenStartedAsync("R@0");
        var select = Start(h, Cdbs.ModeSelect6(0), new TestChannel());
        var inquiry = Start(h, Cdbs.Inquiry(), new TestChannel());
        OutcomeAssert.Good(await inquiry.WaitAsync(Timeout)); // INQUIRY passes everything
        await Task.Delay(Settle);
        Assert.False(select.IsCompleted);
        backend.Release("R@0");
        OutcomeAssert.Good(await select.WaitAsync(Timeout));
        OutcomeAssert.Good(await read.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Many_concurrent_disjoint_writes_and_reads_complete_with_correct_data()
    {
        var h = await Harness.ReadyAsync(sizeBytes: 8 << 20);
        var tasks = new List<Task<ScsiOutcome>>();
        for (int i = 0; i < 64; i++)
        {
            tasks.Add(Start(h, Cdbs.Write10((uint)(i * 8), 8), new TestChannel(Cdbs.Pattern(4096, i))));
        }
        Assert.All(await Task.WhenAll(tasks).WaitAsync(Timeout), OutcomeAssert.Good);
        var channels = Enumerable.Range(0, 64).Select(_ => new TestChannel()).ToArray();
        var reads = Enumerable.Range(0, 64).Select(i => Start(h, Cdbs.Read10((uint)(i * 8), 8), channels[i])).ToArray();
        Assert.All(await Task.WhenAll(reads).WaitAsync(Timeout), OutcomeAssert.Good);
        for (int i = 0; i < 64; i++)
        {
            Assert.Equal(Cdbs.Pattern(4096, i), channels[i].DataIn);
        }
        Assert.Equal(0, h.Lun0.ActiveCommandCount);
    }
}

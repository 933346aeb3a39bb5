using CtlHa.Spec;
using static CtlHa.Spec.SerializationTable.Decision;
using C = CtlHa.Spec.SerializationClass;

namespace CtlHa.Spec.Tests;

/// <summary>ctl-ha.md §11.1 and §11.2 (requirements 55, 56, 57).</summary>
public sealed class SerializationTableTests
{
    private static OoaEntry Io(C cls, ulong lba = 0, ulong len = 8, TaskAttribute attr = TaskAttribute.Simple, uint tag = 1, long initiator = 1) =>
        new(initiator, tag, attr, cls, new LbaRange(lba, len));

    [Theory]
    [InlineData(C.Write, C.Write, ExtentCheck)] // WRITE after WRITE: extent check
    [InlineData(C.Tur, C.Read, Pass)] // TUR never waits for READ
    [InlineData(C.Read, C.Read, SequentialCheck)]
    [InlineData(C.Read, C.Unmap, ExtentCheckUnlessUnrestricted)]
    [InlineData(C.Unmap, C.Write, BlockUnlessUnrestricted)]
    [InlineData(C.Sync, C.Write, BlockUnlessUnrestricted)]
    [InlineData(C.Sync, C.Read, Pass)]
    [InlineData(C.ModeSelect, C.RequestSense, Pass)]
    [InlineData(C.RequestSense, C.Format, Pass)]
    [InlineData(C.RequestSense, C.Inquiry, Block)]
    [InlineData(C.Start, C.ReadCapacity, Pass)]
    [InlineData(C.Reservation, C.Inquiry, Pass)]
    [InlineData(C.ReadCapacity, C.Reservation, Block)]
    [InlineData(C.LogSense, C.ModeSelect, Pass)]
    [InlineData(C.ModeSense, C.ModeSense, Pass)]
    [InlineData(C.ModeSelect, C.ModeSense, Block)]
    public void Cells_match_the_11_2_table(C newer, C older, SerializationTable.Decision expected) =>
        Assert.Equal(expected, SerializationTable.Lookup(newer, older));

    [Fact]
    public void INQUIRY_passes_everything_and_FORMAT_blocks_on_everything_11_2()
    {
        foreach (var older in SerializationTable.Classes)
        {
            Assert.Equal(Pass, SerializationTable.Lookup(C.Inquiry, older));
            Assert.Equal(Block, SerializationTable.Lookup(C.Format, older));
        }
    }

    [Fact]
    public void Unsupported_commands_never_block_11_1()
    {
        foreach (var c in Enum.GetValues<C>())
        {
            Assert.Equal(Pass, SerializationTable.Lookup(C.None, c));
            Assert.Equal(Pass, SerializationTable.Lookup(c, C.None));
        }
    }

    [Fact]
    public void Overlapping_write_blocks_behind_an_older_write_requirement_55()
    {
        var verdict = OoaRules.Check(Io(C.Write, 4, 8, tag: 2), [Io(C.Write, 0, 8)], unrestricted: false, SerSeq.Off);
        Assert.Equal(new OoaVerdict(OoaAction.Block, 0, null), verdict);
        Assert.Equal(OoaAction.Pass, OoaRules.Check(Io(C.Write, 8, 8, tag: 2), [Io(C.Write, 0, 8)], false, SerSeq.Off).Action);
    }

    [Fact]
    public void Any_command_waits_for_an_older_ORDERED_command_requirement_55()
    {
        var older = Io(C.Inquiry, attr: TaskAttribute.Ordered);
        Assert.Equal(OoaAction.Block, OoaRules.Check(Io(C.Inquiry, tag: 2), [older], false, SerSeq.Off).Action);
        // ...and an ORDERED command waits for anything older (step 2).
        Assert.Equal(OoaAction.Block, OoaRules.Check(Io(C.Inquiry, tag: 2, attr: TaskAttribute.Ordered), [Io(C.Inquiry)], false, SerSeq.Off).Action);
    }

    [Fact]
    public void HEAD_OF_QUEUE_passes_older_commands_but_still_catches_tag_overlaps_11_1()
    {
        var hoq = Io(C.Write, attr: TaskAttribute.HeadOfQueue, tag: 7);
        Assert.Equal(OoaAction.Pass, OoaRules.Check(hoq, [Io(C.Format, tag: 3)], false, SerSeq.Off).Action);
        Assert.Equal(OoaAction.OverlapTag, OoaRules.Check(hoq, [Io(C.Read, tag: 7)], false, SerSeq.Off).Action);
    }

    [Fact]
    public void Untagged_after_untagged_from_one_nexus_is_05_4E_00_requirement_56()
    {
        var verdict = OoaRules.Check(Io(C.Read, attr: TaskAttribute.Untagged), [Io(C.Read, 100, attr: TaskAttribute.Untagged)], false, SerSeq.Off);
        Assert.Equal(OoaAction.Overlap, verdict.Action);
        Assert.Equal(new GateSense(0x05, 0x4E, 0x00), verdict.Sense);
        // A different nexus is not an overlap.
        Assert.Equal(OoaAction.Pass, OoaRules.Check(Io(C.Read, attr: TaskAttribute.Untagged, initiator: 2), [Io(C.Read, 100, attr: TaskAttribute.Untagged)], false, SerSeq.Off).Action);
    }

    [Fact]
    public void Duplicate_tag_from_one_nexus_is_05_4D_tag_low_byte_requirement_56()
    {
        var verdict = OoaRules.Check(Io(C.Read, tag: 0x1234), [Io(C.Read, 100, tag: 0x1234)], false, SerSeq.Off);
        Assert.Equal(OoaAction.OverlapTag, verdict.Action);
        Assert.Equal(new GateSense(0x05, 0x4D, 0x34), verdict.Sense);
        // Once the older command's status is sent, the tag is free again.
        Assert.Equal(OoaAction.Pass, OoaRules.Check(Io(C.Read, tag: 0x1234), [Io(C.Read, 100, tag: 0x1234) with { StatusSent = true }], false, SerSeq.Off).Action);
    }

    [Fact]
    public void Aborted_pending_command_skips_the_queue_11_1() =>
        Assert.Equal(OoaAction.Skip, OoaRules.Check(Io(C.Write) with { Aborted = true }, [Io(C.Format)], false, SerSeq.Off).Action);

    [Theory]
    [InlineData(SerSeq.Off, false, OoaAction.Pass)]
    [InlineData(SerSeq.Read, false, OoaAction.Block)]
    [InlineData(SerSeq.On, false, OoaAction.Block)]
    [InlineData(SerSeq.Read, true, OoaAction.Pass)] // SERSEQ_DONE unblocks the successor
    public void Adjacent_reads_follow_serseq_requirement_57(SerSeq serSeq, bool olderDone, OoaAction expected)
    {
        var older = Io(C.Read, 0, 8, tag: 1) with { SerSeqDone = olderDone };
        Assert.Equal(expected, OoaRules.Check(Io(C.Read, 8, 8, tag: 2), [older], false, serSeq).Action);
    }

    [Theory]
    [InlineData(SerSeq.Read, OoaAction.Pass)]
    [InlineData(SerSeq.On, OoaAction.Block)] // adjacency counts as overlap with serseq=on
    public void Adjacent_write_after_write_blocks_only_with_serseq_on_requirement_57(SerSeq serSeq, OoaAction expected) =>
        Assert.Equal(expected, OoaRules.Check(Io(C.Write, 8, 8, tag: 2), [Io(C.Write, 0, 8)], false, serSeq).Action);

    [Fact]
    public void Unrestricted_queue_algorithm_lets_UNMAP_pass_an_older_write_11_2()
    {
        Assert.Equal(OoaAction.Block, OoaRules.Check(Io(C.Unmap, tag: 2), [Io(C.Write, 1000)], false, SerSeq.Off).Action);
        Assert.Equal(OoaAction.Pass, OoaRules.Check(Io(C.Unmap, tag: 2), [Io(C.Write, 1000)], true, SerSeq.Off).Action);
    }

    [Fact]
    public void An_UNMAP_without_its_data_counts_as_the_whole_disk_11_2() =>
        Assert.Equal(OoaAction.Block, OoaRules.Check(Io(C.Read, 999_999, tag: 2), [Io(C.Unmap) with { Extent = null }], false, SerSeq.Off).Action);

    [Fact]
    public void The_first_non_pass_older_command_is_the_blocker_11_1()
    {
        OoaEntry[] older = [Io(C.Read, 100, tag: 5), Io(C.Write, 0, 8, tag: 4), Io(C.Format, tag: 3)];
        Assert.Equal(new OoaVerdict(OoaAction.Block, 1, null), OoaRules.Check(Io(C.Write, 0, 1, tag: 9), older, false, SerSeq.Off));
    }
}

using CtlHa.Spec;

namespace CtlHa.Spec.Tests;

/// <summary>ctl-ha.md §5.4 command flags, §9 RUN_HERE / NO_SENSE, §11.2 class assignment.</summary>
public sealed class CommandTableTests
{
    [Fact]
    public void OK_ON_UNAVAIL_is_exactly_INQUIRY_REQUEST_SENSE_REPORT_LUNS_and_four_MAINTENANCE_IN_actions_5_4()
    {
        var names = CommandTable.All.Where(c => c.OkOnUnavailable).Select(c => c.Name).Order().ToArray();
        Assert.Equal(
            new[]
            {
                "INQUIRY", "REPORT LUNS", "REPORT SUPPORTED OPERATION CODES", "REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS",
                "REPORT TARGET PORT GROUPS", "REPORT TIMESTAMP", "REQUEST SENSE",
            },
            names);
    }

    [Fact]
    public void Every_OK_ON_UNAVAIL_command_is_also_OK_ON_STANDBY_5_4() =>
        Assert.All(CommandTable.All.Where(c => c.OkOnUnavailable), c => Assert.True(c.OkOnStandby, c.Name));

    [Fact]
    public void RUN_HERE_is_exactly_REQUEST_SENSE_and_REPORT_LUNS_section_9() =>
        Assert.Equal(["REPORT LUNS", "REQUEST SENSE"], CommandTable.All.Where(c => c.RunHere).Select(c => c.Name).Order());

    [Fact]
    public void Only_INQUIRY_REPORT_LUNS_and_REQUEST_SENSE_skip_UA_reporting_5_2() =>
        Assert.Equal(["INQUIRY", "REPORT LUNS", "REQUEST SENSE"], CommandTable.All.Where(c => !c.ReportsUnitAttention).Select(c => c.Name).Order());

    [Theory]
    [InlineData(new byte[] { 0x15 }, true)] // MODE SELECT(6)
    [InlineData(new byte[] { 0x55 }, true)] // MODE SELECT(10)
    [InlineData(new byte[] { 0x1A }, true)] // MODE SENSE(6)
    [InlineData(new byte[] { 0x5A }, true)] // MODE SENSE(10)
    [InlineData(new byte[] { 0x16 }, true)] // RESERVE(6)
    [InlineData(new byte[] { 0x57 }, true)] // RELEASE(10)
    [InlineData(new byte[] { 0x4D }, true)] // LOG SENSE
    [InlineData(new byte[] { 0x3B, 0x02 }, true)] // WRITE BUFFER mode 02h
    [InlineData(new byte[] { 0x3C, 0x02 }, true)] // READ BUFFER(10) modes 02h/03h/0Bh
    [InlineData(new byte[] { 0x3C, 0x03 }, true)]
    [InlineData(new byte[] { 0x3C, 0x0B }, true)]
    [InlineData(new byte[] { 0x9B, 0x0B }, true)] // READ BUFFER(16)
    [InlineData(new byte[] { 0x5E, 0x03 }, true)] // PR IN READ FULL STATUS
    [InlineData(new byte[] { 0x5F, 0x05 }, true)] // PR OUT PREEMPT AND ABORT
    [InlineData(new byte[] { 0x84, 0x03 }, true)] // RECEIVE COPY OPERATING PARAMETERS
    [InlineData(new byte[] { 0x00 }, false)] // TEST UNIT READY
    [InlineData(new byte[] { 0x25 }, false)] // READ CAPACITY(10)
    [InlineData(new byte[] { 0x9E, 0x10 }, false)] // READ CAPACITY(16)
    [InlineData(new byte[] { 0x28 }, false)] // READ(10)
    [InlineData(new byte[] { 0x2A }, false)] // WRITE(10)
    [InlineData(new byte[] { 0x42 }, false)] // UNMAP
    [InlineData(new byte[] { 0x89 }, false)] // COMPARE AND WRITE
    [InlineData(new byte[] { 0x35 }, false)] // SYNCHRONIZE CACHE(10)
    [InlineData(new byte[] { 0x04 }, false)] // FORMAT UNIT
    [InlineData(new byte[] { 0x1B }, false)] // START STOP UNIT
    [InlineData(new byte[] { 0x1E }, false)] // PREVENT ALLOW
    [InlineData(new byte[] { 0x83, 0x00 }, false)] // EXTENDED COPY
    [InlineData(new byte[] { 0x9E, 0x12 }, false)] // GET LBA STATUS
    [InlineData(new byte[] { 0x37 }, false)] // READ DEFECT DATA(10)
    public void OK_ON_STANDBY_follows_5_4(byte[] cdb, bool okOnStandby)
    {
        var info = CommandTable.Lookup(cdb);
        Assert.True(info.IsSupported, info.ToString());
        Assert.Equal(okOnStandby, info.OkOnStandby);
    }

    [Theory]
    [InlineData(new byte[] { 0x5E, 0x00 }, SerializationClass.Reservation)]
    [InlineData(new byte[] { 0x5E, 0x02 }, SerializationClass.Inquiry)] // REPORT CAPABILITIES is INQ
    [InlineData(new byte[] { 0x5E, 0x03 }, SerializationClass.Inquiry)] // READ FULL STATUS is INQ
    [InlineData(new byte[] { 0x5F, 0x01 }, SerializationClass.Reservation)]
    [InlineData(new byte[] { 0x3C, 0x02 }, SerializationClass.ModeSense)] // READ BUFFER is MD_SNS
    [InlineData(new byte[] { 0x3B, 0x02 }, SerializationClass.ModeSelect)] // WRITE BUFFER is MD_SEL
    [InlineData(new byte[] { 0x2F }, SerializationClass.Read)] // VERIFY is READ
    [InlineData(new byte[] { 0x9E, 0x12 }, SerializationClass.Read)] // GET LBA STATUS is READ
    [InlineData(new byte[] { 0x89 }, SerializationClass.Write)] // COMPARE AND WRITE is WRITE
    [InlineData(new byte[] { 0x93 }, SerializationClass.Write)] // WRITE SAME is WRITE
    [InlineData(new byte[] { 0x83, 0x01 }, SerializationClass.ReadCapacity)] // XCOPY is RD_CAP
    [InlineData(new byte[] { 0x1B }, SerializationClass.Start)]
    [InlineData(new byte[] { 0x1E }, SerializationClass.Start)]
    [InlineData(new byte[] { 0x42 }, SerializationClass.Unmap)]
    [InlineData(new byte[] { 0x91 }, SerializationClass.Sync)]
    [InlineData(new byte[] { 0x04 }, SerializationClass.Format)]
    public void Serialization_classes_follow_11_2(byte[] cdb, SerializationClass expected) =>
        Assert.Equal(expected, CommandTable.Lookup(cdb).Class);

    [Fact]
    public void Service_action_is_the_low_five_bits_of_byte_1()
    {
        Assert.Equal("READ CAPACITY(16)", CommandTable.Lookup([0x9E, 0xF0]).Name); // 0xF0 & 0x1F = 0x10
        Assert.Equal("REPORT TARGET PORT GROUPS", CommandTable.Lookup([0xA3, 0xEA]).Name);
    }

    [Theory]
    [InlineData(new byte[] { 0xA4, 0x0A }, 0x20)] // MAINTENANCE OUT / SET TARGET PORT GROUPS: requirement 24
    [InlineData(new byte[] { 0x7F }, 0x20)]
    [InlineData(new byte[] { 0xA3, 0x05 }, 0x24)] // MAINTENANCE IN, unknown service action
    [InlineData(new byte[] { 0x5F, 0x07 }, 0x24)] // PR OUT REGISTER AND MOVE: not supported
    [InlineData(new byte[] { 0x9E }, 0x24)] // service-action opcode without byte 1
    [InlineData(new byte[] { 0x3B, 0x05 }, 0x24)] // WRITE BUFFER DOWNLOAD SAVE: unsupported mode
    [InlineData(new byte[] { 0x3C, 0x0A }, 0x24)] // READ BUFFER ECHO: unsupported mode
    [InlineData(new byte[0], 0x20)]
    public void Unsupported_commands_carry_their_sense_and_report_no_UA(byte[] cdb, byte asc)
    {
        var info = CommandTable.Lookup(cdb);
        Assert.False(info.IsSupported);
        Assert.Equal(new GateSense(0x05, asc, 0x00), info.UnsupportedSense);
        Assert.False(info.ReportsUnitAttention);
        Assert.False(info.OkOnUnavailable || info.OkOnStandby || info.RunHere);
        Assert.Equal(SerializationClass.None, info.Class);
    }

    [Fact]
    public void Every_row_looks_itself_up_and_keys_are_unique()
    {
        Assert.Equal(CommandTable.All.Count, CommandTable.All.Select(c => (c.Opcode, c.ServiceAction)).Distinct().Count());
        foreach (var c in CommandTable.All)
        {
            Assert.Same(c, CommandTable.Lookup(c.Opcode, c.ServiceAction));
            Assert.Equal(c.ServiceAction is not null, CommandTable.HasServiceAction(c.Opcode));
            Assert.NotEqual(SerializationClass.None, c.Class);
        }
    }
}

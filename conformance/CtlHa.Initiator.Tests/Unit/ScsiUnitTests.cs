using CtlHa.Initiator.Scsi;

namespace CtlHa.Initiator.Tests.Unit;

public sealed class ScsiUnitTests
{
    [Fact]
    public void Fixed_format_sense_decodes_key_asc_ascq_and_information()
    {
        var sense = new byte[18];
        sense[0] = 0xF0;
        sense[2] = 0x05;
        sense[3] = 0x00;
        sense[4] = 0x00;
        sense[5] = 0x12;
        sense[6] = 0x34;
        sense[7] = 10;
        sense[12] = 0x24;
        sense[13] = 0x00;
        Assert.True(SenseData.TryParse(sense, out var data));
        Assert.Equal(SenseKey.IllegalRequest, data!.Key);
        Assert.Equal(0x24, data.Asc);
        Assert.Equal(0x00, data.Ascq);
        Assert.Equal(0x1234UL, data.Information);
        Assert.False(data.DescriptorFormat);
        Assert.False(data.Deferred);
    }

    [Fact]
    public void Fixed_format_sense_without_VALID_has_no_information()
    {
        var sense = new byte[18];
        sense[0] = 0x71;
        sense[2] = 0x06;
        sense[12] = 0x29;
        sense[13] = 0x03;
        Assert.True(SenseData.TryParse(sense, out var data));
        Assert.Equal(SenseKey.UnitAttention, data!.Key);
        Assert.Null(data.Information);
        Assert.True(data.Deferred);
        Assert.Equal((ushort)0x2903, data.AdditionalSenseCode);
    }

    [Fact]
    public void Descriptor_format_sense_decodes_key_asc_ascq_and_information_descriptor()
    {
        byte[] sense =
        [
            0x72, 0x0E, 0x1D, 0x00, 0, 0, 0, 12,
            0x00, 0x0A, 0x80, 0x00, 0, 0, 0, 0, 0, 0, 0x01, 0x00,
        ];
        Assert.True(SenseData.TryParse(sense, out var data));
        Assert.Equal(SenseKey.Miscompare, data!.Key);
        Assert.Equal(0x1D, data.Asc);
        Assert.Equal(0x100UL, data.Information);
        Assert.True(data.DescriptorFormat);
    }

    [Fact]
    public void Unknown_response_codes_and_short_buffers_do_not_parse()
    {
        Assert.False(SenseData.TryParse([0x7F, 0, 0, 0], out _));
        Assert.False(SenseData.TryParse([0x70], out _));
        Assert.False(SenseData.TryParse([], out _));
    }

    [Theory]
    [InlineData(0, 0x0000_0000_0000_0000UL)]
    [InlineData(1, 0x0001_0000_0000_0000UL)]
    [InlineData(255, 0x00FF_0000_0000_0000UL)]
    [InlineData(256, 0x4100_0000_0000_0000UL)]
    [InlineData(16383, 0x7FFF_0000_0000_0000UL)]
    public void LUNs_encode_with_peripheral_or_flat_addressing(int lun, ulong field)
    {
        Assert.Equal(field, ScsiLun.Encode(lun));
        Assert.Equal(lun, ScsiLun.Decode(field));
    }

    [Fact]
    public void Read16_and_Write10_CDBs_place_LBA_and_length_big_endian()
    {
        Assert.Equal(Convert.FromHexString("88080000000102030405000000100000"), Cdb.Read16(0x0102030405, 16, fua: true));
        Assert.Equal(Convert.FromHexString("2A000A0B0C0D00000800"), Cdb.Write10(0x0A0B0C0D, 8));
        Assert.Equal(Convert.FromHexString("9E100000000000000000000000200000"), Cdb.ReadCapacity16());
        Assert.Equal(Convert.FromHexString("A30A00000000000010000000"), Cdb.ReportTargetPortGroups());
    }

    [Fact]
    public void Persistent_reserve_out_CDB_and_parameter_list_follow_SPC5()
    {
        Assert.Equal(Convert.FromHexString("5F010300000000001800"),
            Cdb.PersistentReserveOut(PersistentReserveOutAction.Reserve, PersistentReservationType.ExclusiveAccess));
        var list = Cdb.PersistentReserveOutParameters(0x1122334455667788, 0xAABB, allTargetPorts: true, activatePersistThroughPowerLoss: true);
        Assert.Equal(24, list.Length);
        Assert.Equal(0x11, list[0]);
        Assert.Equal(0xBB, list[15]);
        Assert.Equal(0x05, list[20]);
    }

    [Fact]
    public void Read_capacity_16_data_parses()
    {
        var data = Convert.FromHexString("000000000001FFFF00000200" + "00000000000000000000000000000000000000000000");
        Assert.True(Capacity.TryParse16(data, out var capacity));
        Assert.Equal(0x1FFFFUL, capacity.LastLba);
        Assert.Equal(512u, capacity.BlockLength);
        Assert.Equal(0x20000UL, capacity.Blocks);
    }

    [Fact]
    public void Report_luns_data_lists_each_eight_byte_LUN()
    {
        var data = Convert.FromHexString("00000010000000000000000000000000" + "0001000000000000");
        Assert.Equal(new ulong[] { 0, 0x0001_0000_0000_0000 }, ScsiCommands.ParseReportLuns(data));
    }
}

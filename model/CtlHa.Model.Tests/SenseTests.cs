namespace CtlHa.Model.Tests;

public sealed class SenseTests
{
    [Fact]
    public void Fixed_format_round_trips_key_asc_ascq_information_and_pointer_SPC5_4_4_3()
    {
        var c = new SenseCondition(0x05, 0x24, 0x00, 77, FieldPointer.Cdb(2, 5));
        var s = SenseBuilder.Fixed(c);
        Assert.Equal(18, s.Length);
        Assert.Equal(0xF0, s[0]);
        Assert.Equal(0xCD, s[15]);
        var d = SenseInfo.Decode(s);
        Assert.Equal(new SenseInfo(false, 0x05, 0x24, 0x00, 77, FieldPointer.Cdb(2, 5)), d);
    }

    [Fact]
    public void Descriptor_format_round_trips_and_carries_64_bit_information_SPC5_4_4_2()
    {
        var c = new SenseCondition(0x0E, 0x1D, 0x00, 0x1_0000_0000, FieldPointer.Parameter(20, 0));
        var s = SenseBuilder.Descriptor(c);
        Assert.Equal(0x72, s[0]);
        Assert.Equal(s.Length - 8, s[7]);
        Assert.Equal(new SenseInfo(true, 0x0E, 0x1D, 0x00, 0x1_0000_0000, FieldPointer.Parameter(20, 0)), SenseInfo.Decode(s));
    }

    [Fact]
    public void SameAs_compares_bytes_or_decoded_sense()
    {
        var fixedForm = new ModelResult(ScsiStatus.CheckCondition, SenseBuilder.Fixed(Senses.LbaOutOfRange(9)), []);
        var descriptorForm = new ModelResult(ScsiStatus.CheckCondition, SenseBuilder.Descriptor(Senses.LbaOutOfRange(9)), []);
        Assert.True(fixedForm.SameAs(new ModelResult(ScsiStatus.CheckCondition, SenseBuilder.Fixed(Senses.LbaOutOfRange(9)), [])));
        Assert.False(fixedForm.SameAs(descriptorForm));
        Assert.False(fixedForm.SameAs(descriptorForm, senseDecoded: true)); // the format differs
        Assert.True(ModelResult.Good([1, 2]).SameAs(ModelResult.Good([1, 2])));
    }

    [Fact]
    public void Fixed_format_leaves_VALID_clear_when_INFORMATION_does_not_fit_SPC5_4_4_3()
    {
        var s = SenseBuilder.Fixed(new SenseCondition(0x05, 0x21, 0x00, 0x1_0000_0000));
        Assert.Null(SenseInfo.Decode(s).Information);
    }
}

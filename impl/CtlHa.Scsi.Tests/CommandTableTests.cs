using CtlHa.Scsi.Commands;

namespace CtlHa.Scsi.Tests;

public sealed class CommandTableTests
{
    [Fact]
    public void Every_descriptor_accepts_a_cdb_with_only_its_opcode_and_service_action()
    {
        foreach (var d in CommandTable.Default.All)
        {
            byte[] cdb = new byte[d.CdbLength];
            cdb[0] = d.Opcode;
            if (d.HasServiceAction)
            {
                cdb[1] = (byte)d.ServiceAction;
                // CTL reports the service action value in byte 1; a full 1Fh mask also validates correctly.
                Assert.True((d.CdbUsage[1] & 0x1F) is var sa && (sa == d.ServiceAction || sa == 0x1F), $"{d}: usage byte 1 must cover the service action");
            }
            Assert.Same(d, CommandTable.Default.Lookup(cdb));
            Assert.Null(ScsiEngine.ValidateCdb(cdb, d));
            Assert.Equal(0x07, d.CdbUsage[^1]); // control byte
        }
    }

    [Fact]
    public void Every_usage_bit_is_accepted_and_any_other_bit_is_rejected_at_its_position()
    {
        foreach (var d in CommandTable.Default.All)
        {
            Assert.Null(ScsiEngine.ValidateCdb(d.CdbUsage, d));
            for (int i = 1; i < d.CdbLength; i++)
            {
                for (int bit = 0; bit < 8; bit++)
                {
                    if ((d.CdbUsage[i] & (1 << bit)) != 0)
                    {
                        continue;
                    }
                    byte[] cdb = (byte[])d.CdbUsage.Clone();
                    cdb[i] |= (byte)(1 << bit);
                    var sense = ScsiEngine.ValidateCdb(cdb, d);
                    Assert.NotNull(sense);
                    Assert.Equal(CtlHa.Core.Sense.FieldPointer(true, (ushort)i, bit), sense.Value.SenseKeySpecific);
                }
            }
        }
    }
}

using CtlHa.Iscsi.Pdus;
using CtlHa.Iscsi.Tests.Support;

namespace CtlHa.Iscsi.Tests.Loopback;

[Collection("loopback")]
public sealed class ManySessionsTests
{
    [Fact(Timeout = 60000)]
    public async Task Many_sessions_write_and_read_back_their_own_blocks_at_the_same_time()
    {
        await using RunningTarget target = await RunningTarget.StartAsync();
        const int Sessions = 16;
        const int Rounds = 20;
        await Task.WhenAll(Enumerable.Range(0, Sessions).Select(async s =>
        {
            await using FakeInitiator initiator = await FakeInitiator.ConnectAsync(target.EndPoint);
            initiator.Isid = 0x80_0000_0010_00ul + (ulong)s;
            initiator.InitiatorName = $"iqn.2026-11.org.ctlha:many-{s}";
            await initiator.LoginOkAsync(RunningTarget.TargetName);
            for (int round = 0; round < Rounds; round++)
            {
                uint lba = (uint)(s * 64 + round);
                byte[] data = Enumerable.Range(0, 512).Select(i => (byte)(s ^ round ^ i)).ToArray();
                uint itt = initiator.NextItt++;
                await initiator.SendAsync(initiator.ScsiCommand(itt, ProtocolTests.Write10(lba, 1), 512, read: false, write: true, immediateLength: 512), data);
                ReceivedPdu response = await initiator.ExpectAsync(IscsiOpcode.ScsiResponse);
                Assert.Equal(0, response.Header[3]);
                itt = initiator.NextItt++;
                await initiator.SendAsync(initiator.ScsiCommand(itt, ProtocolTests.Read10(lba, 1), 512, read: true, write: false));
                ReceivedPdu dataIn = await initiator.ExpectAsync(IscsiOpcode.DataIn);
                Assert.Equal(data, dataIn.Data);
            }
            await initiator.SendAsync(initiator.LogoutRequest(initiator.NextItt++));
            await initiator.ExpectAsync(IscsiOpcode.LogoutResponse);
        }));
        Assert.Equal(Sessions, target.DiskTarget.Events.Count(e => e.StartsWith("created", StringComparison.Ordinal)));
        target.AssertNoErrors();
    }
}

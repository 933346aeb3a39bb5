using CtlHa.Iscsi.Pdus;
using CtlHa.Iscsi.Tests.Support;

namespace CtlHa.Iscsi.Tests.Loopback;

/// <summary>Malformed, oversized, out-of-order and stalled input: a Reject or a drop with a logged reason, never a crash or a hang.</summary>
[Collection("loopback")]
public sealed class HostileInputTests
{
    private const string Target = RunningTarget.TargetName;

    /// <summary>Another session logs in and runs a command: the server stayed healthy.</summary>
    private static async Task AssertHealthyAsync(RunningTarget target, ulong isid)
    {
        await using FakeInitiator other = await FakeInitiator.ConnectAsync(target.EndPoint);
        other.Isid = isid;
        await other.LoginOkAsync(Target);
        await other.SendAsync(other.ScsiCommand(1, ProtocolTests.Read10(0, 1), 512, read: true, write: false));
        ReceivedPdu pdu = await other.ExpectAsync(IscsiOpcode.DataIn);
        Assert.Equal(1u, pdu.Itt);
    }

    [Fact(Timeout = 30000)]
    public async Task Unknown_opcode_is_rejected_with_the_header_and_the_session_stays_usable()
    {
        await using RunningTarget target = await RunningTarget.StartAsync();
        await using FakeInitiator initiator = await FakeInitiator.ConnectAsync(target.EndPoint);
        await initiator.LoginOkAsync(Target);
        byte[] bogus = FakeInitiator.Bhs(0x1C, 0x80);
        FakeInitiator.Put(bogus, 16, 0xABCD);
        await initiator.SendAsync(bogus);
        ReceivedPdu reject = await initiator.ExpectAsync(IscsiOpcode.Reject);
        Assert.Equal((byte)RejectReason.CommandNotSupported, reject.Header[2]);
        Assert.Equal(bogus, reject.Data);
        await initiator.SendAsync(initiator.NopOut(5));
        Assert.Equal(5u, (await initiator.ExpectAsync(IscsiOpcode.NopIn)).Itt);
        Assert.Contains(target.Logs.Warnings, w => w.Contains("unsupported opcode", StringComparison.Ordinal));
        target.AssertNoErrors();
    }

    [Fact(Timeout = 30000)]
    public async Task Data_segment_longer_than_MaxRecvDataSegmentLength_drops_the_connection_before_the_bytes_arrive()
    {
        await using RunningTarget target = await RunningTarget.StartAsync(o => new IscsiTargetOptions
        {
            Portals = o.Portals, Targets = o.Targets, NopInInterval = TimeSpan.Zero, MaxRecvDataSegmentLength = 8192,
        });
        await using FakeInitiator initiator = await FakeInitiator.ConnectAsync(target.EndPoint);
        await initiator.LoginOkAsync(Target);
        // Declares 16 MiB - 1 but sends only the header: the target must not wait for the data.
        await initiator.SendAsync(initiator.NopOut(6, dataLength: 0xFFFFFF));
        Assert.True(await initiator.ClosedWithinAsync(TimeSpan.FromSeconds(5)));
        Assert.Contains(target.Logs.Warnings, w => w.Contains("MaxRecvDataSegmentLength", StringComparison.Ordinal));
        await AssertHealthyAsync(target, 0x80_0000_0000_02);
        target.AssertNoErrors();
    }

    [Fact(Timeout = 30000)]
    public async Task A_login_that_stalls_is_dropped_after_the_login_timeout()
    {
        await using RunningTarget target = await RunningTarget.StartAsync(o => new IscsiTargetOptions
        {
            Portals = o.Portals, Targets = o.Targets, NopInInterval = TimeSpan.Zero, LoginTimeout = TimeSpan.FromMilliseconds(500),
        });
        await using FakeInitiator silent = await FakeInitiator.ConnectAsync(target.EndPoint);
        await using FakeInitiator half = await FakeInitiator.ConnectAsync(target.EndPoint);
        await half.SendRawAsync(new byte[20]); // a third of a BHS
        Assert.True(await silent.ClosedWithinAsync(TimeSpan.FromSeconds(5)));
        Assert.True(await half.ClosedWithinAsync(TimeSpan.FromSeconds(5)));
        await AssertHealthyAsync(target, 0x80_0000_0000_03);
        target.AssertNoErrors();
    }

    [Fact(Timeout = 30000)]
    public async Task A_non_login_PDU_before_login_drops_the_connection()
    {
        await using RunningTarget target = await RunningTarget.StartAsync();
        await using FakeInitiator initiator = await FakeInitiator.ConnectAsync(target.EndPoint);
        await initiator.SendAsync(initiator.ScsiCommand(1, ProtocolTests.Read10(0, 1), 512, read: true, write: false));
        Assert.True(await initiator.ClosedWithinAsync(TimeSpan.FromSeconds(5)));
        await AssertHealthyAsync(target, 0x80_0000_0000_04);
        target.AssertNoErrors();
    }

    [Fact(Timeout = 30000)]
    public async Task Login_without_InitiatorName_fails_with_missing_parameter_and_unknown_target_with_not_found()
    {
        await using RunningTarget target = await RunningTarget.StartAsync();
        await using (FakeInitiator initiator = await FakeInitiator.ConnectAsync(target.EndPoint))
        {
            byte[] data = FakeInitiator.Text(("TargetName", Target));
            await initiator.SendAsync(initiator.LoginRequest(1, 3, true, data), data);
            ReceivedPdu response = await initiator.ExpectAsync(IscsiOpcode.LoginResponse);
            Assert.Equal(0x0207, FakeInitiator.LoginStatus(response));
            Assert.True(await initiator.ClosedWithinAsync(TimeSpan.FromSeconds(5)));
        }
        await using (FakeInitiator initiator = await FakeInitiator.ConnectAsync(target.EndPoint))
        {
            ReceivedPdu response = await initiator.LoginAsync("iqn.2026-11.org.ctlha:nope");
            Assert.Equal(0x0203, FakeInitiator.LoginStatus(response));
            Assert.True(await initiator.ClosedWithinAsync(TimeSpan.FromSeconds(5)));
        }
        await AssertHealthyAsync(target, 0x80_0000_0000_05);
    }

    [Fact(Timeout = 30000)]
    public async Task Bad_header_digest_drops_the_connection()
    {
        await using RunningTarget target = await RunningTarget.StartAsync();
        await using FakeInitiator initiator = await FakeInitiator.ConnectAsync(target.EndPoint);
        ReceivedPdu login = await initiator.LoginAsync(Target, ("HeaderDigest", "CRC32C"));
        initiator.CmdSN = login.ExpCmdSN;
        byte[] nop = initiator.NopOut(7);
        await initiator.SendRawAsync(nop.Concat(new byte[] { 0xDE, 0xAD, 0xBE, 0xEF }).ToArray());
        Assert.True(await initiator.ClosedWithinAsync(TimeSpan.FromSeconds(5)));
        Assert.Contains(target.Logs.Warnings, w => w.Contains("header digest", StringComparison.Ordinal));
        await AssertHealthyAsync(target, 0x80_0000_0000_06);
    }

    [Fact(Timeout = 30000)]
    public async Task Bad_data_digest_on_a_NOP_is_rejected()
    {
        await using RunningTarget target = await RunningTarget.StartAsync();
        await using FakeInitiator initiator = await FakeInitiator.ConnectAsync(target.EndPoint);
        ReceivedPdu login = await initiator.LoginAsync(Target, ("DataDigest", "CRC32C"));
        initiator.CmdSN = login.ExpCmdSN;
        byte[] nop = initiator.NopOut(8, dataLength: 4);
        initiator.DataDigest = true;
        await initiator.SendRawAsync(nop.Concat(new byte[] { 1, 2, 3, 4, 0, 0, 0, 0 }).ToArray());
        ReceivedPdu reject = await initiator.ExpectAsync(IscsiOpcode.Reject);
        Assert.Equal((byte)RejectReason.DataDigestError, reject.Header[2]);
        await initiator.SendAsync(initiator.NopOut(9));
        Assert.Equal(9u, (await initiator.ExpectAsync(IscsiOpcode.NopIn)).Itt);
    }

    [Fact(Timeout = 30000)]
    public async Task Duplicate_task_tag_is_rejected_as_task_in_progress()
    {
        await using RunningTarget target = await RunningTarget.StartAsync();
        await using FakeInitiator initiator = await FakeInitiator.ConnectAsync(target.EndPoint);
        await initiator.LoginOkAsync(Target);
        byte[] hang = new byte[16];
        hang[0] = RamDiskTarget.HangOpcode;
        await initiator.SendAsync(initiator.ScsiCommand(44, hang, 0, read: false, write: false));
        await initiator.SendAsync(initiator.ScsiCommand(44, hang, 0, read: false, write: false));
        ReceivedPdu reject = await initiator.ExpectAsync(IscsiOpcode.Reject);
        Assert.Equal((byte)RejectReason.TaskInProgress, reject.Header[2]);
    }

    [Fact(Timeout = 30000)]
    public async Task Data_Out_with_a_wrong_DataSN_drops_the_connection_and_a_wrong_offset_is_rejected()
    {
        await using RunningTarget target = await RunningTarget.StartAsync();
        await using (FakeInitiator initiator = await FakeInitiator.ConnectAsync(target.EndPoint))
        {
            await initiator.LoginOkAsync(Target, ("ImmediateData", "No"), ("InitialR2T", "No"));
            await initiator.SendAsync(initiator.ScsiCommand(1, ProtocolTests.Write10(0, 2), 1024, read: false, write: true, final: false));
            await initiator.SendAsync(initiator.DataOut(1, 0xFFFFFFFF, 5, 0, 512, final: false), new byte[512]);
            Assert.True(await initiator.ClosedWithinAsync(TimeSpan.FromSeconds(5)));
        }
        await using (FakeInitiator initiator = await FakeInitiator.ConnectAsync(target.EndPoint))
        {
            initiator.Isid++;
            await initiator.LoginOkAsync(Target, ("ImmediateData", "No"), ("InitialR2T", "No"));
            await initiator.SendAsync(initiator.ScsiCommand(1, ProtocolTests.Write10(0, 2), 1024, read: false, write: true, final: false));
            await initiator.SendAsync(initiator.DataOut(1, 0xFFFFFFFF, 0, 512, 512, final: false), new byte[512]);
            ReceivedPdu reject = await initiator.ExpectAsync(IscsiOpcode.Reject);
            Assert.Equal((byte)RejectReason.ProtocolError, reject.Header[2]);
        }
        await AssertHealthyAsync(target, 0x80_0000_0000_07);
    }

    [Fact(Timeout = 30000)]
    public async Task Garbage_bytes_in_full_feature_phase_never_crash_the_server()
    {
        await using RunningTarget target = await RunningTarget.StartAsync();
        var random = new Random(1234);
        for (int round = 0; round < 5; round++)
        {
            await using FakeInitiator initiator = await FakeInitiator.ConnectAsync(target.EndPoint);
            initiator.Isid = 0x80_0000_0001_00ul + (ulong)round;
            await initiator.LoginOkAsync(Target);
            byte[] junk = new byte[48 * 4];
            random.NextBytes(junk);
            await initiator.SendRawAsync(junk);
            await initiator.ClosedWithinAsync(TimeSpan.FromMilliseconds(500));
        }
        await AssertHealthyAsync(target, 0x80_0000_0000_08);
        target.AssertNoErrors();
    }

    [Fact(Timeout = 30000)]
    public async Task Session_limit_refuses_extra_logins_with_out_of_resources()
    {
        await using RunningTarget target = await RunningTarget.StartAsync(o => new IscsiTargetOptions
        {
            Portals = o.Portals, Targets = o.Targets, NopInInterval = TimeSpan.Zero, MaxSessions = 1,
        });
        await using FakeInitiator first = await FakeInitiator.ConnectAsync(target.EndPoint);
        await first.LoginOkAsync(Target);
        await using FakeInitiator second = await FakeInitiator.ConnectAsync(target.EndPoint);
        second.Isid++;
        ReceivedPdu response = await second.LoginAsync(Target);
        Assert.Equal(0x0302, FakeInitiator.LoginStatus(response));
    }
}

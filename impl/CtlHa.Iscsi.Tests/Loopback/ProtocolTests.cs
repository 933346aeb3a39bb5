using System.Buffers.Binary;
using CtlHa.Iscsi.Pdus;
using CtlHa.Iscsi.Tests.Support;

namespace CtlHa.Iscsi.Tests.Loopback;

/// <summary>Full-feature behaviour over 127.0.0.1 with the scripted fake initiator and the RAM disk.</summary>
[Collection("loopback")]
public sealed class ProtocolTests
{
    private const string Target = RunningTarget.TargetName;

    internal static byte[] Read10(uint lba, ushort blocks)
    {
        byte[] cdb = new byte[16];
        cdb[0] = 0x28;
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(7), blocks);
        return cdb;
    }

    internal static byte[] Write10(uint lba, ushort blocks)
    {
        byte[] cdb = Read10(lba, blocks);
        cdb[0] = 0x2A;
        return cdb;
    }

    private static byte[] Pattern(int length, byte seed)
    {
        byte[] data = new byte[length];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (byte)(seed + i * 7);
        }
        return data;
    }

    [Fact(Timeout = 30000)]
    public async Task Read_returns_data_with_status_collapsed_into_the_last_Data_In()
    {
        await using RunningTarget target = await RunningTarget.StartAsync();
        Pattern(4096, 3).CopyTo(target.Disk[(8 * 512)..]);
        await using FakeInitiator initiator = await FakeInitiator.ConnectAsync(target.EndPoint);
        await initiator.LoginOkAsync(Target, ("MaxRecvDataSegmentLength", "1024"));

        await initiator.SendAsync(initiator.ScsiCommand(7, Read10(8, 8), 4096, read: true, write: false));
        var received = new List<byte>();
        ReceivedPdu pdu;
        uint dataSN = 0;
        do
        {
            pdu = await initiator.ExpectAsync(IscsiOpcode.DataIn);
            Assert.Equal(7u, pdu.Itt);
            Assert.Equal(dataSN++, pdu.Field(36));
            Assert.Equal((uint)received.Count, pdu.Field(40));
            Assert.True(pdu.Data.Length <= 1024);
            received.AddRange(pdu.Data);
        }
        while ((pdu.Flags & 0x01) == 0);
        Assert.Equal(0x81, pdu.Flags & 0x87); // F and S, no residual
        Assert.Equal(0, pdu.Header[3]);       // GOOD
        Assert.Equal(Pattern(4096, 3), received.ToArray());
        await initiator.ExpectSilenceAsync(TimeSpan.FromMilliseconds(200)); // no separate SCSI Response
        target.AssertNoErrors();
    }

    [Fact(Timeout = 30000)]
    public async Task Write_with_immediate_data_and_an_R2T_for_the_rest_lands_on_disk()
    {
        await using RunningTarget target = await RunningTarget.StartAsync(o => new IscsiTargetOptions
        {
            Portals = o.Portals, Targets = o.Targets, NopInInterval = TimeSpan.Zero, FirstBurstLength = 1024, MaxBurstLength = 2048,
        });
        await using FakeInitiator initiator = await FakeInitiator.ConnectAsync(target.EndPoint);
        await initiator.LoginOkAsync(Target, ("ImmediateData", "Yes"), ("InitialR2T", "Yes"), ("FirstBurstLength", "65536"), ("MaxBurstLength", "262144"));

        byte[] data = Pattern(4096, 9);
        await initiator.SendAsync(initiator.ScsiCommand(9, Write10(100, 8), 4096, read: false, write: true, final: true, immediateLength: 1024), data[..1024]);
        int offset = 1024;
        while (offset < 4096)
        {
            ReceivedPdu r2t = await initiator.ExpectAsync(IscsiOpcode.ReadyToTransfer);
            Assert.Equal((uint)offset, r2t.Field(40));
            uint length = r2t.Field(44);
            Assert.True(length <= 2048);
            await initiator.SendAsync(initiator.DataOut(9, r2t.Ttt, 0, (uint)offset, (int)length, final: true), data[offset..(offset + (int)length)]);
            offset += (int)length;
        }
        ReceivedPdu response = await initiator.ExpectAsync(IscsiOpcode.ScsiResponse);
        Assert.Equal(0, response.Header[3]);
        Assert.Equal(data, target.Disk.Slice(100 * 512, 4096).ToArray());
        target.AssertNoErrors();
    }

    [Fact(Timeout = 30000)]
    public async Task Unsolicited_Data_Out_up_to_FirstBurstLength_is_accepted_without_R2T()
    {
        await using RunningTarget target = await RunningTarget.StartAsync();
        await using FakeInitiator initiator = await FakeInitiator.ConnectAsync(target.EndPoint);
        await initiator.LoginOkAsync(Target, ("ImmediateData", "No"), ("InitialR2T", "No"));

        byte[] data = Pattern(2048, 1);
        await initiator.SendAsync(initiator.ScsiCommand(3, Write10(50, 4), 2048, read: false, write: true, final: false));
        await initiator.SendAsync(initiator.DataOut(3, 0xFFFFFFFF, 0, 0, 1024, final: false), data[..1024]);
        await initiator.SendAsync(initiator.DataOut(3, 0xFFFFFFFF, 1, 1024, 1024, final: true), data[1024..]);
        ReceivedPdu response = await initiator.ExpectAsync(IscsiOpcode.ScsiResponse);
        Assert.Equal(0, response.Header[3]);
        Assert.Equal(data, target.Disk.Slice(50 * 512, 2048).ToArray());
    }

    [Fact(Timeout = 30000)]
    public async Task A_write_that_fails_its_CDB_checks_gets_status_without_any_R2T_and_the_connection_goes_on()
    {
        // libiscsi Write10.BeyondEol: ImmediateData=Yes, InitialR2T=No, EDTL 69120 > FirstBurstLength 65536. An R2T sent
        // before the CHECK CONDITION made libiscsi send Data-Out from a buffer its caller had freed after the status.
        await using RunningTarget target = await RunningTarget.StartAsync();
        await using FakeInitiator initiator = await FakeInitiator.ConnectAsync(target.EndPoint);
        await initiator.LoginOkAsync(Target, ("ImmediateData", "Yes"), ("InitialR2T", "No"), ("FirstBurstLength", "65536"), ("MaxBurstLength", "262144"));
        uint beyond = (uint)target.DiskTarget.Blocks;
        for (ushort blocks = 129; blocks <= 160; blocks++)
        {
            uint itt = blocks;
            int edtl = blocks * 512;
            await initiator.SendAsync(initiator.ScsiCommand(itt, Write10(beyond, blocks), (uint)edtl, read: false, write: true, final: true, immediateLength: 65536), new byte[65536]);
            ReceivedPdu first = await initiator.ReceiveAsync() ?? throw new InvalidOperationException("connection closed");
            Assert.Equal(IscsiOpcode.ScsiResponse, first.Opcode); // no R2T first
            Assert.Equal(itt, first.Itt);
            Assert.Equal(0x02, first.Header[3]); // CHECK CONDITION
            Assert.Equal(0x05, first.Data[2 + 2] & 0x0F); // ILLEGAL REQUEST
            Assert.Equal(0x21, first.Data[2 + 12]);       // LBA OUT OF RANGE
        }
        await initiator.ExpectSilenceAsync(TimeSpan.FromMilliseconds(200));

        // Unsolicited Data-Out for a command that already ended is absorbed and discarded; the session goes on.
        await initiator.SendAsync(initiator.ScsiCommand(500, Write10(beyond, 64), 32768, read: false, write: true, final: false, immediateLength: 8192), new byte[8192]);
        ReceivedPdu early = await initiator.ExpectAsync(IscsiOpcode.ScsiResponse);
        Assert.Equal(0x02, early.Header[3]);
        await initiator.SendAsync(initiator.DataOut(500, 0xFFFFFFFF, 0, 8192, 8192, final: false), new byte[8192]);
        await initiator.SendAsync(initiator.DataOut(500, 0xFFFFFFFF, 1, 16384, 16384, final: true), new byte[16384]);
        byte[] data = Pattern(69120, 5);
        await initiator.SendAsync(initiator.ScsiCommand(501, Write10(10, 135), 69120, read: false, write: true, final: true, immediateLength: 65536), data[..65536]);
        ReceivedPdu r2t = await initiator.ExpectAsync(IscsiOpcode.ReadyToTransfer);
        Assert.Equal(501u, r2t.Itt);
        Assert.Equal(65536u, r2t.Field(40));
        Assert.Equal(69120u - 65536u, r2t.Field(44));
        await initiator.SendAsync(initiator.DataOut(501, r2t.Ttt, 0, 65536, 69120 - 65536, final: true), data[65536..]);
        ReceivedPdu response = await initiator.ExpectAsync(IscsiOpcode.ScsiResponse);
        Assert.Equal(0, response.Header[3]);
        Assert.Equal(data, target.Disk.Slice(10 * 512, 69120).ToArray());
        target.AssertNoErrors();
    }

    [Fact(Timeout = 30000)]
    public async Task Read_with_a_larger_EDTL_reports_underflow_and_a_smaller_one_is_clipped_with_overflow()
    {
        await using RunningTarget target = await RunningTarget.StartAsync();
        await using FakeInitiator initiator = await FakeInitiator.ConnectAsync(target.EndPoint);
        await initiator.LoginOkAsync(Target);

        await initiator.SendAsync(initiator.ScsiCommand(1, Read10(0, 1), 1024, read: true, write: false));
        ReceivedPdu last = await initiator.ExpectAsync(IscsiOpcode.DataIn);
        Assert.Equal(512, last.Data.Length);
        Assert.Equal(0x02, last.Flags & 0x06); // U
        Assert.Equal(512u, last.Field(44));

        await initiator.SendAsync(initiator.ScsiCommand(2, Read10(0, 2), 512, read: true, write: false));
        last = await initiator.ExpectAsync(IscsiOpcode.DataIn);
        Assert.Equal(512, last.Data.Length);
        Assert.Equal(0x04, last.Flags & 0x06); // O
        Assert.Equal(512u, last.Field(44));
    }

    [Fact(Timeout = 30000)]
    public async Task Check_condition_carries_sense_data_in_the_SCSI_Response()
    {
        await using RunningTarget target = await RunningTarget.StartAsync();
        await using FakeInitiator initiator = await FakeInitiator.ConnectAsync(target.EndPoint);
        await initiator.LoginOkAsync(Target);
        byte[] cdb = new byte[16];
        cdb[0] = 0xEE; // unsupported opcode on the RAM disk
        await initiator.SendAsync(initiator.ScsiCommand(4, cdb, 0, read: false, write: false));
        ReceivedPdu response = await initiator.ExpectAsync(IscsiOpcode.ScsiResponse);
        Assert.Equal(0x02, response.Header[3]);
        int senseLength = BinaryPrimitives.ReadUInt16BigEndian(response.Data);
        Assert.Equal(18, senseLength);
        Assert.Equal(0x70, response.Data[2]);
        Assert.Equal(0x05, response.Data[2 + 2]);
        Assert.Equal(0x20, response.Data[2 + 12]);
    }

    [Fact(Timeout = 30000)]
    public async Task Commands_from_one_connection_run_concurrently()
    {
        await using RunningTarget target = await RunningTarget.StartAsync();
        await using FakeInitiator initiator = await FakeInitiator.ConnectAsync(target.EndPoint);
        await initiator.LoginOkAsync(Target);
        byte[] hang = new byte[16];
        hang[0] = RamDiskTarget.HangOpcode;
        await initiator.SendAsync(initiator.ScsiCommand(10, hang, 0, read: false, write: false));
        await initiator.SendAsync(initiator.ScsiCommand(11, Read10(0, 1), 512, read: true, write: false));
        ReceivedPdu pdu = await initiator.ExpectAsync(IscsiOpcode.DataIn);
        Assert.Equal(11u, pdu.Itt);
        Assert.Equal(1, target.DiskHanging());
    }

    [Fact(Timeout = 30000)]
    public async Task Abort_task_answers_after_the_task_ended_and_the_task_gets_no_response()
    {
        await using RunningTarget target = await RunningTarget.StartAsync();
        await using FakeInitiator initiator = await FakeInitiator.ConnectAsync(target.EndPoint);
        await initiator.LoginOkAsync(Target);
        byte[] hang = new byte[16];
        hang[0] = RamDiskTarget.HangOpcode;
        uint hangCmdSN = initiator.CmdSN;
        await initiator.SendAsync(initiator.ScsiCommand(20, hang, 0, read: false, write: false));
        for (int i = 0; i < 100 && target.DiskHanging() == 0; i++)
        {
            await Task.Delay(10);
        }
        await initiator.SendAsync(initiator.TaskManagement(1, 21, 20, hangCmdSN));
        ReceivedPdu response = await initiator.ExpectAsync(IscsiOpcode.TaskManagementResponse);
        Assert.Equal(21u, response.Itt);
        Assert.Equal(0, response.Header[2]); // Function complete
        await initiator.ExpectSilenceAsync(TimeSpan.FromMilliseconds(200));

        // Unknown tag outside the window: task does not exist.
        await initiator.SendAsync(initiator.TaskManagement(1, 22, 0x999, hangCmdSN));
        response = await initiator.ExpectAsync(IscsiOpcode.TaskManagementResponse);
        Assert.Equal(1, response.Header[2]);
        target.AssertNoErrors();
    }

    [Fact(Timeout = 30000)]
    public async Task Out_of_window_CmdSN_is_dropped_silently_and_the_session_goes_on()
    {
        await using RunningTarget target = await RunningTarget.StartAsync();
        await using FakeInitiator initiator = await FakeInitiator.ConnectAsync(target.EndPoint);
        await initiator.LoginOkAsync(Target);
        uint good = initiator.CmdSN;
        initiator.CmdSN = good + 1000;
        await initiator.SendAsync(initiator.ScsiCommand(30, Read10(0, 1), 512, read: true, write: false));
        initiator.CmdSN = good - 5;
        await initiator.SendAsync(initiator.ScsiCommand(31, Read10(0, 1), 512, read: true, write: false));
        await initiator.ExpectSilenceAsync(TimeSpan.FromMilliseconds(300));
        initiator.CmdSN = good;
        await initiator.SendAsync(initiator.ScsiCommand(32, Read10(0, 1), 512, read: true, write: false));
        ReceivedPdu pdu = await initiator.ExpectAsync(IscsiOpcode.DataIn);
        Assert.Equal(32u, pdu.Itt);
        Assert.Equal(good + 1, pdu.ExpCmdSN);
    }

    [Fact(Timeout = 30000)]
    public async Task MaxCmdSN_opens_the_window_as_commands_finish()
    {
        await using RunningTarget target = await RunningTarget.StartAsync(o => new IscsiTargetOptions
        {
            Portals = o.Portals, Targets = o.Targets, NopInInterval = TimeSpan.Zero, MaxOutstandingCommands = 4,
        });
        await using FakeInitiator initiator = await FakeInitiator.ConnectAsync(target.EndPoint);
        ReceivedPdu login = await initiator.LoginAsync(Target);
        Assert.Equal(login.ExpCmdSN + 3, login.MaxCmdSN);
        initiator.CmdSN = login.ExpCmdSN;
        await initiator.SendAsync(initiator.ScsiCommand(40, Read10(0, 1), 512, read: true, write: false));
        ReceivedPdu pdu = await initiator.ExpectAsync(IscsiOpcode.DataIn);
        Assert.Equal(pdu.ExpCmdSN + 3, pdu.MaxCmdSN);
    }

    [Fact(Timeout = 30000)]
    public async Task Nop_Out_ping_is_answered_with_the_same_data()
    {
        await using RunningTarget target = await RunningTarget.StartAsync();
        await using FakeInitiator initiator = await FakeInitiator.ConnectAsync(target.EndPoint);
        await initiator.LoginOkAsync(Target);
        byte[] payload = Pattern(37, 5);
        await initiator.SendAsync(initiator.NopOut(50, dataLength: payload.Length), payload);
        ReceivedPdu nopIn = await initiator.ExpectAsync(IscsiOpcode.NopIn);
        Assert.Equal(50u, nopIn.Itt);
        Assert.Equal(0xFFFFFFFFu, nopIn.Ttt);
        Assert.Equal(payload, nopIn.Data);
    }

    [Fact(Timeout = 30000)]
    public async Task Target_NOP_In_keep_alive_drops_an_initiator_that_never_answers()
    {
        await using RunningTarget target = await RunningTarget.StartAsync(o => new IscsiTargetOptions
        {
            Portals = o.Portals, Targets = o.Targets, NopInInterval = TimeSpan.FromMilliseconds(200), NopInTimeout = TimeSpan.FromMilliseconds(400),
        });
        await using FakeInitiator initiator = await FakeInitiator.ConnectAsync(target.EndPoint);
        await initiator.LoginOkAsync(Target);
        ReceivedPdu ping = await initiator.ExpectAsync(IscsiOpcode.NopIn);
        Assert.Equal(0xFFFFFFFFu, ping.Itt);
        Assert.NotEqual(0xFFFFFFFFu, ping.Ttt);
        Assert.True(await initiator.ClosedWithinAsync(TimeSpan.FromSeconds(5)));

        // Answering keeps the connection.
        await using FakeInitiator polite = await FakeInitiator.ConnectAsync(target.EndPoint);
        polite.Isid++;
        await polite.LoginOkAsync(Target);
        for (int i = 0; i < 3; i++)
        {
            ping = await polite.ExpectAsync(IscsiOpcode.NopIn);
            await polite.SendAsync(polite.NopOut(0xFFFFFFFF, ping.Ttt));
        }
        await polite.SendAsync(polite.NopOut(60));
        ReceivedPdu? reply;
        do
        {
            reply = await polite.ReceiveAsync();
        }
        while (reply is { Opcode: IscsiOpcode.NopIn, Itt: 0xFFFFFFFF });
        Assert.NotNull(reply);
        Assert.Equal(60u, reply.Itt);
    }

    [Fact(Timeout = 30000)]
    public async Task Logout_answers_and_closes_and_the_nexus_is_lost()
    {
        await using RunningTarget target = await RunningTarget.StartAsync();
        await using FakeInitiator initiator = await FakeInitiator.ConnectAsync(target.EndPoint);
        await initiator.LoginOkAsync(Target);
        await initiator.SendAsync(initiator.LogoutRequest(70));
        ReceivedPdu response = await initiator.ExpectAsync(IscsiOpcode.LogoutResponse);
        Assert.Equal(0, response.Header[2]);
        Assert.True(await initiator.ClosedWithinAsync(TimeSpan.FromSeconds(5)));
        for (int i = 0; i < 100 && !target.DiskEvents().Any(e => e.StartsWith("lost", StringComparison.Ordinal)); i++)
        {
            await Task.Delay(20);
        }
        Assert.Contains(target.DiskEvents(), e => e.StartsWith("lost", StringComparison.Ordinal));
        target.AssertNoErrors();
    }

    [Fact(Timeout = 30000)]
    public async Task A_second_login_with_the_same_ISID_reinstates_the_session_losing_the_old_nexus_first()
    {
        await using RunningTarget target = await RunningTarget.StartAsync();
        await using FakeInitiator first = await FakeInitiator.ConnectAsync(target.EndPoint);
        await first.LoginOkAsync(Target);
        await using FakeInitiator second = await FakeInitiator.ConnectAsync(target.EndPoint);
        await second.LoginOkAsync(Target);
        Assert.True(await first.ClosedWithinAsync(TimeSpan.FromSeconds(5)));
        string[] events = target.DiskEvents();
        Assert.Equal(3, events.Length);
        Assert.StartsWith("created", events[0], StringComparison.Ordinal);
        Assert.StartsWith("lost", events[1], StringComparison.Ordinal);
        Assert.StartsWith("created", events[2], StringComparison.Ordinal);
        Assert.Equal(1, target.Server.SessionCount);
    }

    [Fact(Timeout = 30000)]
    public async Task Discovery_SendTargets_All_lists_every_target_with_its_portal()
    {
        await using RunningTarget target = await RunningTarget.StartAsync();
        await using FakeInitiator initiator = await FakeInitiator.ConnectAsync(target.EndPoint);
        byte[] login = FakeInitiator.Text(("InitiatorName", initiator.InitiatorName), ("SessionType", "Discovery"));
        await initiator.SendAsync(initiator.LoginRequest(1, 3, true, login), login);
        ReceivedPdu response = await initiator.ExpectAsync(IscsiOpcode.LoginResponse);
        Assert.Equal(0, FakeInitiator.LoginStatus(response));
        initiator.CmdSN = response.ExpCmdSN;
        byte[] text = FakeInitiator.Text(("SendTargets", "All"));
        await initiator.SendAsync(initiator.TextRequest(1, text.Length), text);
        ReceivedPdu reply = await initiator.ExpectAsync(IscsiOpcode.TextResponse);
        string body = System.Text.Encoding.UTF8.GetString(reply.Data);
        Assert.Contains($"TargetName={RunningTarget.TargetName}\0TargetAddress=127.0.0.1:{target.Port},1\0", body, StringComparison.Ordinal);
        Assert.Contains($"TargetName={RunningTarget.SecondTargetName}\0", body, StringComparison.Ordinal);
    }

    [Fact(Timeout = 30000)]
    public async Task Extended_CDB_AHS_reaches_the_executor_as_one_long_CDB()
    {
        await using RunningTarget target = await RunningTarget.StartAsync();
        await using FakeInitiator initiator = await FakeInitiator.ConnectAsync(target.EndPoint);
        await initiator.LoginOkAsync(Target);
        byte[] cdb = Enumerable.Range(0, 32).Select(i => (byte)(0x7F + i)).ToArray();
        byte[] header = initiator.ScsiCommand(90, cdb[..16], 0, read: false, write: false);
        // RFC 7143 §11.2.2.3: AHSLength = 17 (reserved byte + 16 CDB bytes), type 1; 20 bytes with padding.
        byte[] ahs = new byte[20];
        ahs[1] = 17;
        ahs[2] = 0x01;
        cdb.AsSpan(16).CopyTo(ahs.AsSpan(4));
        header[4] = (byte)(ahs.Length / 4);
        await initiator.SendRawAsync(header.Concat(ahs).ToArray());
        ReceivedPdu response = await initiator.ExpectAsync(IscsiOpcode.ScsiResponse);
        Assert.Equal(0, response.Header[3]);
        Assert.Equal(cdb, target.DiskTarget.LastVariableLengthCdb);
    }

    [Fact(Timeout = 30000)]
    public async Task CRC32C_digests_apply_after_login_in_both_directions()
    {
        await using RunningTarget target = await RunningTarget.StartAsync();
        await using FakeInitiator initiator = await FakeInitiator.ConnectAsync(target.EndPoint);
        ReceivedPdu login = await initiator.LoginAsync(Target, ("HeaderDigest", "CRC32C,None"), ("DataDigest", "CRC32C,None"));
        Assert.Equal("CRC32C", login.Keys()["HeaderDigest"]);
        Assert.Equal("CRC32C", login.Keys()["DataDigest"]);
        initiator.CmdSN = login.ExpCmdSN;
        initiator.HeaderDigest = true;
        initiator.DataDigest = true;
        await initiator.SendAsync(initiator.NopOut(80, dataLength: 5), [1, 2, 3, 4, 5]);
        ReceivedPdu nop = await initiator.ExpectAsync(IscsiOpcode.NopIn);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, nop.Data);
    }
}

internal static class RunningTargetExtensions
{
    public static string[] DiskEvents(this RunningTarget target) => [.. target.Disk_Events()];

    public static int DiskHanging(this RunningTarget target) => target.DiskTarget.HangingCount;

    private static IEnumerable<string> Disk_Events(this RunningTarget target) => target.DiskTarget.Events;
}

using System.Buffers.Binary;
using CtlHa.Initiator.Pdus;
using CtlHa.Initiator.Scsi;

namespace CtlHa.Initiator.Tests.Loopback;

/// <summary>The session against a scripted fake target: behaviours tgt cannot be made to show on demand.</summary>
public sealed class SessionLoopbackTests
{
    private const int TestTimeoutMs = 30_000;

    private static InitiatorOptions Options() => new()
    {
        InitiatorName = "iqn.2026-11.org.ctlha.test:loopback",
        CommandTimeout = TimeSpan.FromSeconds(10),
        LoginTimeout = TimeSpan.FromSeconds(5),
        LogoutTimeout = TimeSpan.FromSeconds(1),
    };

    private static async Task<(FakeTarget Target, IscsiInitiatorSession Session)> StartAsync(CancellationToken ct,
        InitiatorOptions? options = null, IReadOnlyDictionary<string, string>? overrides = null, uint window = 32)
    {
        var target = FakeTarget.Start();
        target.Window = window;
        var accept = target.AcceptLoginAsync(ct, overrides);
        var session = await IscsiInitiatorSession.ConnectAsync("127.0.0.1", target.Port, FakeTarget.TargetName, options ?? Options(), ct);
        await accept;
        return (target, session);
    }

    private static IscsiPdu Response(IscsiPdu command, ScsiStatus status, byte[]? sense = null)
    {
        var pdu = new IscsiPdu(IscsiOpcode.ScsiResponse)
        {
            Flags = 0x80,
            Byte3 = (byte)status,
            InitiatorTaskTag = command.InitiatorTaskTag,
        };
        if (sense is not null)
        {
            var data = new byte[2 + sense.Length];
            BinaryPrimitives.WriteUInt16BigEndian(data, (ushort)sense.Length);
            sense.CopyTo(data, 2);
            pdu.Data = data;
        }

        return pdu;
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task A_closed_command_window_holds_the_command_until_MaxCmdSN_moves()
    {
        using var cts = new CancellationTokenSource(TestTimeoutMs);
        var (target, session) = await StartAsync(cts.Token, window: 0);
        await using var _ = target;
        await using var __ = session;

        var command = session.TestUnitReadyAsync(0, cts.Token);
        Assert.Null(await target.TryReceiveAsync(TimeSpan.FromMilliseconds(300), cts.Token));

        target.Window = 1;
        var nop = target.Stamp(new IscsiPdu(IscsiOpcode.NopIn)
        {
            Final = true,
            InitiatorTaskTag = IscsiPdu.ReservedTag,
            TargetTransferTag = IscsiPdu.ReservedTag,
        }, advanceStatSN: false);
        await target.SendAsync(nop, cts.Token);

        var received = await target.ReceiveAsync(cts.Token);
        Assert.Equal(IscsiOpcode.ScsiCommand, received.Opcode);
        Assert.Equal(1u, received.CmdSN);
        target.ExpCmdSN = 2;
        await target.SendAsync(target.Stamp(Response(received, ScsiStatus.Good)), cts.Token);
        Assert.True((await command).IsGood);
        Assert.Equal(2u, session.SequenceNumbers.CmdSN);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task CmdSN_wraps_past_two_to_the_32_within_the_window()
    {
        using var cts = new CancellationTokenSource(TestTimeoutMs);
        var (target, session) = await StartAsync(cts.Token, Options() with { InitialCmdSN = 0xFFFF_FFFE }, window: 4);
        await using var _ = target;
        await using var __ = session;
        Assert.Equal(0xFFFF_FFFEu, session.SequenceNumbers.CmdSN);
        Assert.Equal(0x0000_0001u, session.SequenceNumbers.MaxCmdSN);

        var commands = Enumerable.Range(0, 4).Select(_ => session.TestUnitReadyAsync(0, cts.Token)).ToArray();
        var received = new List<IscsiPdu>();
        for (var i = 0; i < 4; i++)
        {
            received.Add(await target.ReceiveAsync(cts.Token));
        }

        Assert.Equal(new uint[] { 0xFFFF_FFFE, 0xFFFF_FFFF, 0, 1 }, received.Select(p => p.CmdSN).Order(Comparer<uint>.Create((a, b) =>
            Serial.Less(a, b) ? -1 : Serial.Greater(a, b) ? 1 : 0)).ToArray());
        var fifth = session.TestUnitReadyAsync(0, cts.Token);
        Assert.Null(await target.TryReceiveAsync(TimeSpan.FromMilliseconds(200), cts.Token));

        foreach (var command in received)
        {
            target.ExpCmdSN++;
            await target.SendAsync(target.Stamp(Response(command, ScsiStatus.Good)), cts.Token);
        }

        Assert.All(await Task.WhenAll(commands), r => Assert.True(r.IsGood));
        var last = await target.ReceiveAsync(cts.Token);
        Assert.Equal(2u, last.CmdSN);
        target.ExpCmdSN++;
        await target.SendAsync(target.Stamp(Response(last, ScsiStatus.Good)), cts.Token);
        Assert.True((await fifth).IsGood);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Data_In_with_status_collapse_reports_data_and_underflow()
    {
        using var cts = new CancellationTokenSource(TestTimeoutMs);
        var (target, session) = await StartAsync(cts.Token);
        await using var _ = target;
        await using var __ = session;

        var command = session.InquiryAsync(0, cts.Token, allocationLength: 96);
        var received = await target.ReceiveAsync(cts.Token);
        Assert.Equal(0x40 | 0x80 | (int)TaskAttribute.Simple, received.Flags);
        Assert.Equal(96u, received.Dword20);
        target.ExpCmdSN++;
        var first = new IscsiPdu(IscsiOpcode.ScsiDataIn)
        {
            InitiatorTaskTag = received.InitiatorTaskTag,
            TargetTransferTag = IscsiPdu.ReservedTag,
            Dword36 = 0,
            Dword40 = 0,
            Data = Enumerable.Repeat((byte)0xAA, 20).ToArray(),
        };
        await target.SendAsync(target.Stamp(first, advanceStatSN: false), cts.Token);
        var last = new IscsiPdu(IscsiOpcode.ScsiDataIn)
        {
            Flags = 0x80 | 0x02 | 0x01,
            Byte3 = 0,
            InitiatorTaskTag = received.InitiatorTaskTag,
            TargetTransferTag = IscsiPdu.ReservedTag,
            Dword36 = 1,
            Dword40 = 20,
            Dword44 = 60,
            Data = Enumerable.Repeat((byte)0xBB, 16).ToArray(),
        };
        await target.SendAsync(target.Stamp(last), cts.Token);

        var response = await command;
        Assert.True(response.IsGood);
        Assert.Equal(36, response.DataIn.Length);
        Assert.True(response.ResidualUnderflow);
        Assert.Equal(60u, response.ResidualCount);
        Assert.Equal(0xBB, response.DataIn.Span[35]);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Check_condition_carries_sense_as_a_value()
    {
        using var cts = new CancellationTokenSource(TestTimeoutMs);
        var (target, session) = await StartAsync(cts.Token);
        await using var _ = target;
        await using var __ = session;

        var command = session.TestUnitReadyAsync(3, cts.Token);
        var received = await target.ReceiveAsync(cts.Token);
        Assert.Equal(ScsiLun.Encode(3), received.Lun);
        target.ExpCmdSN++;
        var sense = new byte[18];
        sense[0] = 0x70;
        sense[2] = 0x02;
        sense[7] = 10;
        sense[12] = 0x04;
        sense[13] = 0x0A;
        await target.SendAsync(target.Stamp(Response(received, ScsiStatus.CheckCondition, sense)), cts.Token);
        var response = await command;
        Assert.Equal(ScsiStatus.CheckCondition, response.Status);
        Assert.Equal(SenseKey.NotReady, response.SenseData!.Key);
        Assert.Equal(0x04, response.SenseData.Asc);
        Assert.Equal(0x0A, response.SenseData.Ascq);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task R2T_solicited_data_out_follows_offsets_tags_and_segment_limits()
    {
        using var cts = new CancellationTokenSource(TestTimeoutMs);
        var options = Options() with { InitialR2T = true, ImmediateData = false };
        var (target, session) = await StartAsync(cts.Token, options, new Dictionary<string, string>
        {
            ["TargetMaxRecvDataSegmentLength"] = "4096",
        });
        await using var _ = target;
        await using var __ = session;
        Assert.Equal(4096, session.Parameters.TargetMaxRecvDataSegmentLength);

        var payload = Enumerable.Range(0, 20000).Select(i => (byte)i).ToArray();
        var command = session.ExecuteAsync(1, Cdb.Write10(0, 40), payload, 0, TaskAttribute.Ordered, cts.Token);
        var received = await target.ReceiveAsync(cts.Token);
        Assert.Equal(0x80 | 0x20 | (int)TaskAttribute.Ordered, received.Flags);
        Assert.Equal(0, received.Data.Length);
        target.ExpCmdSN++;

        var assembled = new byte[payload.Length];
        uint r2tsn = 0;
        foreach (var (offset, length, ttt) in new[] { (0, 8192, 0x10u), (8192, 11808, 0x11u) })
        {
            var r2t = new IscsiPdu(IscsiOpcode.ReadyToTransfer)
            {
                Final = true,
                InitiatorTaskTag = received.InitiatorTaskTag,
                TargetTransferTag = ttt,
                Dword36 = r2tsn++,
                Dword40 = (uint)offset,
                Dword44 = (uint)length,
            };
            await target.SendAsync(target.Stamp(r2t, advanceStatSN: false), cts.Token);
            var expectedOffset = offset;
            uint dataSN = 0;
            while (expectedOffset < offset + length)
            {
                var dataOut = await target.ReceiveAsync(cts.Token);
                Assert.Equal(IscsiOpcode.ScsiDataOut, dataOut.Opcode);
                Assert.Equal(ttt, dataOut.TargetTransferTag);
                Assert.Equal((uint)expectedOffset, dataOut.Dword40);
                Assert.Equal(dataSN++, dataOut.Dword36);
                Assert.True(dataOut.Data.Length <= 4096);
                dataOut.Data.Span.CopyTo(assembled.AsSpan(expectedOffset));
                expectedOffset += dataOut.Data.Length;
                Assert.Equal(expectedOffset == offset + length, dataOut.Final);
            }
        }

        Assert.Equal(payload, assembled);
        await target.SendAsync(target.Stamp(Response(received, ScsiStatus.Good)), cts.Token);
        Assert.True((await command).IsGood);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Immediate_and_unsolicited_data_stop_at_FirstBurstLength()
    {
        using var cts = new CancellationTokenSource(TestTimeoutMs);
        var options = Options() with { InitialR2T = false, ImmediateData = true, FirstBurstLength = 12288 };
        var (target, session) = await StartAsync(cts.Token, options, new Dictionary<string, string>
        {
            ["TargetMaxRecvDataSegmentLength"] = "4096",
        });
        await using var _ = target;
        await using var __ = session;

        var payload = Enumerable.Range(0, 16384).Select(i => (byte)(i * 3)).ToArray();
        var command = session.ExecuteAsync(0, Cdb.Write10(0, 32), payload, 0, TaskAttribute.Simple, cts.Token);
        var received = await target.ReceiveAsync(cts.Token);
        Assert.False(received.Final);
        Assert.Equal(4096, received.Data.Length);
        target.ExpCmdSN++;
        var first = await target.ReceiveAsync(cts.Token);
        var second = await target.ReceiveAsync(cts.Token);
        Assert.Equal((IscsiPdu.ReservedTag, 4096u, false), (first.TargetTransferTag, first.Dword40, first.Final));
        Assert.Equal((IscsiPdu.ReservedTag, 8192u, true), (second.TargetTransferTag, second.Dword40, second.Final));
        Assert.Null(await target.TryReceiveAsync(TimeSpan.FromMilliseconds(200), cts.Token));

        var r2t = new IscsiPdu(IscsiOpcode.ReadyToTransfer)
        {
            Final = true,
            InitiatorTaskTag = received.InitiatorTaskTag,
            TargetTransferTag = 7,
            Dword40 = 12288,
            Dword44 = 4096,
        };
        await target.SendAsync(target.Stamp(r2t, advanceStatSN: false), cts.Token);
        var solicited = await target.ReceiveAsync(cts.Token);
        Assert.Equal((7u, 12288u, true), (solicited.TargetTransferTag, solicited.Dword40, solicited.Final));
        await target.SendAsync(target.Stamp(Response(received, ScsiStatus.Good)), cts.Token);
        Assert.True((await command).IsGood);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task A_rejected_command_fails_alone_and_the_session_continues()
    {
        using var cts = new CancellationTokenSource(TestTimeoutMs);
        var (target, session) = await StartAsync(cts.Token);
        await using var _ = target;
        await using var __ = session;

        var command = session.TestUnitReadyAsync(0, cts.Token);
        var received = await target.ReceiveAsync(cts.Token);
        target.ExpCmdSN++;
        var reject = new IscsiPdu(IscsiOpcode.Reject)
        {
            Final = true,
            Byte2 = 0x09,
            InitiatorTaskTag = IscsiPdu.ReservedTag,
            Data = received.Bhs,
        };
        await target.SendAsync(target.Stamp(reject), cts.Token);
        var error = await Assert.ThrowsAsync<IscsiRejectException>(() => command);
        Assert.Equal(0x09, error.Reason);

        var next = session.TestUnitReadyAsync(0, cts.Token);
        var again = await target.ReceiveAsync(cts.Token);
        target.ExpCmdSN++;
        await target.SendAsync(target.Stamp(Response(again, ScsiStatus.Good)), cts.Token);
        Assert.True((await next).IsGood);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Async_messages_reach_the_caller()
    {
        using var cts = new CancellationTokenSource(TestTimeoutMs);
        var (target, session) = await StartAsync(cts.Token);
        await using var _ = target;
        await using var __ = session;

        var message = new IscsiPdu(IscsiOpcode.AsyncMessage)
        {
            Final = true,
            Lun = ScsiLun.Encode(2),
            InitiatorTaskTag = IscsiPdu.ReservedTag,
        };
        message.Bhs[36] = 1;
        message.SetUInt16(42, 5);
        await target.SendAsync(target.Stamp(message), cts.Token);
        var received = await session.AsyncMessages.ReadAsync(cts.Token);
        Assert.Equal(1, received.AsyncEvent);
        Assert.Equal(5, received.Parameter3);
        Assert.Equal(ScsiLun.Encode(2), received.Lun);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task A_PDU_for_an_unknown_tag_breaks_the_session_and_fails_outstanding_commands()
    {
        using var cts = new CancellationTokenSource(TestTimeoutMs);
        var (target, session) = await StartAsync(cts.Token);
        await using var _ = target;
        await using var __ = session;

        var command = session.TestUnitReadyAsync(0, cts.Token);
        await target.ReceiveAsync(cts.Token);
        var stray = new IscsiPdu(IscsiOpcode.ScsiResponse) { Flags = 0x80, InitiatorTaskTag = 0xDEAD };
        await target.SendAsync(target.Stamp(stray), cts.Token);
        await Assert.ThrowsAsync<IscsiConnectionLostException>(() => command);
        Assert.Equal(SessionState.Broken, session.State);
        Assert.IsType<IscsiProtocolException>(session.BreakCause);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task A_data_segment_over_our_MaxRecvDataSegmentLength_breaks_the_session()
    {
        using var cts = new CancellationTokenSource(TestTimeoutMs);
        var (target, session) = await StartAsync(cts.Token, Options() with { MaxRecvDataSegmentLength = 4096 });
        await using var _ = target;
        await using var __ = session;

        var command = session.InquiryAsync(0, cts.Token, allocationLength: 8192);
        var received = await target.ReceiveAsync(cts.Token);
        var tooBig = new IscsiPdu(IscsiOpcode.ScsiDataIn)
        {
            Flags = 0x81,
            InitiatorTaskTag = received.InitiatorTaskTag,
            TargetTransferTag = IscsiPdu.ReservedTag,
            Data = new byte[8192],
        };
        await target.SendAsync(target.Stamp(tooBig), cts.Token);
        var error = await Assert.ThrowsAsync<IscsiConnectionLostException>(() => command);
        Assert.Contains("MaxRecvDataSegmentLength 4096", error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task A_command_without_an_answer_times_out_with_a_typed_exception()
    {
        using var cts = new CancellationTokenSource(TestTimeoutMs);
        var (target, session) = await StartAsync(cts.Token, Options() with { CommandTimeout = TimeSpan.FromMilliseconds(300) });
        await using var _ = target;
        await using var __ = session;

        var command = session.TestUnitReadyAsync(0, cts.Token);
        await target.ReceiveAsync(cts.Token);
        await Assert.ThrowsAsync<IscsiTimeoutException>(() => command);
        Assert.Equal(SessionState.LoggedIn, session.State);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task A_successful_abort_task_fails_the_aborted_command_locally()
    {
        using var cts = new CancellationTokenSource(TestTimeoutMs);
        var (target, session) = await StartAsync(cts.Token);
        await using var _ = target;
        await using var __ = session;

        var running = session.Begin(0, Cdb.TestUnitReady(), default, 0, TaskAttribute.Simple, cts.Token);
        var command = await target.ReceiveAsync(cts.Token);
        target.ExpCmdSN++;
        var abort = session.AbortTaskAsync(running, cts.Token);
        var tmf = await target.ReceiveAsync(cts.Token);
        Assert.Equal(IscsiOpcode.TaskManagementRequest, tmf.Opcode);
        Assert.True(tmf.Immediate);
        Assert.Equal(0x80 | 1, tmf.Flags);
        Assert.Equal(running.Itt, tmf.Dword20);
        Assert.Equal(command.CmdSN, tmf.Dword32);
        var answer = new IscsiPdu(IscsiOpcode.TaskManagementResponse) { Flags = 0x80, Byte2 = 0, InitiatorTaskTag = tmf.InitiatorTaskTag };
        await target.SendAsync(target.Stamp(answer), cts.Token);
        Assert.Equal(TaskManagementResponse.FunctionComplete, await abort);
        await Assert.ThrowsAsync<IscsiTaskAbortedException>(() => running.Response);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task A_target_closing_the_connection_fails_every_outstanding_command()
    {
        using var cts = new CancellationTokenSource(TestTimeoutMs);
        var (target, session) = await StartAsync(cts.Token);
        await using var _ = target;
        await using var __ = session;

        var commands = Enumerable.Range(0, 4).Select(_ => session.TestUnitReadyAsync(0, cts.Token)).ToArray();
        for (var i = 0; i < commands.Length; i++)
        {
            await target.ReceiveAsync(cts.Token);
        }

        target.Drop();
        foreach (var command in commands)
        {
            await Assert.ThrowsAsync<IscsiConnectionLostException>(() => command);
        }
    }
}

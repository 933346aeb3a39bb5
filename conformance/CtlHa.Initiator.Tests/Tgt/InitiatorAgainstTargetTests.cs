using System.Text;
using CtlHa.Initiator.Load;
using CtlHa.Initiator.Pdus;
using CtlHa.Initiator.Scsi;
using Xunit.Abstractions;

namespace CtlHa.Initiator.Tests.Tgt;

/// <summary>
/// The initiator against a real target: tgt by default (proving the initiator is not tuned to our own target),
/// or whatever CTLHA_TEST_TARGET names. Each test carries its own deadline.
/// </summary>
[Collection(TargetCollection.Name)]
public sealed class InitiatorAgainstTargetTests(TargetFixture target, ITestOutputHelper output)
{
    private const int TestTimeoutMs = 60_000;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(45);

    private int Lun => target.Target.Lun;

    private static InitiatorOptions Options(string suffix = "a") => new()
    {
        InitiatorName = "iqn.2026-11.org.ctlha.test:initiator-" + suffix,
        CommandTimeout = TimeSpan.FromSeconds(20),
        LoginTimeout = TimeSpan.FromSeconds(10),
    };

    private Task<IscsiInitiatorSession> ConnectAsync(CancellationToken ct, InitiatorOptions? options = null) =>
        IscsiInitiatorSession.ConnectAsync(target.Target, options ?? Options(), ct);

    private static CancellationTokenSource TestDeadline() => new(Deadline);

    private async Task<uint> BlockLengthAsync(IscsiInitiatorSession session, CancellationToken ct)
    {
        var capacity = await session.GetCapacityAsync(Lun, ct);
        Assert.NotNull(capacity);
        return capacity.Value.BlockLength;
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Login_negotiates_and_logout_ends_the_session()
    {
        using var cts = TestDeadline();
        var session = await ConnectAsync(cts.Token);
        await using (session)
        {
            Assert.Equal(SessionState.LoggedIn, session.State);
            Assert.NotEqual(0, session.Tsih);
            Assert.True(session.Parameters.TargetMaxRecvDataSegmentLength >= 512);
            await session.PingAsync(cts.Token);
            await session.LogoutAsync(cts.Token);
            Assert.Equal(SessionState.LoggedOut, session.State);
            await Assert.ThrowsAsync<IscsiConnectionLostException>(() => session.TestUnitReadyAsync(Lun, cts.Token));
        }
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Discovery_session_lists_the_target_by_SendTargets()
    {
        using var cts = TestDeadline();
        var targets = await IscsiInitiatorSession.DiscoverAsync(target.Target.Host, target.Target.Port, Options(), cts.Token);
        Assert.Contains(targets, t => t.TargetName == target.Target.TargetName);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Inquiry_reports_a_direct_access_block_device()
    {
        using var cts = TestDeadline();
        await using var session = await ConnectAsync(cts.Token);
        var response = await session.InquiryAsync(Lun, cts.Token);
        Assert.True(response.IsGood, response.ToString());
        Assert.True(response.DataIn.Length >= 36);
        Assert.Equal(0x00, response.DataIn.Span[0] & 0x1F);
        if (target.IsTgt)
        {
            Assert.Equal("IET", Encoding.ASCII.GetString(response.DataIn.Span[8..16]).Trim());
        }

        var pages = await session.InquiryAsync(Lun, cts.Token, evpd: true, pageCode: 0x00);
        Assert.True(pages.IsGood, pages.ToString());
        Assert.Equal(0x00, pages.DataIn.Span[1]);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Read_capacity_16_reports_the_backing_size()
    {
        using var cts = TestDeadline();
        await using var session = await ConnectAsync(cts.Token);
        // A fresh I_T nexus may first see a unit attention; a TEST UNIT READY absorbs it.
        await session.TestUnitReadyAsync(Lun, cts.Token);
        var capacity = await session.GetCapacityAsync(Lun, cts.Token);
        Assert.NotNull(capacity);
        Assert.True(capacity.Value.BlockLength is 512 or 4096);
        if (target.IsTgt)
        {
            Assert.Equal((ulong)TargetFixture.BackingFileBytes, capacity.Value.Blocks * capacity.Value.BlockLength);
        }
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Report_luns_lists_the_test_lun()
    {
        using var cts = TestDeadline();
        await using var session = await ConnectAsync(cts.Token);
        var response = await session.ReportLunsAsync(cts.Token);
        Assert.True(response.IsGood, response.ToString());
        Assert.Contains(ScsiLun.Encode(Lun), ScsiCommands.ParseReportLuns(response.DataIn.Span));
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Writes_then_reads_back_a_pattern_at_queue_depth_8()
    {
        using var cts = TestDeadline();
        await using var session = await ConnectAsync(cts.Token);
        var blockLength = (int)await BlockLengthAsync(session, cts.Token);
        const int ioBytes = 64 * 1024;
        var blocksPerIo = ioBytes / blockLength;
        var patterns = Enumerable.Range(0, 8).Select(i => Pattern(ioBytes, seed: i + 1)).ToArray();

        var writes = patterns.Select((data, i) => session.Write16Async(Lun, (ulong)(1000 + i * blocksPerIo), data, blockLength, cts.Token)).ToArray();
        foreach (var write in await Task.WhenAll(writes))
        {
            Assert.True(write.IsGood, write.ToString());
        }

        var reads = patterns.Select((_, i) => session.Read16Async(Lun, (ulong)(1000 + i * blocksPerIo), (uint)blocksPerIo, blockLength, cts.Token)).ToArray();
        var results = await Task.WhenAll(reads);
        for (var i = 0; i < patterns.Length; i++)
        {
            Assert.True(results[i].IsGood, results[i].ToString());
            Assert.True(patterns[i].AsSpan().SequenceEqual(results[i].DataIn.Span), $"read-back {i} differs");
        }
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task A_write_larger_than_MaxBurstLength_is_carried_by_several_R2Ts()
    {
        using var cts = TestDeadline();
        await using var session = await ConnectAsync(cts.Token, Options() with { MaxBurstLength = 65536, FirstBurstLength = 16384 });
        var blockLength = (int)await BlockLengthAsync(session, cts.Token);
        var data = Pattern(512 * 1024, seed: 77);
        var write = await session.Write10Async(Lun, 5000, data, blockLength, cts.Token);
        Assert.True(write.IsGood, write.ToString());
        var read = await session.Read10Async(Lun, 5000, (ushort)(data.Length / blockLength), blockLength, cts.Token);
        Assert.True(read.IsGood, read.ToString());
        Assert.True(data.AsSpan().SequenceEqual(read.DataIn.Span));
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Writes_work_with_InitialR2T_and_no_immediate_data()
    {
        using var cts = TestDeadline();
        await using var session = await ConnectAsync(cts.Token, Options() with { InitialR2T = true, ImmediateData = false });
        Assert.True(session.Parameters.InitialR2T);
        Assert.False(session.Parameters.ImmediateData);
        var blockLength = (int)await BlockLengthAsync(session, cts.Token);
        var data = Pattern(96 * 1024, seed: 5);
        Assert.True((await session.Write16Async(Lun, 9000, data, blockLength, cts.Token)).IsGood);
        var read = await session.Read16Async(Lun, 9000, (uint)(data.Length / blockLength), blockLength, cts.Token);
        Assert.True(data.AsSpan().SequenceEqual(read.DataIn.Span));
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Unsolicited_data_out_without_immediate_data_is_accepted()
    {
        using var cts = TestDeadline();
        await using var session = await ConnectAsync(cts.Token, Options() with { InitialR2T = false, ImmediateData = false });
        var blockLength = (int)await BlockLengthAsync(session, cts.Token);
        var data = Pattern(128 * 1024, seed: 6);
        var write = await session.Write16Async(Lun, 12000, data, blockLength, cts.Token);
        Assert.True(write.IsGood, write.ToString());
        var read = await session.Read16Async(Lun, 12000, (uint)(data.Length / blockLength), blockLength, cts.Token);
        Assert.True(data.AsSpan().SequenceEqual(read.DataIn.Span));
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task CRC32C_header_and_data_digests_carry_reads_and_writes()
    {
        using var cts = TestDeadline();
        var options = Options() with { HeaderDigest = [DigestKind.Crc32C], DataDigest = [DigestKind.Crc32C] };
        await using var session = await IscsiInitiatorSession.ConnectAsync(target.DigestTarget, options, cts.Token);
        Assert.True(session.Parameters.HeaderDigest);
        Assert.True(session.Parameters.DataDigest);
        var blockLength = (int)await BlockLengthAsync(session, cts.Token);
        var data = Pattern(40 * 1024 + blockLength, seed: 9);
        Assert.True((await session.Write16Async(Lun, 200, data, blockLength, cts.Token)).IsGood);
        var read = await session.Read16Async(Lun, 200, (uint)(data.Length / blockLength), blockLength, cts.Token);
        Assert.True(data.AsSpan().SequenceEqual(read.DataIn.Span));
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Target_NOP_In_pings_are_answered_and_the_session_stays_up()
    {
        if (!target.IsTgt)
        {
            return; // Only the tgt digest target is configured to ping.
        }

        using var cts = TestDeadline();
        var options = Options() with { HeaderDigest = [DigestKind.Crc32C], DataDigest = [DigestKind.Crc32C] };
        await using var session = await IscsiInitiatorSession.ConnectAsync(target.DigestTarget, options, cts.Token);
        var waited = 0;
        while (session.TargetPingsAnswered < 2 && waited++ < 50)
        {
            await Task.Delay(100, cts.Token);
        }

        Assert.True(session.TargetPingsAnswered >= 2, $"answered {session.TargetPingsAnswered} pings");
        Assert.Equal(SessionState.LoggedIn, session.State);
        Assert.True((await session.ClearUnitAttentionsAsync(1, cts.Token)).IsGood);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Reading_past_the_end_returns_check_condition_illegal_request()
    {
        using var cts = TestDeadline();
        await using var session = await ConnectAsync(cts.Token);
        var capacity = (await session.GetCapacityAsync(Lun, cts.Token))!.Value;
        var response = await session.Read16Async(Lun, capacity.Blocks, 1, (int)capacity.BlockLength, cts.Token);
        Assert.Equal(ScsiStatus.CheckCondition, response.Status);
        var sense = response.SenseData;
        Assert.NotNull(sense);
        Assert.Equal(SenseKey.IllegalRequest, sense.Key);
        Assert.Equal(0x21, sense.Asc);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task One_way_CHAP_login_succeeds_and_a_wrong_secret_fails()
    {
        if (target.ChapTarget is null)
        {
            return; // External targets have no known CHAP account.
        }

        using var cts = TestDeadline();
        var good = Options() with { Chap = new ChapCredentials(TargetFixture.ChapUser, TargetFixture.ChapSecret) };
        var session = await IscsiInitiatorSession.ConnectAsync(target.ChapTarget, good, cts.Token);
        await using (session)
        {
            Assert.True((await session.InquiryAsync(1, cts.Token)).IsGood);
        }

        var bad = Options() with { Chap = new ChapCredentials(TargetFixture.ChapUser, "wrong-secret-000") };
        var error = await Assert.ThrowsAsync<IscsiLoginException>(() => IscsiInitiatorSession.ConnectAsync(target.ChapTarget, bad, cts.Token));
        Assert.Equal(0x02, error.StatusClass);

        var none = Options();
        await Assert.ThrowsAsync<IscsiLoginException>(() => IscsiInitiatorSession.ConnectAsync(target.ChapTarget, none, cts.Token));
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Mutual_CHAP_login_verifies_the_target()
    {
        if (target.ChapTarget is null)
        {
            return;
        }

        using var cts = TestDeadline();
        var options = Options() with
        {
            Chap = new ChapCredentials(TargetFixture.ChapUser, TargetFixture.ChapSecret),
            MutualChap = new MutualChapCredentials(TargetFixture.MutualSecret, TargetFixture.MutualUser),
        };
        await using (var session = await IscsiInitiatorSession.ConnectAsync(target.ChapTarget, options, cts.Token))
        {
            Assert.True((await session.TestUnitReadyAsync(1, cts.Token)).IscsiResponse == 0);
        }

        var wrongTargetSecret = options with { MutualChap = new MutualChapCredentials("not-the-target-secret") };
        var error = await Assert.ThrowsAsync<IscsiLoginException>(() => IscsiInitiatorSession.ConnectAsync(target.ChapTarget, wrongTargetSecret, cts.Token));
        Assert.Contains("mutual", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Task_management_functions_answer_and_the_session_keeps_working()
    {
        using var cts = TestDeadline();
        await using var session = await ConnectAsync(cts.Token);
        var unknown = await session.AbortTaskAsync(Lun, 0x7777, cts.Token);
        Assert.True(unknown is TaskManagementResponse.TaskDoesNotExist or TaskManagementResponse.FunctionComplete, unknown.ToString());
        Assert.Equal(TaskManagementResponse.FunctionComplete, await session.AbortTaskSetAsync(Lun, cts.Token));
        Assert.Equal(TaskManagementResponse.FunctionComplete, await session.LunResetAsync(Lun, cts.Token));
        var itNexus = await session.ITNexusResetAsync(cts.Token);
        Assert.True(itNexus is TaskManagementResponse.FunctionComplete or TaskManagementResponse.FunctionNotSupported
            or TaskManagementResponse.FunctionRejected, itNexus.ToString());

        // After the resets the nexus sees unit attentions (29h), then GOOD.
        var first = await session.TestUnitReadyAsync(Lun, cts.Token);
        if (!first.IsGood)
        {
            Assert.Equal(SenseKey.UnitAttention, first.SenseData?.Key);
        }

        var settled = await session.ClearUnitAttentionsAsync(Lun, cts.Token);
        Assert.True(settled.IsGood, settled.ToString());
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Two_ISIDs_are_two_nexuses_and_a_reservation_conflicts_across_them()
    {
        using var cts = TestDeadline();
        await using var a = await ConnectAsync(cts.Token, Options("shared") with { Isid = 0x8000_0000_0A01 });
        await using var b = await ConnectAsync(cts.Token, Options("shared") with { Isid = 0x8000_0000_0A02 });
        await a.ClearUnitAttentionsAsync(Lun, cts.Token);
        await b.ClearUnitAttentionsAsync(Lun, cts.Token);
        var blockLength = (int)await BlockLengthAsync(a, cts.Token);
        var reserve = await a.Reserve6Async(Lun, cts.Token);
        Assert.True(reserve.IsGood, reserve.ToString());
        try
        {
            var blocked = await b.TestUnitReadyAsync(Lun, cts.Token);
            var blockedRead = await b.Read10Async(Lun, 0, 1, blockLength, cts.Token);
            Assert.Equal(ScsiStatus.ReservationConflict, blockedRead.Status);
            Assert.NotEqual(ScsiStatus.CheckCondition, blocked.Status);
        }
        finally
        {
            Assert.True((await a.Release6Async(Lun, cts.Token)).IsGood);
        }

        Assert.True((await b.Read10Async(Lun, 0, 1, blockLength, cts.Token)).IsGood);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Logging_in_again_with_the_same_ISID_reinstates_the_session()
    {
        using var cts = TestDeadline();
        var options = Options("reinstate") with { Isid = 0x8000_0000_0B01 };
        await using var old = await ConnectAsync(cts.Token, options);
        await old.TestUnitReadyAsync(Lun, cts.Token);
        await using var fresh = await old.ReinstateAsync(cts.Token);
        Assert.Equal(old.Isid, fresh.Isid);
        await fresh.TestUnitReadyAsync(Lun, cts.Token);
        Assert.True((await fresh.InquiryAsync(Lun, cts.Token)).IsGood);

        // The target closed the old session's connection; its next command fails with a typed exception.
        var closed = await old.Connection.WaitForCloseAsync(TimeSpan.FromSeconds(10), cts.Token);
        Assert.True(closed, "the reinstated session's connection stayed open");
        await Assert.ThrowsAsync<IscsiConnectionLostException>(() => old.TestUnitReadyAsync(Lun, cts.Token));
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task A_dropped_connection_fails_outstanding_commands_with_a_typed_exception()
    {
        using var cts = TestDeadline();
        await using var session = await ConnectAsync(cts.Token);
        var blockLength = (int)await BlockLengthAsync(session, cts.Token);
        var running = Enumerable.Range(0, 8)
            .Select(i => session.Read16Async(Lun, (ulong)(i * 256), 256, blockLength, cts.Token))
            .ToArray();
        session.Connection.Abort();
        foreach (var command in running)
        {
            try
            {
                await command;
            }
            catch (IscsiConnectionLostException)
            {
                // Expected for every command that had not completed yet.
            }
        }

        Assert.Equal(SessionState.Broken, session.State);
        await Assert.ThrowsAsync<IscsiConnectionLostException>(() => session.TestUnitReadyAsync(Lun, cts.Token));
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Random_io_load_is_bounded_by_count_and_reports_iops()
    {
        using var cts = TestDeadline();
        await using var session = await ConnectAsync(cts.Token);
        await session.TestUnitReadyAsync(Lun, cts.Token);
        var result = await RandomIoLoad.RunAsync(session, Lun, blockSize: 4096, queueDepth: 4, readFraction: 0.5,
            maxOperations: 300, duration: TimeSpan.FromSeconds(20), cts.Token);
        output.WriteLine(result.ToString());
        Assert.Equal(300, result.Operations);
        Assert.Equal(0, result.NotGood);
        Assert.True(result.Iops > 0);

        var timed = await RandomIoLoad.RunAsync(session, Lun, blockSize: 4096, queueDepth: 8, readFraction: 0.7,
            maxOperations: 1_000_000, duration: TimeSpan.FromSeconds(2), cts.Token);
        output.WriteLine("time-bounded: " + timed);
        Assert.True(timed.Operations is > 0 and < 1_000_000);
        Assert.True(timed.Elapsed < TimeSpan.FromSeconds(10));
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Raw_mode_logs_in_and_exchanges_a_hand_built_NOP()
    {
        using var cts = TestDeadline();
        await using var connection = await IscsiConnection.ConnectAsync(target.Target.Host, target.Target.Port, TimeSpan.FromSeconds(5), cts.Token);
        var login = await Login.IscsiLogin.LoginAsync(connection, Options("raw"), Login.SessionType.Normal, target.Target.TargetName,
            InitiatorOptions.RandomIsid(), 0, 1, cts.Token);
        var nop = new IscsiPdu(IscsiOpcode.NopOut, immediate: true)
        {
            Final = true,
            InitiatorTaskTag = 0x42,
            TargetTransferTag = IscsiPdu.ReservedTag,
            CmdSN = login.CmdSN,
            ExpStatSN = login.ExpStatSN,
            Data = "ping"u8.ToArray(),
        };
        await connection.SendAsync(nop, cts.Token);
        var answer = await connection.TryReceiveAsync(TimeSpan.FromSeconds(10), cts.Token);
        Assert.NotNull(answer);
        Assert.Equal(IscsiOpcode.NopIn, answer.Opcode);
        Assert.Equal(0x42u, answer.InitiatorTaskTag);
        Assert.Equal("ping"u8.ToArray(), answer.Data.ToArray());
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Offering_CRC32C_or_None_to_a_target_without_digests_settles_on_None()
    {
        if (!target.IsTgt)
        {
            return; // The default tgt target is configured without digests; an external one may allow them.
        }

        using var cts = TestDeadline();
        var options = Options() with { HeaderDigest = [DigestKind.Crc32C, DigestKind.None], DataDigest = [DigestKind.Crc32C, DigestKind.None] };
        await using var session = await ConnectAsync(cts.Token, options);
        Assert.False(session.Parameters.HeaderDigest);
        Assert.False(session.Parameters.DataDigest);
        Assert.True((await session.InquiryAsync(Lun, cts.Token)).IsGood);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Helper_commands_return_values_for_mode_sense_request_sense_and_alua_queries()
    {
        using var cts = TestDeadline();
        await using var session = await ConnectAsync(cts.Token);
        await session.ClearUnitAttentionsAsync(Lun, cts.Token);
        var modeSense = await session.ModeSense6Async(Lun, 0x3F, cts.Token);
        Assert.True(modeSense.IsGood, modeSense.ToString());
        Assert.True(modeSense.DataIn.Length >= 4);
        Assert.True(modeSense.DataIn.Span[0] + 1 >= 4);
        var modeSense10 = await session.ModeSense10Async(Lun, 0x08, cts.Token);
        Assert.True(modeSense10.IsGood, modeSense10.ToString());
        var requestSense = await session.RequestSenseAsync(Lun, cts.Token);
        Assert.True(requestSense.IsGood, requestSense.ToString());
        Assert.True(SenseData.TryParse(requestSense.DataIn.Span, out var noSense));
        Assert.Equal(SenseKey.NoSense, noSense!.Key);
        var rtpg = await session.ReportTargetPortGroupsAsync(Lun, cts.Token);
        Assert.True(rtpg.IsGood || rtpg.SenseData?.Key == SenseKey.IllegalRequest, rtpg.ToString());
        var cdb = new byte[32];
        cdb[0] = 0x7F; // A variable-length CDB: exercises the Extended CDB AHS; the target answers with a status either way.
        cdb[7] = 24;
        var longCdb = await session.ExecuteAsync(Lun, cdb, default, 0, TaskAttribute.Simple, cts.Token);
        output.WriteLine($"RTPG: {rtpg}; 32-byte CDB: {longCdb}");
        Assert.Equal(0, longCdb.IscsiResponse);
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Persistent_reservations_register_reserve_and_read_back_keys()
    {
        using var cts = TestDeadline();
        await using var a = await ConnectAsync(cts.Token, Options("pr") with { Isid = 0x8000_0000_0C01 });
        await a.ClearUnitAttentionsAsync(Lun, cts.Token);
        const ulong key = 0x1122_3344_5566_7788;
        var register = await a.PersistentReserveOutAsync(Lun, PersistentReserveOutAction.RegisterAndIgnoreExistingKey,
            PersistentReservationType.None, 0, key, cts.Token);
        Assert.True(register.IsGood, register.ToString());
        try
        {
            var reserve = await a.PersistentReserveOutAsync(Lun, PersistentReserveOutAction.Reserve,
                PersistentReservationType.WriteExclusive, key, 0, cts.Token);
            Assert.True(reserve.IsGood, reserve.ToString());
            var keys = await a.PersistentReserveInAsync(Lun, PersistentReserveInAction.ReadKeys, cts.Token);
            Assert.True(keys.IsGood, keys.ToString());
            Assert.Equal(8u, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(keys.DataIn.Span[4..]));
            Assert.Equal(key, System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(keys.DataIn.Span[8..]));
            var reservation = await a.PersistentReserveInAsync(Lun, PersistentReserveInAction.ReadReservation, cts.Token);
            Assert.True(reservation.IsGood, reservation.ToString());
            Assert.Equal((byte)PersistentReservationType.WriteExclusive, reservation.DataIn.Span[21] & 0x0F);
        }
        finally
        {
            // Unregister (REGISTER with service action key 0) drops the reservation too.
            var unregister = await a.PersistentReserveOutAsync(Lun, PersistentReserveOutAction.Register,
                PersistentReservationType.None, key, 0, cts.Token);
            Assert.True(unregister.IsGood, unregister.ToString());
        }
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Compare_and_write_succeeds_on_match_and_reports_miscompare()
    {
        using var cts = TestDeadline();
        await using var session = await ConnectAsync(cts.Token);
        var blockLength = (int)await BlockLengthAsync(session, cts.Token);
        var original = Pattern(blockLength, seed: 31);
        var replacement = Pattern(blockLength, seed: 32);
        Assert.True((await session.Write16Async(Lun, 300, original, blockLength, cts.Token)).IsGood);
        var match = await session.CompareAndWriteAsync(Lun, 300, original.Concat(replacement).ToArray(), blockLength, cts.Token);
        if (match.SenseData is { Key: SenseKey.IllegalRequest, Asc: 0x20 })
        {
            output.WriteLine("COMPARE AND WRITE not implemented by the target: " + match);
            return; // The target does not implement COMPARE AND WRITE (invalid command operation code).
        }

        Assert.True(match.IsGood, match.ToString());
        var miss = await session.CompareAndWriteAsync(Lun, 300, original.Concat(original).ToArray(), blockLength, cts.Token);
        Assert.Equal(ScsiStatus.CheckCondition, miss.Status);
        Assert.Equal(SenseKey.Miscompare, miss.SenseData?.Key);
        var read = await session.Read16Async(Lun, 300, 1, blockLength, cts.Token);
        Assert.True(replacement.AsSpan().SequenceEqual(read.DataIn.Span));
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Raw_mode_an_unknown_opcode_is_rejected_or_ends_the_connection()
    {
        using var cts = TestDeadline();
        await using var connection = await IscsiConnection.ConnectAsync(target.Target.Host, target.Target.Port, TimeSpan.FromSeconds(5), cts.Token);
        var login = await Login.IscsiLogin.LoginAsync(connection, Options("raw-hostile"), Login.SessionType.Normal, target.Target.TargetName,
            InitiatorOptions.RandomIsid(), 0, 1, cts.Token);
        var bogus = new byte[IscsiPdu.BhsLength];
        bogus[0] = 0x1C; // Not an initiator opcode (RFC 7143 §11.2.1.2).
        bogus[1] = 0x80;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bogus.AsSpan(16), 0x99);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bogus.AsSpan(24), login.CmdSN);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bogus.AsSpan(28), login.ExpStatSN);
        await connection.SendRawAsync(bogus, cts.Token);
        IscsiPdu? answer;
        try
        {
            answer = await connection.TryReceiveAsync(TimeSpan.FromSeconds(10), cts.Token);
        }
        catch (IscsiConnectionLostException)
        {
            output.WriteLine("The target dropped the connection on an unknown opcode.");
            return; // Dropping the connection is an allowed answer at ERL 0.
        }

        output.WriteLine("Answer to an unknown opcode: " + answer);
        Assert.NotNull(answer);
        Assert.Equal(IscsiOpcode.Reject, answer.Opcode);
        Assert.Equal(0x04, answer.Byte2); // Reason: command not supported.
    }

    private static byte[] Pattern(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }
}

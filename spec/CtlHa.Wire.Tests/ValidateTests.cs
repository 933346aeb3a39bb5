namespace CtlHa.Wire.Tests;

/// <summary>Each documented bound of PROTOCOL.md §6, one case per bound, checked by encode-side Validate and by the decoder.</summary>
public sealed class ValidateTests
{
    private static T S<T>(string name)
        where T : InterlinkMessage => (T)Samples.All.Single(s => s.Name == name).Message;

    private static readonly Nexus N = new(1, 5, 0);

    public static TheoryData<string, InterlinkMessage, InterlinkErrorKind> Invalid()
    {
        var login = S<Login>("Login");
        var lun = S<LunSync>("LunSync");
        var port = S<PortSync>("PortSync");
        var ser = S<Serialize>("Serialize");
        var dm = S<DataMove>("DataMove");
        var dmOut = S<DataMove>("DataMove-out");
        var done = S<DataMoveDone>("DataMoveDone");
        var fin = S<FinishIo>("FinishIo");
        var mode = S<ModeSync>("ModeSync");
        var pr = S<PersistentReserveAction>("PersistentReserveAction");
        var ua = S<UnitAttention>("UnitAttention");
        var tmf = S<TaskManagement>("TaskManagement");
        var init = S<InitiatorSync>("InitiatorSync");
        const InterlinkErrorKind R = InterlinkErrorKind.OutOfRange;
        const InterlinkErrorKind M = InterlinkErrorKind.Malformed;
        return new TheoryData<string, InterlinkMessage, InterlinkErrorKind>
        {
            { "nonce 31 bytes", new AuthChallenge(AuthMethod.HmacSha256Psk, new byte[31]), R },
            { "nonce 33 bytes", new AuthChallenge(AuthMethod.HmacSha256Psk, new byte[33]), R },
            { "auth method 2", new AuthChallenge((AuthMethod)2, new byte[32]), R },
            { "mac 16 bytes", new AuthResponse(new byte[16]), R },
            { "mac nil", new AuthResponse(null!), M },
            { "cluster 65 chars", login with { ClusterName = new string('a', 65) }, R },
            { "cluster with control char", login with { ClusterName = "pair\u0001" }, R },
            { "cluster nil", login with { ClusterName = null! }, M },
            { "frame limit too small", login with { MaxFrameLength = WireLimits.MinFrameLength - 1 }, R },
            { "frame limit too big", login with { MaxFrameLength = WireLimits.MaxFrameLength + 1 }, R },
            { "software version control char", login with { SoftwareVersion = "a\nb" }, R },
            { "software version 65 chars", login with { SoftwareVersion = new string('v', 65) }, R },
            { "goodbye mismatch without field", new Goodbye(GoodbyeReason.LoginMismatch, LoginField.None, "", "", ""), R },
            { "goodbye field without mismatch", new Goodbye(GoodbyeReason.Shutdown, LoginField.NodeIdSame, "", "", ""), R },
            { "goodbye detail 257", Goodbye.Because(GoodbyeReason.Shutdown, new string('d', 257)), R },
            { "goodbye reason 99", Goodbye.Because((GoodbyeReason)99), R },
            { "heartbeat sequence 0", new Heartbeat(0, 5, 0), R },
            { "fence id 0", new SyncFence(0), R },
            { "fence ack id 0", new SyncFenceAck(0), R },
            { "port number at limit", port with { PortNumber = WireLimits.MaxPortsLimit }, R },
            { "port name empty", port with { Name = string.Empty }, R },
            { "target name 224", port with { TargetName = new string('t', 224) }, R },
            { "lun map entry too big", port with { LunMap = [WireLimits.MaxLunsLimit] }, R },
            { "lun map too long", port with { LunMap = new uint[WireLimits.MaxLunsLimit + 1] }, R },
            { "port device id too long", port with { PortDeviceId = new byte[WireLimits.MaxDeviceIdLength + 1] }, R },
            { "initiator id 2048", init with { InitiatorId = 2048 }, R },
            { "isid 5 bytes", init with { Isid = new byte[5] }, R },
            { "free slot with a name", init with { InUse = false }, R },
            { "lun at limit", lun with { Lun = WireLimits.MaxLunsLimit }, R },
            { "device id empty", lun with { DeviceId = [] }, R },
            { "size 0 blocks", lun with { SizeInBlocks = 0 }, R },
            { "block size 520", lun with { BlockSize = 520 }, R },
            { "block size 256", lun with { BlockSize = 256 }, R },
            { "undefined role flag", lun with { Flags = (LunRoleFlags)8 }, R },
            { "reserved type 2", lun with { PrType = 2 }, R },
            { "holder not registered", lun with { PrHolder = 77 }, R },
            { "all-registrants type with one holder", lun with { PrType = 7 }, R },
            { "not reserved but holder set", lun with { PrReserved = false }, R },
            { "duplicate registrant", lun with { Registrations = [lun.Registrations[0], lun.Registrations[0]] }, R },
            { "registration key 0", lun with { Registrations = [new PrRegistration(2053, 0, [])] }, R },
            { "registration transport id too long", lun with { Registrations = [new PrRegistration(2053, 1, new byte[257])] }, R },
            { "too many registrations", lun with { PrReserved = false, PrHolder = WireLimits.NoReservation, PrType = 0, Registrations = Enumerable.Range(0, WireLimits.MaxRegistrations + 1).Select(i => new PrRegistration((uint)i, 1, [])).ToArray() }, R },
            { "registration nil", lun with { Registrations = [null!] }, M },
            { "scsi-2 holder out of range", lun with { Scsi2Holder = WireLimits.MaxInitiatorIndex + 1 }, R },
            { "mode page code 0x3F", mode with { PageCode = 0x3F }, R },
            { "mode page data disagrees with code", mode with { PageCode = 0x0A }, R },
            { "mode page length wrong", mode with { PageData = [0x08, 0x12, 0x04] }, R },
            { "mode subpage without SPF", mode with { Subpage = 1 }, R },
            { "mode page too long", mode with { PageData = new byte[WireLimits.MaxModePageLength + 1] }, R },
            { "mode originator out of range", mode with { Originator = WireLimits.MaxInitiatorIndex + 1 }, R },
            { "pr register key 0", pr with { ReservationKey = 0 }, R },
            { "pr reserve type 0", pr with { Action = PersistentReserveActionKind.Reserve, TransportId = [] }, R },
            { "pr clear with type", pr with { Action = PersistentReserveActionKind.Clear, Type = 1, TransportId = [] }, R },
            { "pr clear with service action key", pr with { Action = PersistentReserveActionKind.Clear, ServiceActionKey = 5, TransportId = [] }, R },
            { "pr unregister with transport id", pr with { Action = PersistentReserveActionKind.Unregister }, R },
            { "pr action 7", pr with { Action = (PersistentReserveActionKind)7 }, R },
            { "pr initiator out of range", pr with { InitiatorIndex = WireLimits.MaxInitiatorIndex + 1 }, R },
            { "ua info 4 bytes", ua with { Information = new byte[4] }, R },
            { "ua all with an index", ua with { InitiatorIndex = 3 }, R },
            { "ua one without index", ua with { Scope = UnitAttentionScope.One }, R },
            { "ua lun out of range", ua with { Lun = WireLimits.MaxLunsLimit }, R },
            { "tmf clear aca", tmf with { Function = TaskManagementFunction.ClearAca }, R },
            { "lun reset with tag", tmf with { Function = TaskManagementFunction.LunReset }, R },
            { "nexus port out of range", tmf with { Nexus = N with { TargetPort = WireLimits.MaxPortsLimit } }, R },
            { "nexus iid 2048", tmf with { Nexus = N with { InitiatorId = 2048 } }, R },
            { "nexus nil", tmf with { Nexus = null! }, M },
            { "cdb 5 bytes", ser with { Cdb = new byte[5] }, R },
            { "cdb 33 bytes", ser with { Cdb = new byte[33] }, R },
            { "priority 16", ser with { Priority = 16 }, R },
            { "no direction with length", ser with { Direction = DataDirection.None }, R },
            { "expected length over 1 GiB", ser with { ExpectedDataLength = WireLimits.MaxExpectedDataLength + 1 }, R },
            { "originator handle 0", ser with { OriginatorHandle = 0 }, R },
            { "task attribute 5", ser with { Attribute = (TaskAttribute)5 }, R },
            { "r2r primary handle 0", new ReadyToRun(N, 1, 0), R },
            { "sense 253 bytes", fin with { Sense = [0x70, .. new byte[252]] }, R },
            { "sense 7 bytes", fin with { Sense = [0x70, 0, 0, 0, 0, 0, 0] }, R },
            { "sense response code 0x20", fin with { Sense = new byte[18] }, R },
            { "sense with GOOD", fin with { ScsiStatus = ScsiWire.Good }, R },
            { "status 0x01", fin with { ScsiStatus = 0x01, Sense = [] }, R },
            { "residual count without kind", fin with { Residual = ResidualKind.None }, R },
            { "serialize failed with GOOD", new SerializeFailed(N, 1, 0, ScsiWire.Good, []), R },
            { "segment 128 KiB + 1", dmOut with { Length = WireLimits.MaxDataSegment + 1 }, R },
            { "segment length 0", dmOut with { Length = 0 }, R },
            { "segment past 1 GiB", dmOut with { Offset = WireLimits.MaxExpectedDataLength }, R },
            { "segment offset overflow", dmOut with { Offset = uint.MaxValue } , R },
            { "data in shorter than length", dm with { Data = new byte[15] }, R },
            { "data out carries data", dmOut with { Data = new byte[1] }, R },
            { "direction none", dm with { Direction = DataDirection.None, Data = [] }, R },
            { "transfer handle 0", dm with { TransferHandle = 0 }, R },
            { "done port status 5", done with { PortStatus = 5 }, R },
            { "done out missing data", done with { Data = [] }, R },
            { "done failed with data", done with { PortStatus = ScsiWire.PortStatusAborted }, R },
            { "done transfer handle 0", done with { TransferHandle = 0 }, R },
            { "sync complete too many luns", new SyncComplete(0, 0, WireLimits.MaxLunsLimit + 1, 0), R },
        };
    }

    [Theory]
    [MemberData(nameof(Invalid))]
    public void A_message_outside_its_bounds_is_refused_by_Validate_and_the_encoder(string bound, InterlinkMessage message, InterlinkErrorKind kind)
    {
        var ex = Assert.Throws<InterlinkProtocolException>(message.Validate);
        Assert.True(ex.Kind == kind, $"{bound}: {ex.Kind} {ex.Message}");
        Assert.Throws<InterlinkProtocolException>(() => InterlinkFrame.Encode(message));
    }

    [Theory]
    [MemberData(nameof(Invalid))]
    public void A_message_outside_its_bounds_is_refused_by_the_decoder(string bound, InterlinkMessage message, InterlinkErrorKind kind)
    {
        // Encode without validation, the way a hostile peer would.
        var payload = MessagePack.MessagePackSerializer.Serialize(message, InterlinkFrame.Options);
        Assert.True(Raw.KindOf(Raw.Frame(payload)) == kind, bound);
    }

    public static TheoryData<string, InterlinkMessage> ValidEdges() => new()
    {
        { "node id 2", S<Login>("Login") with { NodeId = 2 } },
        { "cluster 64 chars", S<Login>("Login") with { ClusterName = new string('z', 64) } },
        { "smallest frame limit", S<Login>("Login") with { MaxFrameLength = WireLimits.MinFrameLength } },
        { "cdb 6", S<Serialize>("Serialize") with { Cdb = new byte[6] } },
        { "cdb 32", S<Serialize>("Serialize") with { Cdb = new byte[32] } },
        { "sense 252", S<FinishIo>("FinishIo") with { Sense = [0x72, .. new byte[251]] } },
        { "segment 128 KiB", new DataMove(N, 1, 1, 1, DataDirection.In, 0, WireLimits.MaxDataSegment, new byte[WireLimits.MaxDataSegment], true) },
        { "segment ending at 1 GiB", S<DataMove>("DataMove-out") with { Offset = WireLimits.MaxExpectedDataLength - WireLimits.MaxDataSegment } },
        { "all-registrants reservation", S<LunSync>("LunSync") with { PrType = 8, PrHolder = WireLimits.AllRegistrants } },
        { "max registrations", S<LunSync>("LunSync") with { PrReserved = false, PrHolder = WireLimits.NoReservation, PrType = 0, Registrations = Enumerable.Range(0, WireLimits.MaxRegistrations).Select(i => new PrRegistration((uint)i, (ulong)i + 1, new byte[WireLimits.MaxTransportIdLength])).ToArray() } },
        { "ua for all luns", S<UnitAttention>("UnitAttention") with { Lun = WireLimits.AllLuns } },
        { "lun map of max length", S<PortSync>("PortSync") with { LunMap = new uint[WireLimits.MaxLunsLimit] } },
    };

    [Theory]
    [MemberData(nameof(ValidEdges))]
    public void A_message_exactly_at_its_bounds_round_trips(string edge, InterlinkMessage message)
    {
        var frame = InterlinkFrame.Encode(message);
        Assert.True(frame.Length <= WireLimits.MaxFrameLength + 4, edge);
        var buffer = new System.Buffers.ReadOnlySequence<byte>(frame);
        Assert.True(InterlinkFrame.TryReadFrame(ref buffer, out var decoded));
        WireAssert.Equivalent(message, decoded);
    }
}

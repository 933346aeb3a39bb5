namespace CtlHa.Wire.Tests;

/// <summary>One fixed, readable example of every message; the golden vectors in spec/vectors are their encodings.</summary>
public static class Samples
{
    private static readonly Nexus SampleNexus = new(TargetPort: 1, InitiatorId: 5, Lun: 0);

    private static byte[] Seq(int length, int start = 0) => Enumerable.Range(start, length).Select(i => (byte)i).ToArray();

    // Fixed-format sense: CURRENT, NOT READY, ASC/ASCQ 04/0B (target port in standby state).
    private static readonly byte[] StandbySense = [0x70, 0, 0x02, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x04, 0x0B, 0, 0, 0, 0];

    public static IReadOnlyList<(string Name, InterlinkMessage Message)> All { get; } =
    [
        ("AuthChallenge", new AuthChallenge(AuthMethod.HmacSha256Psk, Seq(32))),
        ("AuthChallenge-none", new AuthChallenge(AuthMethod.None, Seq(32, 0xA0))),
        ("AuthResponse", new AuthResponse(Seq(32, 0x40))),
        ("Login", new Login(WireLimits.ProtocolVersion, HaMode.Proxy, 1, "pair-a", 1024, 1024, 2048, WireLimits.MaxFrameLength, "ctlha 0.1.0")),
        ("Goodbye-mismatch", new Goodbye(GoodbyeReason.LoginMismatch, LoginField.HaMode, "proxy", "standby", "ha mode differs")),
        ("Goodbye-shutdown", Goodbye.Because(GoodbyeReason.Shutdown)),
        ("Heartbeat", new Heartbeat(7, 1_234_567_890, 6)),
        ("PortSync", new PortSync(1, "iscsi-0", Online: true, HaShared: false, "iqn.2026-11.org.ctlha:disk", 1, [0, 1, WireLimits.UnmappedLun], [0x61, 0x94, 0x00, 0x04, 0, 0, 0, 1], [])),
        ("InitiatorSync", new InitiatorSync(1, 5, InUse: true, "iqn.1994-05.com.redhat:client", [0x00, 0x02, 0x3D, 0x00, 0x00, 0x01])),
        ("InitiatorSync-free", new InitiatorSync(1, 5, InUse: false, string.Empty, [])),
        ("LunSync", new LunSync(0, [0x01, 0x03, 0x00, 0x08, 0x60, 0x0C, 0x29, 0x00, 0x00, 0x00, 0x00, 0x01], 524288, 512,
            LunRoleFlags.Primary, PrGeneration: 3, PrReserved: true, PrHolder: 2053, PrType: 1,
            [new PrRegistration(2053, 0x1122334455667788, []), new PrRegistration(4101, 0xABCDEF, Seq(24))],
            Scsi2Holder: WireLimits.NoReservation)),
        ("LunSync-empty", new LunSync(3, [0x01], 1, 4096, LunRoleFlags.PeerPrimaryKnown, 0, false, WireLimits.NoReservation, 0, [], 2049)),
        ("ModeSync", new ModeSync(0, 0x08, 0, [0x08, 0x12, 0x04, 0, 0xFF, 0xFF, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x80, 0x14, 0, 0, 0, 0, 0, 0], 2053)),
        ("ModeSync-subpage", new ModeSync(0, 0x0A, 0x01, [0x4A, 0x01, 0x00, 0x04, 1, 2, 3, 4], WireLimits.NoInitiator)),
        ("SyncComplete", new SyncComplete(1, 1, 1, 2)),
        ("SyncFence", new SyncFence(3)),
        ("SyncFenceAck", new SyncFenceAck(3)),
        ("PersistentReserveAction", new PersistentReserveAction(0, PersistentReserveActionKind.Register, 2053, 0x1122334455667788, 0, 0, Seq(24), 4)),
        ("PersistentReserveAction-preempt", new PersistentReserveAction(0, PersistentReserveActionKind.PreemptAndAbort, 2053, 0x1122334455667788, 0xABCDEF, 3, [], 5)),
        ("UnitAttention", new UnitAttention(0, UnitAttentionScope.AllInitiators, WireLimits.NoInitiator, Set: true, 0x38, 0x07, Seq(8))),
        ("TaskManagement", new TaskManagement(SampleNexus, TaskManagementFunction.AbortTask, 0x10, 42)),
        ("TaskManagement-lunreset", new TaskManagement(SampleNexus, TaskManagementFunction.LunReset, 0, 0)),
        ("Serialize", new Serialize(SampleNexus, 0x10, TaskAttribute.Simple, 0, [0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0], 4096, DataDirection.In, 42)),
        ("ReadyToRun", new ReadyToRun(SampleNexus, 42, 9001)),
        ("FinishIo", new FinishIo(SampleNexus, 42, 9001, ScsiWire.CheckCondition, StandbySense, ResidualKind.Underflow, 512)),
        ("FinishIo-good", new FinishIo(SampleNexus, 42, 9001, ScsiWire.Good, [], ResidualKind.None, 0)),
        ("SerializeFailed", new SerializeFailed(SampleNexus, 42, 0, ScsiWire.Busy, [])),
        ("DataMove", new DataMove(SampleNexus, 42, 9001, 77, DataDirection.In, 0, 16, Seq(16), Last: true)),
        ("DataMove-out", new DataMove(SampleNexus, 42, 9001, 78, DataDirection.Out, 131072, 131072, [], Last: false)),
        ("DataMoveDone", new DataMoveDone(SampleNexus, 42, 9001, 78, DataDirection.Out, 0, 8, ScsiWire.PortStatusGood, Seq(8))),
        ("DataMoveDone-failed", new DataMoveDone(SampleNexus, 42, 9001, 77, DataDirection.In, 0, 16, ScsiWire.PortStatusAborted, [])),
    ];
}

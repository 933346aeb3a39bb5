using System.Collections.Frozen;

namespace CtlHa.Spec;

/// <summary>
/// Every command the target supports (SPC-5, SBC-4), with the CTL flags of ctl-ha.md §5.4 and the
/// serialization classes of §11.2. Anything else is unsupported: 05/20/00 (unknown opcode) or 05/24/00
/// (unknown service action), on every node, in every state.
/// </summary>
public static class CommandTable
{
    // Flag shorthands for the rows below.
    private const bool Y = true;
    private const bool N = false;

    /// <summary>
    /// Opcodes whose CDB byte 1 (bits 4..0) selects the command: a service action, or the MODE field of
    /// READ/WRITE BUFFER (CTL keys both the same way, <c>CTL_CMD_FLAG_SA5</c>).
    /// </summary>
    private static readonly FrozenSet<byte> ServiceActionOpcodes = new byte[]
    {
        0x3B, // WRITE BUFFER: the MODE field (byte 1 bits 4..0) selects the command, as in CTL's table
        0x3C, // READ BUFFER(10): likewise
        0x5E, // PERSISTENT RESERVE IN
        0x5F, // PERSISTENT RESERVE OUT
        0x83, // EXTENDED COPY family (SPC-4 LID1 = 00h, LID4 = 01h)
        0x84, // RECEIVE COPY RESULTS family
        0x9B, // READ BUFFER(16): MODE field
        0x9E, // SERVICE ACTION IN(16)
        0xA3, // MAINTENANCE IN
    }.ToFrozenSet();

    // Columns: name, opcode, service action, OK_ON_UNAVAIL, OK_ON_STANDBY, RUN_HERE, reports UA, class.
    private static readonly CommandInfo[] Rows =
    [
        new("TEST UNIT READY", 0x00, null, N, N, N, Y, SerializationClass.Tur),
        new("REQUEST SENSE", 0x03, null, Y, Y, Y, N, SerializationClass.RequestSense),
        new("FORMAT UNIT", 0x04, null, N, N, N, Y, SerializationClass.Format),
        new("READ(6)", 0x08, null, N, N, N, Y, SerializationClass.Read),
        new("WRITE(6)", 0x0A, null, N, N, N, Y, SerializationClass.Write),
        new("INQUIRY", 0x12, null, Y, Y, N, N, SerializationClass.Inquiry),
        new("MODE SELECT(6)", 0x15, null, N, Y, N, Y, SerializationClass.ModeSelect),
        new("RESERVE(6)", 0x16, null, N, Y, N, Y, SerializationClass.Reservation),
        new("RELEASE(6)", 0x17, null, N, Y, N, Y, SerializationClass.Reservation),
        new("MODE SENSE(6)", 0x1A, null, N, Y, N, Y, SerializationClass.ModeSense),
        new("START STOP UNIT", 0x1B, null, N, N, N, Y, SerializationClass.Start),
        new("PREVENT ALLOW MEDIUM REMOVAL", 0x1E, null, N, N, N, Y, SerializationClass.Start),
        new("READ CAPACITY(10)", 0x25, null, N, N, N, Y, SerializationClass.ReadCapacity),
        new("READ(10)", 0x28, null, N, N, N, Y, SerializationClass.Read),
        new("WRITE(10)", 0x2A, null, N, N, N, Y, SerializationClass.Write),
        new("WRITE AND VERIFY(10)", 0x2E, null, N, N, N, Y, SerializationClass.Write),
        new("VERIFY(10)", 0x2F, null, N, N, N, Y, SerializationClass.Read),
        new("PRE-FETCH(10)", 0x34, null, N, N, N, Y, SerializationClass.Read),
        new("SYNCHRONIZE CACHE(10)", 0x35, null, N, N, N, Y, SerializationClass.Sync),
        new("READ DEFECT DATA(10)", 0x37, null, N, N, N, Y, SerializationClass.ModeSense),
        // §5.4: WRITE BUFFER mode 02h (DATA) and READ BUFFER modes 02h (DATA), 03h (DESCRIPTOR) and
        // 0Bh (ECHO BUFFER DESCRIPTOR) are the implemented modes; any other mode is 05/24/00.
        new("WRITE BUFFER / DATA", 0x3B, 0x02, N, Y, N, Y, SerializationClass.ModeSelect),
        new("READ BUFFER(10) / DATA", 0x3C, 0x02, N, Y, N, Y, SerializationClass.ModeSense),
        new("READ BUFFER(10) / DESCRIPTOR", 0x3C, 0x03, N, Y, N, Y, SerializationClass.ModeSense),
        new("READ BUFFER(10) / ECHO BUFFER DESCRIPTOR", 0x3C, 0x0B, N, Y, N, Y, SerializationClass.ModeSense),
        new("WRITE SAME(10)", 0x41, null, N, N, N, Y, SerializationClass.Write),
        new("UNMAP", 0x42, null, N, N, N, Y, SerializationClass.Unmap),
        new("LOG SENSE", 0x4D, null, N, Y, N, Y, SerializationClass.LogSense),
        new("MODE SELECT(10)", 0x55, null, N, Y, N, Y, SerializationClass.ModeSelect),
        new("RESERVE(10)", 0x56, null, N, Y, N, Y, SerializationClass.Reservation),
        new("RELEASE(10)", 0x57, null, N, Y, N, Y, SerializationClass.Reservation),
        new("MODE SENSE(10)", 0x5A, null, N, Y, N, Y, SerializationClass.ModeSense),
        // §11.2: PR IN/OUT are RES, except REPORT CAPABILITIES and READ FULL STATUS, which are INQ.
        new("PERSISTENT RESERVE IN / READ KEYS", 0x5E, 0x00, N, Y, N, Y, SerializationClass.Reservation),
        new("PERSISTENT RESERVE IN / READ RESERVATION", 0x5E, 0x01, N, Y, N, Y, SerializationClass.Reservation),
        new("PERSISTENT RESERVE IN / REPORT CAPABILITIES", 0x5E, 0x02, N, Y, N, Y, SerializationClass.Inquiry),
        new("PERSISTENT RESERVE IN / READ FULL STATUS", 0x5E, 0x03, N, Y, N, Y, SerializationClass.Inquiry),
        new("PERSISTENT RESERVE OUT / REGISTER", 0x5F, 0x00, N, Y, N, Y, SerializationClass.Reservation),
        new("PERSISTENT RESERVE OUT / RESERVE", 0x5F, 0x01, N, Y, N, Y, SerializationClass.Reservation),
        new("PERSISTENT RESERVE OUT / RELEASE", 0x5F, 0x02, N, Y, N, Y, SerializationClass.Reservation),
        new("PERSISTENT RESERVE OUT / CLEAR", 0x5F, 0x03, N, Y, N, Y, SerializationClass.Reservation),
        new("PERSISTENT RESERVE OUT / PREEMPT", 0x5F, 0x04, N, Y, N, Y, SerializationClass.Reservation),
        new("PERSISTENT RESERVE OUT / PREEMPT AND ABORT", 0x5F, 0x05, N, Y, N, Y, SerializationClass.Reservation),
        new("PERSISTENT RESERVE OUT / REGISTER AND IGNORE EXISTING KEY", 0x5F, 0x06, N, Y, N, Y, SerializationClass.Reservation),
        // §11.2: XCOPY and the copy-results family are RD_CAP.
        new("EXTENDED COPY(LID1)", 0x83, 0x00, N, N, N, Y, SerializationClass.ReadCapacity),
        new("EXTENDED COPY(LID4)", 0x83, 0x01, N, N, N, Y, SerializationClass.ReadCapacity),
        new("RECEIVE COPY STATUS(LID1)", 0x84, 0x00, N, N, N, Y, SerializationClass.ReadCapacity),
        new("RECEIVE COPY OPERATING PARAMETERS", 0x84, 0x03, N, Y, N, Y, SerializationClass.ReadCapacity),
        new("RECEIVE COPY FAILURE DETAILS(LID1)", 0x84, 0x04, N, N, N, Y, SerializationClass.ReadCapacity),
        new("RECEIVE COPY STATUS(LID4)", 0x84, 0x05, N, N, N, Y, SerializationClass.ReadCapacity),
        new("READ(16)", 0x88, null, N, N, N, Y, SerializationClass.Read),
        new("COMPARE AND WRITE", 0x89, null, N, N, N, Y, SerializationClass.Write),
        new("WRITE(16)", 0x8A, null, N, N, N, Y, SerializationClass.Write),
        new("WRITE AND VERIFY(16)", 0x8E, null, N, N, N, Y, SerializationClass.Write),
        new("VERIFY(16)", 0x8F, null, N, N, N, Y, SerializationClass.Read),
        new("PRE-FETCH(16)", 0x90, null, N, N, N, Y, SerializationClass.Read),
        new("SYNCHRONIZE CACHE(16)", 0x91, null, N, N, N, Y, SerializationClass.Sync),
        new("WRITE SAME(16)", 0x93, null, N, N, N, Y, SerializationClass.Write),
        new("READ BUFFER(16) / DATA", 0x9B, 0x02, N, Y, N, Y, SerializationClass.ModeSense),
        new("READ BUFFER(16) / DESCRIPTOR", 0x9B, 0x03, N, Y, N, Y, SerializationClass.ModeSense),
        new("READ BUFFER(16) / ECHO BUFFER DESCRIPTOR", 0x9B, 0x0B, N, Y, N, Y, SerializationClass.ModeSense),
        new("READ CAPACITY(16)", 0x9E, 0x10, N, N, N, Y, SerializationClass.ReadCapacity),
        new("GET LBA STATUS", 0x9E, 0x12, N, N, N, Y, SerializationClass.Read),
        // REPORT LUNS concerns the target, not a LUN (§9): RUN_HERE, INQ class.
        new("REPORT LUNS", 0xA0, null, Y, Y, Y, N, SerializationClass.Inquiry),
        new("REPORT TARGET PORT GROUPS", 0xA3, 0x0A, Y, Y, N, Y, SerializationClass.Inquiry),
        new("REPORT SUPPORTED OPERATION CODES", 0xA3, 0x0C, Y, Y, N, Y, SerializationClass.Inquiry),
        new("REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS", 0xA3, 0x0D, Y, Y, N, Y, SerializationClass.Inquiry),
        new("REPORT TIMESTAMP", 0xA3, 0x0F, Y, Y, N, Y, SerializationClass.Inquiry),
        new("READ(12)", 0xA8, null, N, N, N, Y, SerializationClass.Read),
        new("WRITE(12)", 0xAA, null, N, N, N, Y, SerializationClass.Write),
        new("WRITE AND VERIFY(12)", 0xAE, null, N, N, N, Y, SerializationClass.Write),
        new("VERIFY(12)", 0xAF, null, N, N, N, Y, SerializationClass.Read),
        new("READ DEFECT DATA(12)", 0xB7, null, N, N, N, Y, SerializationClass.ModeSense),
    ];

    private static readonly FrozenDictionary<int, CommandInfo> ByKey =
        Rows.ToFrozenDictionary(r => Key(r.Opcode, r.ServiceAction));

    /// <summary>An opcode the target does not implement (requirement 24: MAINTENANCE OUT is one).</summary>
    public static CommandInfo UnsupportedOpcode(byte opcode) =>
        new("Unsupported", opcode, null, N, N, N, N, SerializationClass.None)
        {
            UnsupportedSense = CommandGates.InvalidOpcodeSense,
        };

    /// <summary>An unimplemented service action of an opcode that has service actions.</summary>
    public static CommandInfo UnsupportedServiceAction(byte opcode, int serviceAction) =>
        new("Unsupported service action", opcode, serviceAction, N, N, N, N, SerializationClass.None)
        {
            UnsupportedSense = CommandGates.InvalidFieldInCdbSense,
        };

    /// <summary>All supported commands, in opcode/service-action order.</summary>
    public static IReadOnlyList<CommandInfo> All { get; } = Array.AsReadOnly(Rows);

    /// <summary>Whether CDB byte 1 selects the command for this opcode.</summary>
    public static bool HasServiceAction(byte opcode) => ServiceActionOpcodes.Contains(opcode);

    /// <summary>
    /// The table row for a CDB (byte 0 = opcode; byte 1 bits 4..0 = service action where the opcode has
    /// them). An empty CDB, an unknown opcode or an unknown service action yields an unsupported info.
    /// </summary>
    public static CommandInfo Lookup(ReadOnlySpan<byte> cdb)
    {
        if (cdb.IsEmpty)
        {
            return UnsupportedOpcode(0xFF);
        }

        var opcode = cdb[0];
        if (!HasServiceAction(opcode))
        {
            return ByKey.TryGetValue(Key(opcode, null), out var plain) ? plain : UnsupportedOpcode(opcode);
        }

        if (cdb.Length < 2)
        {
            return UnsupportedServiceAction(opcode, 0);
        }

        var sa = cdb[1] & 0x1F;
        return ByKey.TryGetValue(Key(opcode, sa), out var info) ? info : UnsupportedServiceAction(opcode, sa);
    }

    /// <summary>The row for an opcode and optional service action.</summary>
    public static CommandInfo Lookup(byte opcode, int? serviceAction = null)
    {
        Span<byte> cdb = [opcode, (byte)(serviceAction ?? 0)];
        return Lookup(cdb);
    }

    private static int Key(byte opcode, int? serviceAction) => (opcode << 8) | (serviceAction ?? 0xFF);
}

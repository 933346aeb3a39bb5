using System.Collections.Frozen;

namespace CtlHa.Model;

/// <summary>How a command fares under reservations (SPC-5 5.14.1 table "SPC commands that are allowed in the
/// presence of various reservations", SBC-4 4.17 table, and SPC-2 5.5.1 for RESERVE/RELEASE).</summary>
[Flags]
public enum ReservationAccess
{
    /// <summary>Conflicts with any reservation held by another I_T nexus (the default).</summary>
    None = 0,

    /// <summary>Allowed while another I_T nexus holds a SCSI-2 RESERVE (CTL <c>ALLOW_ON_RESV</c>).</summary>
    AllowedUnderScsi2 = 1,

    /// <summary>Allowed from any I_T nexus under every persistent reservation type (CTL <c>ALLOW_ON_PR_RESV</c>).</summary>
    AllowedUnderPr = 2,

    /// <summary>Allowed from any I_T nexus under the Write Exclusive types (CTL <c>ALLOW_ON_PR_WRESV</c>): the "read" commands.</summary>
    AllowedUnderWriteExclusive = 4,
}

/// <summary>
/// Per-command facts the model needs beyond the spec's <see cref="CtlHa.Spec.CommandTable"/>: the CDB length,
/// the CDB usage mask (a 1 bit may be set; any other set bit is 05/24/00 with the field pointer at that byte and
/// the highest offending bit, as CTL's <c>ctl_validate_command</c> does), the reservation class, and whether the
/// command writes the medium (CTL <c>CTL_LUN_PAT_WRITE</c>: write-protect checks apply).
/// </summary>
/// <param name="Length">CDB length in bytes.</param>
/// <param name="Usage">Allowed bits of CDB bytes 1..Length-1 (index 0 = byte 1); null = no check.</param>
/// <param name="Modeled">False for commands the target supports but the model does not execute.</param>
public sealed record CdbRule(int Length, byte[]? Usage, ReservationAccess Access, bool WritesMedium, bool Modeled = true);

/// <summary>
/// The model's CDB rules, keyed like the spec table (opcode, service action). Masks and the persistent
/// reservation classes follow FreeBSD CTL's command table. The SCSI-2 column follows SPC-3 table 31 / SBC-3
/// table 13 where CTL differs: READ CAPACITY, LOG SENSE and the REPORT commands (RTPG, REPORT SUPPORTED
/// OPCODES/TMFs, REPORT TIMESTAMP) are allowed, PERSISTENT RESERVE IN/OUT conflict. TEST UNIT READY conflicts,
/// as CTL does and SPC-3 permits for SPC-2 devices.
/// </summary>
public static class CdbRules
{
    private const ReservationAccess Read = ReservationAccess.AllowedUnderWriteExclusive;
    private const ReservationAccess Pr = ReservationAccess.AllowedUnderPr;
    private const ReservationAccess Resv = ReservationAccess.AllowedUnderScsi2;

    private static readonly FrozenDictionary<int, CdbRule> Rules = new Dictionary<int, CdbRule>
    {
        [Key(0x00)] = new(6, [0, 0, 0, 0, 0x07], Pr, false), // TEST UNIT READY
        [Key(0x03)] = new(6, [0x01, 0, 0, 0xFF, 0x07], Resv | Pr, false), // REQUEST SENSE
        [Key(0x04)] = new(6, null, ReservationAccess.None, false, Modeled: false), // FORMAT UNIT
        [Key(0x08)] = new(6, [0x1F, 0xFF, 0xFF, 0xFF, 0x07], Read, false), // READ(6)
        [Key(0x0A)] = new(6, [0x1F, 0xFF, 0xFF, 0xFF, 0x07], ReservationAccess.None, true), // WRITE(6)
        [Key(0x12)] = new(6, [0xE1, 0xFF, 0xFF, 0xFF, 0x07], Resv | Pr, false), // INQUIRY
        [Key(0x15)] = new(6, [0x13, 0, 0, 0xFF, 0x07], ReservationAccess.None, false), // MODE SELECT(6)
        [Key(0x16)] = new(6, [0, 0, 0, 0, 0x07], Resv, false), // RESERVE(6)
        [Key(0x17)] = new(6, [0, 0, 0, 0, 0x07], Resv, false), // RELEASE(6)
        [Key(0x1A)] = new(6, [0x08, 0xFF, 0xFF, 0xFF, 0x07], Read, false), // MODE SENSE(6)
        [Key(0x1B)] = new(6, null, Pr, false, Modeled: false), // START STOP UNIT
        [Key(0x1E)] = new(6, null, ReservationAccess.None, false, Modeled: false), // PREVENT ALLOW MEDIUM REMOVAL
        [Key(0x25)] = new(10, [0, 0, 0, 0, 0, 0, 0, 0, 0x07], Resv | Pr, false), // READ CAPACITY(10)
        [Key(0x28)] = new(10, [0x1A, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0xFF, 0xFF, 0x07], Read, false), // READ(10)
        [Key(0x2A)] = new(10, [0x1A, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0xFF, 0xFF, 0x07], ReservationAccess.None, true), // WRITE(10)
        [Key(0x2E)] = new(10, [0x12, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0xFF, 0xFF, 0x07], ReservationAccess.None, true), // WRITE AND VERIFY(10)
        [Key(0x2F)] = new(10, [0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0xFF, 0xFF, 0x07], Read, false), // VERIFY(10)
        [Key(0x34)] = new(10, [0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0xFF, 0xFF, 0x07], Read, false), // PRE-FETCH(10)
        [Key(0x35)] = new(10, [0x06, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0xFF, 0xFF, 0x07], ReservationAccess.None, true), // SYNCHRONIZE CACHE(10)
        [Key(0x37)] = new(10, null, Read, false, Modeled: false), // READ DEFECT DATA(10)
        // READ/WRITE BUFFER are keyed by their MODE field (byte 1 bits 4..0), as the spec table and CTL.
        [Key(0x3B, 0x02)] = new(10, null, ReservationAccess.None, false, Modeled: false), // WRITE BUFFER / DATA
        [Key(0x3C, 0x02)] = new(10, null, Read, false, Modeled: false), // READ BUFFER(10) / DATA
        [Key(0x3C, 0x03)] = new(10, null, Read, false, Modeled: false), // READ BUFFER(10) / DESCRIPTOR
        [Key(0x3C, 0x0B)] = new(10, null, Read, false, Modeled: false), // READ BUFFER(10) / ECHO BUFFER DESCRIPTOR
        [Key(0x41)] = new(10, [0x1A, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0xFF, 0xFF, 0x07], ReservationAccess.None, true), // WRITE SAME(10)
        [Key(0x42)] = new(10, [0x01, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0x07], ReservationAccess.None, true), // UNMAP
        [Key(0x4D)] = new(10, null, Resv | Pr, false, Modeled: false), // LOG SENSE
        [Key(0x55)] = new(10, [0x13, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0x07], ReservationAccess.None, false), // MODE SELECT(10)
        [Key(0x56)] = new(10, [0, 0, 0, 0, 0, 0, 0, 0, 0x07], Resv, false), // RESERVE(10)
        [Key(0x57)] = new(10, [0, 0, 0, 0, 0, 0, 0, 0, 0x07], Resv, false), // RELEASE(10)
        [Key(0x5A)] = new(10, [0x18, 0xFF, 0xFF, 0, 0, 0, 0xFF, 0xFF, 0x07], Read, false), // MODE SENSE(10)
        [Key(0x5E, 0x00)] = new(10, [0x00, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0x07], Pr, false), // PR IN READ KEYS
        [Key(0x5E, 0x01)] = new(10, [0x01, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0x07], Pr, false), // PR IN READ RESERVATION
        [Key(0x5E, 0x02)] = new(10, [0x02, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0x07], Pr, false), // PR IN REPORT CAPABILITIES
        [Key(0x5E, 0x03)] = new(10, [0x03, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0x07], Pr, false), // PR IN READ FULL STATUS
        [Key(0x5F, 0x00)] = PrOut(0x00), // REGISTER
        [Key(0x5F, 0x01)] = PrOut(0x01), // RESERVE
        [Key(0x5F, 0x02)] = PrOut(0x02), // RELEASE
        [Key(0x5F, 0x03)] = PrOut(0x03), // CLEAR
        [Key(0x5F, 0x04)] = PrOut(0x04), // PREEMPT
        [Key(0x5F, 0x05)] = PrOut(0x05), // PREEMPT AND ABORT
        [Key(0x5F, 0x06)] = PrOut(0x06), // REGISTER AND IGNORE EXISTING KEY
        [Key(0x83, 0x00)] = new(16, null, ReservationAccess.None, false, Modeled: false), // EXTENDED COPY(LID1)
        [Key(0x83, 0x01)] = new(16, null, ReservationAccess.None, false, Modeled: false), // EXTENDED COPY(LID4)
        [Key(0x84, 0x00)] = new(16, null, Pr, false, Modeled: false),
        [Key(0x84, 0x03)] = new(16, null, Pr, false, Modeled: false),
        [Key(0x84, 0x04)] = new(16, null, Pr, false, Modeled: false),
        [Key(0x84, 0x05)] = new(16, null, Pr, false, Modeled: false),
        [Key(0x88)] = new(16, Mask16(0x1A, 0), Read, false), // READ(16)
        [Key(0x89)] = new(16, [0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0xFF, 0, 0x07], ReservationAccess.None, true), // COMPARE AND WRITE
        [Key(0x8A)] = new(16, Mask16(0x1A, 0), ReservationAccess.None, true), // WRITE(16)
        [Key(0x8B)] = new(16, Mask16(0x1A, 0x1F), ReservationAccess.None, true), // ORWRITE(16): ORPROTECT not allowed
        [Key(0x8E)] = new(16, Mask16(0x12, 0), ReservationAccess.None, true), // WRITE AND VERIFY(16)
        [Key(0x8F)] = new(16, Mask16(0x16, 0), Read, false), // VERIFY(16)
        [Key(0x90)] = new(16, Mask16(0x02, 0), Read, false), // PRE-FETCH(16)
        [Key(0x91)] = new(16, Mask16(0x06, 0), ReservationAccess.None, true), // SYNCHRONIZE CACHE(16)
        [Key(0x93)] = new(16, Mask16(0x1B, 0), ReservationAccess.None, true), // WRITE SAME(16)
        [Key(0x9B, 0x02)] = new(16, null, Read, false, Modeled: false), // READ BUFFER(16) / DATA
        [Key(0x9B, 0x03)] = new(16, null, Read, false, Modeled: false), // READ BUFFER(16) / DESCRIPTOR
        [Key(0x9B, 0x0B)] = new(16, null, Read, false, Modeled: false), // READ BUFFER(16) / ECHO BUFFER DESCRIPTOR
        [Key(0x9E, 0x10)] = new(16, [0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0x07], Resv | Pr, false), // READ CAPACITY(16)
        [Key(0x9E, 0x12)] = new(16, Mask16(0x12, 0), Read, false), // GET LBA STATUS
        [Key(0xA0)] = new(12, [0, 0xFF, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0x07], Resv | Pr, false), // REPORT LUNS
        [Key(0xA3, 0x0A)] = new(12, [0xEA, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0x07], Resv | Pr, false), // RTPG
        [Key(0xA3, 0x0C)] = new(12, null, Resv | Pr, false, Modeled: false), // REPORT SUPPORTED OPERATION CODES
        [Key(0xA3, 0x0D)] = new(12, null, Resv | Pr, false, Modeled: false), // REPORT SUPPORTED TMFs
        [Key(0xA3, 0x0F)] = new(12, null, Resv | Pr, false, Modeled: false), // REPORT TIMESTAMP (needs a clock)
        [Key(0xA8)] = new(12, Mask12(0x1A), Read, false), // READ(12)
        [Key(0xAA)] = new(12, Mask12(0x1A), ReservationAccess.None, true), // WRITE(12)
        [Key(0xAE)] = new(12, Mask12(0x12), ReservationAccess.None, true), // WRITE AND VERIFY(12)
        [Key(0xAF)] = new(12, Mask12(0x16), Read, false), // VERIFY(12)
        [Key(0xB7)] = new(12, null, Read, false, Modeled: false), // READ DEFECT DATA(12)
    }.ToFrozenDictionary();

    /// <summary>The rule for a supported command, or null if the model has none (treated as unmodeled).</summary>
    public static CdbRule? Find(byte opcode, int? serviceAction) =>
        Rules.TryGetValue(Key(opcode, serviceAction), out var rule) ? rule : null;

    /// <summary>
    /// The first CDB byte with a bit outside the usage mask, as 05/24/00 with field pointer = that byte and
    /// bit pointer = its highest offending bit; null when the CDB is clean. Bytes beyond the CDB are read as 0.
    /// </summary>
    public static SenseCondition? Validate(CdbRule rule, ReadOnlySpan<byte> cdb)
    {
        if (rule.Usage is not { } usage)
        {
            return null;
        }

        for (var i = 1; i < rule.Length; i++)
        {
            var b = i < cdb.Length ? cdb[i] : (byte)0;
            var diff = b & ~usage[i - 1];
            if (diff != 0)
            {
                return Senses.InvalidFieldInCdb(i, 31 - int.LeadingZeroCount(diff));
            }
        }

        return null;
    }

    private static CdbRule PrOut(byte sa) => new(10, [sa, 0xFF, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x07], Pr, false);

    // 16-byte LBA commands: byte 1 flags, bytes 2..13 LBA + length, byte 14 group, byte 15 control.
    private static byte[] Mask16(byte byte1, byte group) =>
        [byte1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, group, 0x07];

    private static byte[] Mask12(byte byte1) => [byte1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0x07];

    private static int Key(byte opcode, int? serviceAction = null) => (opcode << 8) | (serviceAction ?? 0xFF);
}

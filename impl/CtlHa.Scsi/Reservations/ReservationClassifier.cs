namespace CtlHa.Scsi.Reservations;

/// <summary>
/// Classifies a CDB for the reservation checks made before a command runs.
/// </summary>
public static class ReservationClassifier
{
    /// <summary>
    /// The column of SPC-5 §5.14.3 Table 69 / SBC-4 §4.17 Table 13 a command falls in, for an I_T nexus that does not
    /// hold the persistent reservation: "Allowed" under every type → <see cref="AccessKind.Unrestricted"/>;
    /// allowed under Write Exclusive, conflict under Exclusive Access → <see cref="AccessKind.Read"/>;
    /// conflict under both → <see cref="AccessKind.Write"/>. Unknown commands conflict (the safe side).
    /// </summary>
    public static AccessKind Classify(ReadOnlySpan<byte> cdb)
    {
        if (cdb.IsEmpty)
        {
            return AccessKind.Write;
        }
        byte sa = cdb.Length > 1 ? (byte)(cdb[1] & 0x1F) : (byte)0;
        return cdb[0] switch
        {
            0x00 /* TEST UNIT READY */ or 0x03 /* REQUEST SENSE */ or 0x12 /* INQUIRY */
                or 0x4D /* LOG SENSE */ or 0xA0 /* REPORT LUNS */ or 0x25 /* READ CAPACITY(10) */
                or 0x5E /* PERSISTENT RESERVE IN */
                // PR OUT is checked by its own rules (SPC-5 §5.14.3 Table 70 via PersistentReservationState).
                or 0x5F /* PERSISTENT RESERVE OUT */
                // RESERVE/RELEASE meet persistent reservations through CRH (SPC-5 §5.14.3), see Scsi2Reservation.
                or 0x16 or 0x56 or 0x17 or 0x57 => AccessKind.Unrestricted,
            0x9E => sa switch
            {
                0x10 /* READ CAPACITY(16) */ => AccessKind.Unrestricted,
                0x12 /* GET LBA STATUS */ => AccessKind.Read,
                _ => AccessKind.Write,
            },
            0xA3 /* MAINTENANCE IN */ => sa switch
            {
                // REPORT IDENTIFYING INFORMATION, REPORT TARGET PORT GROUPS, REPORT ALIASES, REPORT SUPPORTED
                // OPERATION CODES / TASK MANAGEMENT FUNCTIONS (allowed as in CTL and the CtlHa model), REPORT PRIORITY,
                // REPORT TIMESTAMP.
                0x05 or 0x0A or 0x0B or 0x0C or 0x0D or 0x0E or 0x0F => AccessKind.Unrestricted,
                _ => AccessKind.Write,
            },
            0xAB when sa == 0x01 /* READ MEDIA SERIAL NUMBER */ => AccessKind.Unrestricted,
            // START STOP UNIT: allowed with START = 1 and POWER CONDITION = 0 (SBC-4 Table 13), else conflict.
            0x1B => cdb.Length > 4 && (cdb[4] & 0x01) != 0 && (cdb[4] & 0xF0) == 0 ? AccessKind.Unrestricted : AccessKind.Write,
            // PREVENT ALLOW MEDIUM REMOVAL: allowed with PREVENT = 0.
            0x1E => cdb.Length > 4 && (cdb[4] & 0x03) == 0 ? AccessKind.Unrestricted : AccessKind.Write,
            0x08 or 0x28 or 0xA8 or 0x88 /* READ(6/10/12/16) */
                or 0x2F or 0xAF or 0x8F /* VERIFY(10/12/16) */
                or 0x34 or 0x90 /* PRE-FETCH(10/16) */
                or 0x37 or 0xB7 /* READ DEFECT DATA(10/12) */
                or 0x1A or 0x5A /* MODE SENSE(6/10) */
                or 0x3C /* READ BUFFER */ or 0x1C /* RECEIVE DIAGNOSTIC RESULTS */
                or 0x8C /* READ ATTRIBUTE */ or 0xA2 /* SECURITY PROTOCOL IN */ => AccessKind.Read,
            // RECEIVE COPY RESULTS reads only the copy manager's own state (CTL ALLOW_ON_PR_RESV).
            0x84 => AccessKind.Unrestricted,
            _ => AccessKind.Write,
        };
    }

    /// <summary>
    /// Commands a non-holder may still run while another I_T nexus holds a SCSI-2 reservation: SPC-3 Table 31 /
    /// SBC-3 Table 13 (INQUIRY, REQUEST SENSE, REPORT LUNS, READ CAPACITY, LOG SENSE, the REPORT commands), as the
    /// CtlHa model has them. RELEASE from a non-holder is a GOOD no-op, so it is allowed through to its handler.
    /// TEST UNIT READY and PERSISTENT RESERVE IN/OUT conflict.
    /// </summary>
    public static bool AllowedUnderScsi2Reservation(ReadOnlySpan<byte> cdb)
    {
        if (cdb.IsEmpty)
        {
            return false;
        }
        byte sa = cdb.Length > 1 ? (byte)(cdb[1] & 0x1F) : (byte)0;
        return cdb[0] switch
        {
            0x12 /* INQUIRY */ or 0x03 /* REQUEST SENSE */ or 0xA0 /* REPORT LUNS */
                or 0x25 /* READ CAPACITY(10) */ or 0x4D /* LOG SENSE */
                or 0x17 or 0x57 /* RELEASE(6/10) */ => true,
            0x9E => sa == 0x10, // READ CAPACITY(16)
            0xA3 => sa is 0x0A or 0x0C or 0x0D or 0x0F, // RTPG, REPORT SUPPORTED OPCODES/TMFs, REPORT TIMESTAMP
            _ => false,
        };
    }
}

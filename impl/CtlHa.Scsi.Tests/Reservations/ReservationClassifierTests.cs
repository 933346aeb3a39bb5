using CtlHa.Scsi.Reservations;

namespace CtlHa.Scsi.Tests.Reservations;

/// <summary>The columns of SPC-5 §5.14.3 Table 69 / SBC-4 §4.17 Table 13 and the SPC-3 Table 31 SCSI-2 list.</summary>
public sealed class ReservationClassifierTests
{
    [Theory]
    [InlineData(new byte[] { 0x00, 0, 0, 0, 0, 0 }, AccessKind.Unrestricted)]            // TEST UNIT READY
    [InlineData(new byte[] { 0x12, 0, 0, 0, 0xFF, 0 }, AccessKind.Unrestricted)]         // INQUIRY
    [InlineData(new byte[] { 0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, AccessKind.Unrestricted)] // READ CAPACITY(10)
    [InlineData(new byte[] { 0x9E, 0x10 }, AccessKind.Unrestricted)]                      // READ CAPACITY(16)
    [InlineData(new byte[] { 0x9E, 0x12 }, AccessKind.Read)]                              // GET LBA STATUS
    [InlineData(new byte[] { 0xA3, 0x0A }, AccessKind.Unrestricted)]                      // REPORT TARGET PORT GROUPS
    [InlineData(new byte[] { 0x28, 0 }, AccessKind.Read)]                                 // READ(10)
    [InlineData(new byte[] { 0x1A, 0 }, AccessKind.Read)]                                 // MODE SENSE(6)
    [InlineData(new byte[] { 0x2F, 0 }, AccessKind.Read)]                                 // VERIFY(10)
    [InlineData(new byte[] { 0x2A, 0 }, AccessKind.Write)]                                // WRITE(10)
    [InlineData(new byte[] { 0x35, 0 }, AccessKind.Write)]                                // SYNCHRONIZE CACHE(10)
    [InlineData(new byte[] { 0x15, 0 }, AccessKind.Write)]                                // MODE SELECT(6)
    [InlineData(new byte[] { 0x83, 0 }, AccessKind.Write)]                                // EXTENDED COPY
    [InlineData(new byte[] { 0x1B, 0, 0, 0, 0x01, 0 }, AccessKind.Unrestricted)]         // START STOP UNIT START=1
    [InlineData(new byte[] { 0x1B, 0, 0, 0, 0x00, 0 }, AccessKind.Write)]                // START STOP UNIT stop
    [InlineData(new byte[] { 0x1E, 0, 0, 0, 0x00, 0 }, AccessKind.Unrestricted)]         // PREVENT ALLOW, allow
    [InlineData(new byte[] { 0x1E, 0, 0, 0, 0x01, 0 }, AccessKind.Write)]                // PREVENT ALLOW, prevent
    [InlineData(new byte[] { 0xC0 }, AccessKind.Write)]                                   // unknown: the safe side
    public void Commands_fall_in_the_column_of_the_standard_tables(byte[] cdb, AccessKind expected) =>
        Assert.Equal(expected, ReservationClassifier.Classify(cdb));

    [Theory]
    [InlineData(new byte[] { 0x12, 0, 0, 0, 0xFF, 0 }, true)]  // INQUIRY
    [InlineData(new byte[] { 0x03, 0, 0, 0, 0xFC, 0 }, true)]  // REQUEST SENSE
    [InlineData(new byte[] { 0xA0, 0 }, true)]                 // REPORT LUNS
    [InlineData(new byte[] { 0x25, 0 }, true)]                 // READ CAPACITY(10)
    [InlineData(new byte[] { 0x17, 0, 0, 0, 0, 0 }, true)]     // RELEASE(6)
    [InlineData(new byte[] { 0x00, 0, 0, 0, 0, 0 }, false)]    // TEST UNIT READY
    [InlineData(new byte[] { 0x1A, 0, 0x3F, 0, 0xFF, 0 }, false)] // MODE SENSE(6): libiscsi Reserve6.2Initiators
    [InlineData(new byte[] { 0x5E, 0 }, false)]                // PERSISTENT RESERVE IN (SPC-2 §7.10)
    [InlineData(new byte[] { 0x16, 0, 0, 0, 0, 0 }, false)]    // RESERVE(6)
    public void Scsi2_reservations_let_only_the_listed_commands_through(byte[] cdb, bool allowed) =>
        Assert.Equal(allowed, ReservationClassifier.AllowedUnderScsi2Reservation(cdb));
}

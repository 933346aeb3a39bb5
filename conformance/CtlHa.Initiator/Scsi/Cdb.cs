using System.Buffers.Binary;

namespace CtlHa.Initiator.Scsi;

/// <summary>PERSISTENT RESERVE OUT service actions, SPC-5 §6.17.2 table 214.</summary>
public enum PersistentReserveOutAction : byte
{
    Register = 0x00,
    Reserve = 0x01,
    Release = 0x02,
    Clear = 0x03,
    Preempt = 0x04,
    PreemptAndAbort = 0x05,
    RegisterAndIgnoreExistingKey = 0x06,
    RegisterAndMove = 0x07,
    ReplaceLostReservation = 0x08,
}

/// <summary>PERSISTENT RESERVE IN service actions, SPC-5 §6.16.1 table 194.</summary>
public enum PersistentReserveInAction : byte
{
    ReadKeys = 0x00,
    ReadReservation = 0x01,
    ReportCapabilities = 0x02,
    ReadFullStatus = 0x03,
}

/// <summary>Persistent reservation types, SPC-5 §6.16.3.4 table 201.</summary>
public enum PersistentReservationType : byte
{
    None = 0x0,
    WriteExclusive = 0x1,
    ExclusiveAccess = 0x3,
    WriteExclusiveRegistrantsOnly = 0x5,
    ExclusiveAccessRegistrantsOnly = 0x6,
    WriteExclusiveAllRegistrants = 0x7,
    ExclusiveAccessAllRegistrants = 0x8,
}

/// <summary>
/// Thin CDB builders (SPC-5, SBC-4). Each names its section and the bytes it fills; all multi-byte fields big-endian.
/// </summary>
public static class Cdb
{
    /// <summary>TEST UNIT READY, SPC-5 §6.47: 00h, 6 bytes of zero.</summary>
    public static byte[] TestUnitReady() => new byte[6];

    /// <summary>INQUIRY, SPC-5 §6.6: 12h; byte1 EVPD; byte2 PAGE CODE; 3-4 ALLOCATION LENGTH.</summary>
    public static byte[] Inquiry(bool evpd = false, byte pageCode = 0, ushort allocationLength = 255)
    {
        var cdb = new byte[6];
        cdb[0] = 0x12;
        cdb[1] = (byte)(evpd ? 0x01 : 0x00);
        cdb[2] = pageCode;
        BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(3), allocationLength);
        return cdb;
    }

    /// <summary>REQUEST SENSE, SPC-5 §6.39: 03h; byte1 DESC; byte4 ALLOCATION LENGTH.</summary>
    public static byte[] RequestSense(byte allocationLength = 252, bool descriptorFormat = false) =>
        [0x03, (byte)(descriptorFormat ? 0x01 : 0x00), 0, 0, allocationLength, 0];

    /// <summary>READ CAPACITY (10), SBC-4 §5.20: 25h, 10 bytes.</summary>
    public static byte[] ReadCapacity10() => [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    /// <summary>READ CAPACITY (16), SBC-4 §5.21: 9Eh; byte1 SERVICE ACTION 10h; 10-13 ALLOCATION LENGTH.</summary>
    public static byte[] ReadCapacity16(uint allocationLength = 32)
    {
        var cdb = new byte[16];
        cdb[0] = 0x9E;
        cdb[1] = 0x10;
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(10), allocationLength);
        return cdb;
    }

    /// <summary>READ (10), SBC-4 §5.13: 28h; byte1 FUA 08h; 2-5 LBA; 7-8 TRANSFER LENGTH.</summary>
    public static byte[] Read10(uint lba, ushort blocks, bool fua = false) => Rw10(0x28, lba, blocks, fua);

    /// <summary>WRITE (10), SBC-4 §5.40: 2Ah; layout as READ (10).</summary>
    public static byte[] Write10(uint lba, ushort blocks, bool fua = false) => Rw10(0x2A, lba, blocks, fua);

    /// <summary>READ (16), SBC-4 §5.16: 88h; byte1 FUA 08h; 2-9 LBA; 10-13 TRANSFER LENGTH.</summary>
    public static byte[] Read16(ulong lba, uint blocks, bool fua = false) => Rw16(0x88, lba, blocks, fua);

    /// <summary>WRITE (16), SBC-4 §5.43: 8Ah; layout as READ (16).</summary>
    public static byte[] Write16(ulong lba, uint blocks, bool fua = false) => Rw16(0x8A, lba, blocks, fua);

    /// <summary>COMPARE AND WRITE, SBC-4 §5.3: 89h; 2-9 LBA; 13 NUMBER OF LOGICAL BLOCKS (data-out carries 2x: verify then write).</summary>
    public static byte[] CompareAndWrite(ulong lba, byte blocks)
    {
        var cdb = new byte[16];
        cdb[0] = 0x89;
        BinaryPrimitives.WriteUInt64BigEndian(cdb.AsSpan(2), lba);
        cdb[13] = blocks;
        return cdb;
    }

    /// <summary>SYNCHRONIZE CACHE (10), SBC-4 §5.24: 35h; 2-5 LBA; 7-8 NUMBER OF LOGICAL BLOCKS (0 = to the end).</summary>
    public static byte[] SynchronizeCache10(uint lba = 0, ushort blocks = 0) => Rw10(0x35, lba, blocks, fua: false);

    /// <summary>MODE SENSE (6), SPC-5 §6.14: 1Ah; byte1 DBD 08h; byte2 PC(7-6) PAGE CODE(5-0); 3 SUBPAGE; 4 ALLOCATION LENGTH.</summary>
    public static byte[] ModeSense6(byte pageCode, byte subpageCode = 0, byte pageControl = 0, bool disableBlockDescriptors = false,
        byte allocationLength = 255) =>
        [0x1A, (byte)(disableBlockDescriptors ? 0x08 : 0), (byte)((pageControl << 6) | (pageCode & 0x3F)), subpageCode, allocationLength, 0];

    /// <summary>MODE SENSE (10), SPC-5 §6.15: 5Ah; byte1 DBD 08h; 2 PC/PAGE CODE; 3 SUBPAGE; 7-8 ALLOCATION LENGTH.</summary>
    public static byte[] ModeSense10(byte pageCode, byte subpageCode = 0, byte pageControl = 0, bool disableBlockDescriptors = false,
        ushort allocationLength = 4096)
    {
        var cdb = new byte[10];
        cdb[0] = 0x5A;
        cdb[1] = (byte)(disableBlockDescriptors ? 0x08 : 0);
        cdb[2] = (byte)((pageControl << 6) | (pageCode & 0x3F));
        cdb[3] = subpageCode;
        BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(7), allocationLength);
        return cdb;
    }

    /// <summary>MODE SELECT (6), SPC-5 §6.12: 15h; byte1 PF 10h, SP 01h; 4 PARAMETER LIST LENGTH.</summary>
    public static byte[] ModeSelect6(byte parameterListLength, bool pageFormat = true, bool savePages = false) =>
        [0x15, (byte)((pageFormat ? 0x10 : 0) | (savePages ? 0x01 : 0)), 0, 0, parameterListLength, 0];

    /// <summary>MODE SELECT (10), SPC-5 §6.13: 55h; byte1 PF/SP; 7-8 PARAMETER LIST LENGTH.</summary>
    public static byte[] ModeSelect10(ushort parameterListLength, bool pageFormat = true, bool savePages = false)
    {
        var cdb = new byte[10];
        cdb[0] = 0x55;
        cdb[1] = (byte)((pageFormat ? 0x10 : 0) | (savePages ? 0x01 : 0));
        BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(7), parameterListLength);
        return cdb;
    }

    /// <summary>PERSISTENT RESERVE IN, SPC-5 §6.16: 5Eh; byte1 SERVICE ACTION; 7-8 ALLOCATION LENGTH.</summary>
    public static byte[] PersistentReserveIn(PersistentReserveInAction action, ushort allocationLength = 8192)
    {
        var cdb = new byte[10];
        cdb[0] = 0x5E;
        cdb[1] = (byte)action;
        BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(7), allocationLength);
        return cdb;
    }

    /// <summary>PERSISTENT RESERVE OUT, SPC-5 §6.17: 5Fh; byte1 SERVICE ACTION; byte2 SCOPE(7-4) TYPE(3-0); 5-8 PARAMETER LIST LENGTH.</summary>
    public static byte[] PersistentReserveOut(PersistentReserveOutAction action, PersistentReservationType type, uint parameterListLength = 24,
        byte scope = 0)
    {
        var cdb = new byte[10];
        cdb[0] = 0x5F;
        cdb[1] = (byte)action;
        cdb[2] = (byte)((scope << 4) | ((byte)type & 0x0F));
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(5), parameterListLength);
        return cdb;
    }

    /// <summary>
    /// The basic PERSISTENT RESERVE OUT parameter list, SPC-5 §6.17.3 (24 bytes): 0-7 RESERVATION KEY;
    /// 8-15 SERVICE ACTION RESERVATION KEY; 20 SPEC_I_PT 08h, ALL_TG_PT 04h, APTPL 01h.
    /// </summary>
    public static byte[] PersistentReserveOutParameters(ulong reservationKey, ulong serviceActionReservationKey,
        bool specifyInitiatorPorts = false, bool allTargetPorts = false, bool activatePersistThroughPowerLoss = false)
    {
        var list = new byte[24];
        BinaryPrimitives.WriteUInt64BigEndian(list, reservationKey);
        BinaryPrimitives.WriteUInt64BigEndian(list.AsSpan(8), serviceActionReservationKey);
        list[20] = (byte)((specifyInitiatorPorts ? 0x08 : 0) | (allTargetPorts ? 0x04 : 0) | (activatePersistThroughPowerLoss ? 0x01 : 0));
        return list;
    }

    /// <summary>RESERVE (6), SPC-2 §7.21: 16h, 6 bytes.</summary>
    public static byte[] Reserve6() => [0x16, 0, 0, 0, 0, 0];

    /// <summary>RELEASE (6), SPC-2 §7.19: 17h, 6 bytes.</summary>
    public static byte[] Release6() => [0x17, 0, 0, 0, 0, 0];

    /// <summary>REPORT LUNS, SPC-5 §6.33: A0h; byte2 SELECT REPORT; 6-9 ALLOCATION LENGTH.</summary>
    public static byte[] ReportLuns(uint allocationLength = 4096, byte selectReport = 0)
    {
        var cdb = new byte[12];
        cdb[0] = 0xA0;
        cdb[2] = selectReport;
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(6), allocationLength);
        return cdb;
    }

    /// <summary>REPORT TARGET PORT GROUPS, SPC-5 §6.36: A3h; byte1 SERVICE ACTION 0Ah | PARAMETER DATA FORMAT 20h (extended); 6-9 ALLOCATION LENGTH.</summary>
    public static byte[] ReportTargetPortGroups(uint allocationLength = 4096, bool extendedFormat = false)
    {
        var cdb = new byte[12];
        cdb[0] = 0xA3;
        cdb[1] = (byte)(0x0A | (extendedFormat ? 0x20 : 0));
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(6), allocationLength);
        return cdb;
    }

    private static byte[] Rw10(byte opcode, uint lba, ushort blocks, bool fua)
    {
        var cdb = new byte[10];
        cdb[0] = opcode;
        cdb[1] = (byte)(fua ? 0x08 : 0);
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(7), blocks);
        return cdb;
    }

    private static byte[] Rw16(byte opcode, ulong lba, uint blocks, bool fua)
    {
        var cdb = new byte[16];
        cdb[0] = opcode;
        cdb[1] = (byte)(fua ? 0x08 : 0);
        BinaryPrimitives.WriteUInt64BigEndian(cdb.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(10), blocks);
        return cdb;
    }
}

/// <summary>READ CAPACITY (16) parameter data, SBC-4 §5.21.2: 0-7 RETURNED LOGICAL BLOCK ADDRESS (last LBA); 8-11 LOGICAL BLOCK LENGTH.</summary>
public readonly record struct Capacity(ulong LastLba, uint BlockLength)
{
    public ulong Blocks => LastLba + 1;

    public static bool TryParse16(ReadOnlySpan<byte> data, out Capacity capacity)
    {
        capacity = default;
        if (data.Length < 12)
        {
            return false;
        }

        capacity = new Capacity(BinaryPrimitives.ReadUInt64BigEndian(data), BinaryPrimitives.ReadUInt32BigEndian(data[8..]));
        return true;
    }
}

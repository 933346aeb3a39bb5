using System.Buffers.Binary;
using System.Text;

namespace CtlHa.Scsi.Reservations;

/// <summary>Builders for PERSISTENT RESERVE IN parameter data (SPC-5 §6.16). Always the full data; the caller clips.</summary>
public static class PrInData
{
    /// <summary>Opcode 5Eh. CDB: byte 1 bits 4..0 SERVICE ACTION, bytes 7..8 ALLOCATION LENGTH.</summary>
    public const byte OpCode = 0x5E;

    public static int AllocationLength(ReadOnlySpan<byte> cdb) =>
        cdb.Length >= 9 ? BinaryPrimitives.ReadUInt16BigEndian(cdb[7..]) : 0;

    /// <summary>
    /// READ KEYS (SPC-5 §6.16.2 Table 199): 0..3 PRGENERATION, 4..7 ADDITIONAL LENGTH (8·n, never clipped), 8.. keys.
    /// </summary>
    public static byte[] ReadKeys(uint generation, IReadOnlyList<PrRegistration> registrations)
    {
        var data = new byte[8 + 8 * registrations.Count];
        BinaryPrimitives.WriteUInt32BigEndian(data, generation);
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(4), (uint)(8 * registrations.Count));
        for (int i = 0; i < registrations.Count; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(data.AsSpan(8 + 8 * i), registrations[i].Key);
        }
        return data;
    }

    /// <summary>
    /// READ RESERVATION (SPC-5 §6.16.3 Tables 200–201): 0..3 PRGENERATION, 4..7 ADDITIONAL LENGTH (0 or 16);
    /// with a reservation: 8..15 RESERVATION KEY, 16..19 obsolete, 20 reserved, 21 SCOPE (7..4) TYPE (3..0), 22..23 obsolete.
    /// </summary>
    public static byte[] ReadReservation(uint generation, bool reserved, PrType type, ulong holderKey)
    {
        var data = new byte[reserved ? 24 : 8];
        BinaryPrimitives.WriteUInt32BigEndian(data, generation);
        if (reserved)
        {
            BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(4), 16);
            BinaryPrimitives.WriteUInt64BigEndian(data.AsSpan(8), holderKey);
            data[21] = (byte)type; // scope LU_SCOPE = 0
        }
        return data;
    }

    /// <summary>
    /// REPORT CAPABILITIES (SPC-5 §6.16.4 Table 202): 0..1 LENGTH (8); byte 2: RLR_C (7) CRH (4) SIP_C (3) ATP_C (2) PTPL_C (0);
    /// byte 3: TMV (7) ALLOW COMMANDS (6..4) PTPL_A (0); 4..5 PERSISTENT RESERVATION TYPE MASK (Table 204).
    /// CRH = 1 (SPC-5 §5.14.3 compatible reservation handling), ALLOW COMMANDS = 101b as CTL reports
    /// (ctl-ha.md §8.4), no SIP, ATP or PTPL.
    /// </summary>
    public static byte[] ReportCapabilities()
    {
        var data = new byte[8];
        data[1] = 8;
        data[2] = 0x10;
        data[3] = 0x80 | (5 << 4);
        // Byte 4: WR_EX_AR (7), EX_AC_RO (6), WR_EX_RO (5), EX_AC (3), WR_EX (1); byte 5: EX_AC_AR (0).
        data[4] = 0x80 | 0x40 | 0x20 | 0x08 | 0x02;
        data[5] = 0x01;
        return data;
    }

    /// <summary>
    /// READ FULL STATUS (SPC-5 §6.16.5 Tables 205–206): 0..3 PRGENERATION, 4..7 ADDITIONAL LENGTH, then per registrant:
    /// 0..7 RESERVATION KEY, 8..11 reserved, 12 ALL_TG_PT (1) R_HOLDER (0), 13 SCOPE/TYPE (holder only), 14..17 reserved,
    /// 18..19 RELATIVE TARGET PORT IDENTIFIER, 20..23 ADDITIONAL DESCRIPTOR LENGTH, 24.. TransportID.
    /// </summary>
    public static byte[] ReadFullStatus(uint generation, IReadOnlyList<PrRegistration> registrations, Func<PrNexus, bool> isHolder, PrType type)
    {
        var descriptors = new List<byte[]>(registrations.Count);
        foreach (var r in registrations)
        {
            byte[] transportId = IscsiTransportId(r.Nexus);
            var d = new byte[24 + transportId.Length];
            BinaryPrimitives.WriteUInt64BigEndian(d, r.Key);
            if (isHolder(r.Nexus))
            {
                d[12] = 0x01;
                d[13] = (byte)type;
            }
            BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(18), r.Nexus.RelativeTargetPortId);
            BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(20), (uint)transportId.Length);
            transportId.CopyTo(d, 24);
            descriptors.Add(d);
        }
        int total = descriptors.Sum(d => d.Length);
        var data = new byte[8 + total];
        BinaryPrimitives.WriteUInt32BigEndian(data, generation);
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(4), (uint)total);
        int offset = 8;
        foreach (var d in descriptors)
        {
            d.CopyTo(data, offset);
            offset += d.Length;
        }
        return data;
    }

    /// <summary>
    /// iSCSI TransportID, format 01b (SPC-5 §7.6.4.6 Table 507): byte 0 FORMAT CODE (7..6) = 01b, PROTOCOL IDENTIFIER = 5;
    /// 2..3 ADDITIONAL LENGTH (multiple of 4); 4.. "name,i,0x&lt;ISID&gt;" NUL-terminated, zero-padded.
    /// </summary>
    public static byte[] IscsiTransportId(PrNexus nexus)
    {
        byte[] name = Encoding.UTF8.GetBytes(nexus.InitiatorPortName);
        int length = (name.Length + 1 + 3) & ~3;
        var data = new byte[4 + length];
        data[0] = 0x40 | 0x05;
        BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(2), (ushort)length);
        name.CopyTo(data, 4);
        return data;
    }
}

using System.Buffers.Binary;

namespace CtlHa.Initiator.Pdus;

/// <summary>
/// One iSCSI PDU as it travels: the 48-byte Basic Header Segment, optional Additional Header Segments and a
/// data segment (RFC 7143 §11.2). Digests and padding are added by <see cref="PduFramer"/>; TotalAHSLength and
/// DataSegmentLength are filled from <see cref="Ahs"/> and <see cref="Data"/> on write.
/// The named accessors below use the offsets of RFC 7143 §11; which ones are meaningful depends on the opcode.
/// </summary>
public sealed class IscsiPdu
{
    public const int BhsLength = 48;
    public const uint ReservedTag = 0xFFFFFFFF;

    // Offsets of RFC 7143 §11.2.1 and the per-opcode sections; the same dword carries different names per PDU.
    private const int OffsetFlags = 1;
    private const int OffsetTotalAhsLength = 4;
    private const int OffsetDataSegmentLength = 5;
    private const int OffsetLun = 8;
    private const int OffsetInitiatorTaskTag = 16;
    private const int OffsetDword20 = 20;
    private const int OffsetDword24 = 24;
    private const int OffsetDword28 = 28;
    private const int OffsetDword32 = 32;
    private const int OffsetDword36 = 36;
    private const int OffsetDword40 = 40;
    private const int OffsetDword44 = 44;

    public IscsiPdu()
    {
        Bhs = new byte[BhsLength];
    }

    public IscsiPdu(IscsiOpcode opcode, bool immediate = false)
        : this()
    {
        Opcode = opcode;
        Immediate = immediate;
    }

    /// <summary>Wraps an existing 48-byte header (copied).</summary>
    public IscsiPdu(ReadOnlySpan<byte> bhs, ReadOnlyMemory<byte> ahs, ReadOnlyMemory<byte> data)
    {
        if (bhs.Length != BhsLength)
        {
            throw new ArgumentException("A BHS is 48 bytes.", nameof(bhs));
        }

        Bhs = bhs.ToArray();
        Ahs = ahs;
        Data = data;
    }

    /// <summary>The raw Basic Header Segment; writable so raw-mode callers can craft anything.</summary>
    public byte[] Bhs { get; }

    /// <summary>Additional Header Segments, already padded to 4 bytes (RFC 7143 §11.2.2).</summary>
    public ReadOnlyMemory<byte> Ahs { get; set; }

    /// <summary>The data segment without padding.</summary>
    public ReadOnlyMemory<byte> Data { get; set; }

    public IscsiOpcode Opcode
    {
        get => (IscsiOpcode)(Bhs[0] & 0x3F);
        set => Bhs[0] = (byte)((Bhs[0] & 0xC0) | ((byte)value & 0x3F));
    }

    /// <summary>The I bit (byte 0, 0x40): immediate delivery, CmdSN not advanced.</summary>
    public bool Immediate
    {
        get => (Bhs[0] & 0x40) != 0;
        set => Bhs[0] = (byte)(value ? Bhs[0] | 0x40 : Bhs[0] & ~0x40);
    }

    /// <summary>Byte 1: opcode-specific flags (F, R, W, ATTR, T, C, CSG, NSG, S, O, U ...).</summary>
    public byte Flags
    {
        get => Bhs[OffsetFlags];
        set => Bhs[OffsetFlags] = value;
    }

    /// <summary>The F (final) bit, 0x80 of byte 1, for the PDUs that have one.</summary>
    public bool Final
    {
        get => (Flags & 0x80) != 0;
        set => Flags = (byte)(value ? Flags | 0x80 : Flags & ~0x80);
    }

    public byte Byte2
    {
        get => Bhs[2];
        set => Bhs[2] = value;
    }

    public byte Byte3
    {
        get => Bhs[3];
        set => Bhs[3] = value;
    }

    /// <summary>TotalAHSLength in 4-byte words as carried in the header (raw; recomputed on write).</summary>
    public byte TotalAhsLength => Bhs[OffsetTotalAhsLength];

    /// <summary>DataSegmentLength as carried in the header (3 bytes, big-endian).</summary>
    public int DataSegmentLength =>
        (Bhs[OffsetDataSegmentLength] << 16) | (Bhs[OffsetDataSegmentLength + 1] << 8) | Bhs[OffsetDataSegmentLength + 2];

    /// <summary>Bytes 8-15: the LUN field, or ISID+TSIH in login PDUs.</summary>
    public ulong Lun
    {
        get => BinaryPrimitives.ReadUInt64BigEndian(Bhs.AsSpan(OffsetLun));
        set => BinaryPrimitives.WriteUInt64BigEndian(Bhs.AsSpan(OffsetLun), value);
    }

    public uint InitiatorTaskTag
    {
        get => GetUInt32(OffsetInitiatorTaskTag);
        set => SetUInt32(OffsetInitiatorTaskTag, value);
    }

    /// <summary>Bytes 20-23: TargetTransferTag (Data, R2T, NOP, Text), ExpectedDataTransferLength (SCSI Command), ReferencedTaskTag (TMF), SNACKTag (SCSI Response).</summary>
    public uint Dword20
    {
        get => GetUInt32(OffsetDword20);
        set => SetUInt32(OffsetDword20, value);
    }

    public uint TargetTransferTag
    {
        get => Dword20;
        set => Dword20 = value;
    }

    /// <summary>Bytes 24-27: CmdSN in initiator PDUs, StatSN in target PDUs.</summary>
    public uint Dword24
    {
        get => GetUInt32(OffsetDword24);
        set => SetUInt32(OffsetDword24, value);
    }

    public uint CmdSN
    {
        get => Dword24;
        set => Dword24 = value;
    }

    public uint StatSN => Dword24;

    /// <summary>Bytes 28-31: ExpStatSN in initiator PDUs, ExpCmdSN in target PDUs.</summary>
    public uint Dword28
    {
        get => GetUInt32(OffsetDword28);
        set => SetUInt32(OffsetDword28, value);
    }

    public uint ExpStatSN
    {
        get => Dword28;
        set => Dword28 = value;
    }

    public uint ExpCmdSN => Dword28;

    /// <summary>Bytes 32-35: MaxCmdSN in target PDUs; start of the CDB in SCSI Command; RefCmdSN in TMF.</summary>
    public uint Dword32
    {
        get => GetUInt32(OffsetDword32);
        set => SetUInt32(OffsetDword32, value);
    }

    public uint MaxCmdSN => Dword32;

    /// <summary>Bytes 36-39: DataSN / R2TSN / ExpDataSN / login Status-Class+Detail.</summary>
    public uint Dword36
    {
        get => GetUInt32(OffsetDword36);
        set => SetUInt32(OffsetDword36, value);
    }

    /// <summary>Bytes 40-43: BufferOffset (Data, R2T), BidirectionalReadResidualCount (SCSI Response).</summary>
    public uint Dword40
    {
        get => GetUInt32(OffsetDword40);
        set => SetUInt32(OffsetDword40, value);
    }

    /// <summary>Bytes 44-47: ResidualCount (SCSI Response, Data-In), DesiredDataTransferLength (R2T).</summary>
    public uint Dword44
    {
        get => GetUInt32(OffsetDword44);
        set => SetUInt32(OffsetDword44, value);
    }

    /// <summary>True for target PDUs that carry a StatSN which advances ExpStatSN (RFC 7143 §4.2.2.2).</summary>
    public bool CarriesStatSN => Opcode switch
    {
        IscsiOpcode.ScsiResponse or IscsiOpcode.TaskManagementResponse or IscsiOpcode.TextResponse
            or IscsiOpcode.LogoutResponse or IscsiOpcode.AsyncMessage or IscsiOpcode.Reject
            or IscsiOpcode.LoginResponse => true,
        IscsiOpcode.ScsiDataIn => (Flags & 0x01) != 0,
        // A NOP-In answering our NOP-Out advances StatSN; an unsolicited one (ITT reserved) does not.
        IscsiOpcode.NopIn => InitiatorTaskTag != ReservedTag,
        _ => false,
    };

    /// <summary>True for target PDUs that carry ExpCmdSN and MaxCmdSN at bytes 28-35.</summary>
    public bool CarriesCmdSNWindow => Opcode is IscsiOpcode.NopIn or IscsiOpcode.ScsiResponse
        or IscsiOpcode.TaskManagementResponse or IscsiOpcode.LoginResponse or IscsiOpcode.TextResponse
        or IscsiOpcode.ScsiDataIn or IscsiOpcode.LogoutResponse or IscsiOpcode.ReadyToTransfer
        or IscsiOpcode.AsyncMessage or IscsiOpcode.Reject;

    public uint GetUInt32(int offset) => BinaryPrimitives.ReadUInt32BigEndian(Bhs.AsSpan(offset));

    public void SetUInt32(int offset, uint value) => BinaryPrimitives.WriteUInt32BigEndian(Bhs.AsSpan(offset), value);

    public ushort GetUInt16(int offset) => BinaryPrimitives.ReadUInt16BigEndian(Bhs.AsSpan(offset));

    public void SetUInt16(int offset, ushort value) => BinaryPrimitives.WriteUInt16BigEndian(Bhs.AsSpan(offset), value);

    /// <summary>Writes TotalAHSLength and DataSegmentLength from <see cref="Ahs"/> and <see cref="Data"/>.</summary>
    public void UpdateLengths()
    {
        if (Ahs.Length % 4 != 0 || Ahs.Length / 4 > byte.MaxValue)
        {
            throw new InvalidOperationException("AHS must be padded to 4 bytes and at most 1020 bytes.");
        }

        if (Data.Length > 0xFFFFFF)
        {
            throw new InvalidOperationException("DataSegmentLength is 24 bits.");
        }

        Bhs[OffsetTotalAhsLength] = (byte)(Ahs.Length / 4);
        Bhs[OffsetDataSegmentLength] = (byte)(Data.Length >> 16);
        Bhs[OffsetDataSegmentLength + 1] = (byte)(Data.Length >> 8);
        Bhs[OffsetDataSegmentLength + 2] = (byte)Data.Length;
    }

    public override string ToString() =>
        $"{Opcode} I={Immediate} flags=0x{Flags:X2} ITT=0x{InitiatorTaskTag:X8} d20=0x{Dword20:X8} d24={Dword24} d28={Dword28} d32={Dword32} data={Data.Length}";
}

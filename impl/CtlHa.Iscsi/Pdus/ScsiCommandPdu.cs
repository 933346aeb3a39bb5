using CtlHa.Core;

namespace CtlHa.Iscsi.Pdus;

/// <summary>
/// RFC 7143 §11.3 SCSI Command: [1] F R W . . ATTR(3) | [4] TotalAHSLength | [5..7] DSL | [8..15] LUN | [16] ITT |
/// [20] Expected Data Transfer Length | [24] CmdSN | [28] ExpStatSN | [32..47] CDB. Extended CDB AHS (type 1) adds bytes 16+ of the CDB.
/// </summary>
public readonly record struct ScsiCommandPdu(
    bool Immediate,
    bool Final,
    bool Read,
    bool Write,
    TaskAttribute Attribute,
    ulong Lun,
    uint InitiatorTaskTag,
    uint ExpectedDataTransferLength,
    uint CmdSN,
    uint ExpStatSN)
{
    public const int CdbOffset = 32;
    public const int CdbLength = 16;
    public const byte ExtendedCdbAhsType = 0x01;

    public static ScsiCommandPdu Parse(ReadOnlySpan<byte> bhs) => new(
        Bhs.IsImmediate(bhs),
        (bhs[1] & 0x80) != 0,
        (bhs[1] & 0x40) != 0,
        (bhs[1] & 0x20) != 0,
        (TaskAttribute)(bhs[1] & 0x07),
        System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bhs[Bhs.LunOffset..]),
        Bhs.ReadUInt32(bhs, 16),
        Bhs.ReadUInt32(bhs, 20),
        Bhs.ReadUInt32(bhs, 24),
        Bhs.ReadUInt32(bhs, 28));

    public DataDirection Direction => (Read ? DataDirection.Read : 0) | (Write ? DataDirection.Write : 0);
}

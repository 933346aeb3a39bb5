using System.Buffers.Binary;

namespace CtlHa.Iscsi.Pdus;

/// <summary>
/// RFC 7143 §11.5 Task Management Function Request: [1] 1 Function(7) | [8..15] LUN | [16] ITT | [20] Referenced Task Tag |
/// [24] CmdSN | [28] ExpStatSN | [32] RefCmdSN | [36] ExpDataSN.
/// </summary>
public readonly record struct TaskManagementRequestPdu(
    bool Immediate,
    byte Function,
    ulong Lun,
    uint InitiatorTaskTag,
    uint ReferencedTaskTag,
    uint CmdSN,
    uint ExpStatSN,
    uint RefCmdSN)
{
    public static TaskManagementRequestPdu Parse(ReadOnlySpan<byte> bhs) => new(
        Bhs.IsImmediate(bhs),
        (byte)(bhs[1] & 0x7F),
        BinaryPrimitives.ReadUInt64BigEndian(bhs[8..]),
        Bhs.ReadUInt32(bhs, 16),
        Bhs.ReadUInt32(bhs, 20),
        Bhs.ReadUInt32(bhs, 24),
        Bhs.ReadUInt32(bhs, 28),
        Bhs.ReadUInt32(bhs, 32));
}

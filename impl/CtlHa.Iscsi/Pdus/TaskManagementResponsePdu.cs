using CtlHa.Core;

namespace CtlHa.Iscsi.Pdus;

/// <summary>
/// RFC 7143 §11.6 Task Management Function Response: [0] 0x22 | [1] 0x80 | [2] Response | [16] ITT | [24] StatSN |
/// [28] ExpCmdSN | [32] MaxCmdSN.
/// </summary>
public readonly record struct TaskManagementResponsePdu(TaskManagementResponse Response, uint InitiatorTaskTag)
{
    public void Write(Span<byte> bhs)
    {
        bhs[..Bhs.Length].Clear();
        bhs[0] = (byte)IscsiOpcode.TaskManagementResponse;
        bhs[1] = 0x80;
        bhs[2] = (byte)Response;
        Bhs.WriteUInt32(bhs, 16, InitiatorTaskTag);
    }
}

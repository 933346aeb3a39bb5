using System.Buffers.Binary;

namespace CtlHa.Iscsi.Pdus;

/// <summary>
/// RFC 7143 §11.13 Login Response: [0] 0x23 | [1] T C . . CSG(2) NSG(2) | [2] Version-max | [3] Version-active | [5..7] DSL |
/// [8..13] ISID | [14..15] TSIH | [16] ITT | [24] StatSN | [28] ExpCmdSN | [32] MaxCmdSN | [36] Status-Class | [37] Status-Detail.
/// </summary>
public readonly record struct LoginResponsePdu(
    bool Transit,
    bool Continue,
    LoginStage CurrentStage,
    LoginStage NextStage,
    ulong Isid,
    ushort Tsih,
    uint InitiatorTaskTag,
    LoginStatus Status,
    int DataSegmentLength)
{
    public void Write(Span<byte> bhs)
    {
        bhs[..Bhs.Length].Clear();
        bhs[0] = (byte)IscsiOpcode.LoginResponse;
        bhs[1] = (byte)((Transit ? 0x80 : 0) | (Continue ? 0x40 : 0) | ((byte)CurrentStage << 2) | (Transit ? (byte)NextStage : 0));
        Bhs.SetDataSegmentLength(bhs, DataSegmentLength);
        BinaryPrimitives.WriteUInt64BigEndian(bhs[8..], Isid << 16);
        BinaryPrimitives.WriteUInt16BigEndian(bhs[14..], Tsih);
        Bhs.WriteUInt32(bhs, 16, InitiatorTaskTag);
        BinaryPrimitives.WriteUInt16BigEndian(bhs[36..], (ushort)Status);
    }
}

/// <summary>RFC 7143 §11.13.5 Status-Class (high byte) and Status-Detail (low byte).</summary>
public enum LoginStatus : ushort
{
    Success = 0x0000,
    InitiatorError = 0x0200,
    AuthenticationFailure = 0x0201,
    AuthorizationFailure = 0x0202,
    NotFound = 0x0203,
    TargetRemoved = 0x0204,
    UnsupportedVersion = 0x0205,
    TooManyConnections = 0x0206,
    MissingParameter = 0x0207,
    CannotIncludeInSession = 0x0208,
    SessionTypeNotSupported = 0x0209,
    SessionDoesNotExist = 0x020A,
    InvalidDuringLogin = 0x020B,
    TargetError = 0x0300,
    ServiceUnavailable = 0x0301,
    OutOfResources = 0x0302,
}

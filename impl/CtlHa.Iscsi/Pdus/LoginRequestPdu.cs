using System.Buffers.Binary;

namespace CtlHa.Iscsi.Pdus;

/// <summary>
/// RFC 7143 §11.12 Login Request: [0] .1 0x03 | [1] T C . . CSG(2) NSG(2) | [2] Version-max | [3] Version-min | [5..7] DSL |
/// [8..13] ISID | [14..15] TSIH | [16] ITT | [20..21] CID | [24] CmdSN | [28] ExpStatSN.
/// </summary>
public readonly record struct LoginRequestPdu(
    bool Transit,
    bool Continue,
    LoginStage CurrentStage,
    LoginStage NextStage,
    byte VersionMax,
    byte VersionMin,
    ulong Isid,
    ushort Tsih,
    uint InitiatorTaskTag,
    ushort Cid,
    uint CmdSN,
    uint ExpStatSN)
{
    public static LoginRequestPdu Parse(ReadOnlySpan<byte> bhs) => new(
        (bhs[1] & 0x80) != 0,
        (bhs[1] & 0x40) != 0,
        (LoginStage)((bhs[1] >> 2) & 0x3),
        (LoginStage)(bhs[1] & 0x3),
        bhs[2],
        bhs[3],
        BinaryPrimitives.ReadUInt64BigEndian(bhs[8..]) >> 16,
        BinaryPrimitives.ReadUInt16BigEndian(bhs[14..]),
        Bhs.ReadUInt32(bhs, 16),
        BinaryPrimitives.ReadUInt16BigEndian(bhs[20..]),
        Bhs.ReadUInt32(bhs, 24),
        Bhs.ReadUInt32(bhs, 28));
}

/// <summary>RFC 7143 §11.12.3 login stages (CSG / NSG).</summary>
public enum LoginStage : byte
{
    SecurityNegotiation = 0,
    LoginOperationalNegotiation = 1,
    FullFeaturePhase = 3,
}

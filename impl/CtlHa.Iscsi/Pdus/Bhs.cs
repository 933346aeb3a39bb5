using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace CtlHa.Iscsi.Pdus;

/// <summary>The 48-byte Basic Header Segment (RFC 7143 §11.2.1), held by value.</summary>
[InlineArray(Bhs.Length)]
public struct BhsBuffer
{
    private byte _element0;
}

/// <summary>
/// RFC 7143 §11.2.1 BHS layout shared by every PDU:
/// [0] .I opcode | [1] flags | [2..3] opcode-specific | [4] TotalAHSLength | [5..7] DataSegmentLength |
/// [8..15] LUN or opcode-specific | [16..19] Initiator Task Tag | [20..47] opcode-specific.
/// Target PDUs all carry StatSN / ExpCmdSN / MaxCmdSN at 24 / 28 / 32.
/// </summary>
public static class Bhs
{
    public const int Length = 48;
    public const int OpcodeOffset = 0;
    public const int FlagsOffset = 1;
    public const int TotalAhsLengthOffset = 4;
    public const int DataSegmentLengthOffset = 5;
    public const int LunOffset = 8;
    public const int InitiatorTaskTagOffset = 16;
    public const int TargetTransferTagOffset = 20;
    public const int CmdSNOffset = 24;
    public const int ExpStatSNOffset = 28;
    public const int StatSNOffset = 24;
    public const int ExpCmdSNOffset = 28;
    public const int MaxCmdSNOffset = 32;

    public const byte ImmediateBit = 0x40;
    public const byte FinalBit = 0x80;
    public const uint ReservedTag = 0xFFFFFFFF;

    public static IscsiOpcode Opcode(ReadOnlySpan<byte> bhs) => (IscsiOpcode)(bhs[0] & 0x3F);

    public static bool IsImmediate(ReadOnlySpan<byte> bhs) => (bhs[0] & ImmediateBit) != 0;

    public static bool IsFinal(ReadOnlySpan<byte> bhs) => (bhs[1] & FinalBit) != 0;

    public static int TotalAhsLength(ReadOnlySpan<byte> bhs) => bhs[TotalAhsLengthOffset] * 4;

    public static int DataSegmentLength(ReadOnlySpan<byte> bhs) =>
        (bhs[DataSegmentLengthOffset] << 16) | (bhs[DataSegmentLengthOffset + 1] << 8) | bhs[DataSegmentLengthOffset + 2];

    public static void SetDataSegmentLength(Span<byte> bhs, int length)
    {
        bhs[DataSegmentLengthOffset] = (byte)(length >> 16);
        bhs[DataSegmentLengthOffset + 1] = (byte)(length >> 8);
        bhs[DataSegmentLengthOffset + 2] = (byte)length;
    }

    public static uint InitiatorTaskTag(ReadOnlySpan<byte> bhs) => ReadUInt32(bhs, InitiatorTaskTagOffset);

    public static uint ReadUInt32(ReadOnlySpan<byte> bhs, int offset) => BinaryPrimitives.ReadUInt32BigEndian(bhs[offset..]);

    public static void WriteUInt32(Span<byte> bhs, int offset, uint value) => BinaryPrimitives.WriteUInt32BigEndian(bhs[offset..], value);

    /// <summary>Pads a data segment length to the 4-byte boundary (RFC 7143 §11.2.3).</summary>
    public static int Padded(int length) => (length + 3) & ~3;
}

using System.Buffers;
using System.Diagnostics.CodeAnalysis;

namespace CtlHa.Iscsi.Pdus;

/// <summary>
/// One received PDU as framed by <see cref="PduReader"/>: the BHS copied by value, and the AHS and data segment
/// as slices of the receive buffer (valid only until the reader advances past them).
/// </summary>
public readonly struct IscsiFrame
{
    private readonly BhsBuffer _bhs;

    public IscsiFrame(in BhsBuffer bhs, ReadOnlySequence<byte> ahs, ReadOnlySequence<byte> data)
    {
        _bhs = bhs;
        Ahs = ahs;
        Data = data;
    }

    [UnscopedRef]
    public ReadOnlySpan<byte> Header => _bhs;

    public BhsBuffer HeaderCopy => _bhs;

    public ReadOnlySequence<byte> Ahs { get; }

    /// <summary>The data segment without padding or digest.</summary>
    public ReadOnlySequence<byte> Data { get; }

    public IscsiOpcode Opcode => Bhs.Opcode(_bhs);

    public bool IsImmediate => Bhs.IsImmediate(_bhs);

    public uint InitiatorTaskTag => Bhs.InitiatorTaskTag(_bhs);

    public override string ToString() => $"{Opcode} itt 0x{InitiatorTaskTag:x8} data {Data.Length}";
}

using System.Buffers.Binary;

namespace CtlHa.Scsi.Tests.Copy;

/// <summary>Builds EXTENDED COPY (LID1) parameter lists as an initiator does (libiscsi's layout).</summary>
internal sealed class XcopyBuilder
{
    private readonly List<byte[]> _cscds = [];
    private readonly List<byte[]> _segments = [];

    public byte ListId { get; set; } = 1;

    public byte ListIdUsage { get; set; }

    /// <summary>Identification descriptor CSCD (E4h) with an NAA designator (code set binary, type 3, LU association).</summary>
    public XcopyBuilder Cscd(byte[] naa, byte typeCode = 0xE4, byte luIdType = 0, int blockSize = 512, byte peripheral = 0)
    {
        var d = new byte[32];
        d[0] = typeCode;
        d[1] = (byte)((luIdType << 6) | peripheral);
        d[4] = 0x01;
        d[5] = 0x03;
        d[7] = (byte)naa.Length;
        naa.CopyTo(d, 8);
        d[29] = (byte)(blockSize >> 16);
        d[30] = (byte)(blockSize >> 8);
        d[31] = (byte)blockSize;
        _cscds.Add(d);
        return this;
    }

    public XcopyBuilder BlockToBlock(ushort src, ushort dst, ushort blocks, ulong srcLba, ulong dstLba, byte typeCode = 0x02)
    {
        int len = typeCode == 0x02 ? 28 : 20;
        var s = new byte[len];
        s[0] = typeCode;
        BinaryPrimitives.WriteUInt16BigEndian(s.AsSpan(2), (ushort)(len - 4));
        BinaryPrimitives.WriteUInt16BigEndian(s.AsSpan(4), src);
        BinaryPrimitives.WriteUInt16BigEndian(s.AsSpan(6), dst);
        if (typeCode == 0x02)
        {
            BinaryPrimitives.WriteUInt16BigEndian(s.AsSpan(10), blocks);
            BinaryPrimitives.WriteUInt64BigEndian(s.AsSpan(12), srcLba);
            BinaryPrimitives.WriteUInt64BigEndian(s.AsSpan(20), dstLba);
        }
        _segments.Add(s);
        return this;
    }

    public byte[] Build()
    {
        int cscdLen = _cscds.Sum(c => c.Length);
        int segLen = _segments.Sum(s => s.Length);
        var p = new byte[16 + cscdLen + segLen];
        p[0] = ListId;
        p[1] = (byte)(ListIdUsage << 3);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)cscdLen);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(8), (uint)segLen);
        int off = 16;
        foreach (var c in _cscds.Concat(_segments))
        {
            c.CopyTo(p, off);
            off += c.Length;
        }
        return p;
    }

    public static byte[] Cdb(int parameterListLength)
    {
        var c = new byte[16];
        c[0] = 0x83;
        BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(10), (uint)parameterListLength);
        return c;
    }

    public static byte[] ReceiveCopyResultsCdb(byte serviceAction, byte listId, uint allocationLength = 1024)
    {
        var c = new byte[16];
        c[0] = 0x84;
        c[1] = serviceAction;
        c[2] = listId;
        BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(10), allocationLength);
        return c;
    }
}

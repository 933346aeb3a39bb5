using System.Buffers.Binary;
using CtlHa.Core;
using CtlHa.Scsi.Backends;
using Microsoft.Extensions.Logging.Abstractions;

namespace CtlHa.Scsi.Tests;

/// <summary>
/// An in-memory data channel: Data-Out comes from <see cref="DataOut"/>, Data-In is collected. Optional gates let a
/// test hold SendDataInAsync (a slow initiator) and observe when it starts.
/// </summary>
public sealed class TestChannel : IScsiDataChannel
{
    private readonly Lock _lock = new();
    private byte[] _in = new byte[64 * 1024];

    public TestChannel(byte[]? dataOut = null) => DataOut = dataOut ?? [];

    public byte[] DataOut { get; }

    public int DataInLength { get; private set; }

    public bool FinalWithGoodStatus { get; private set; }

    /// <summary>When set, SendDataInAsync waits for it (after signalling <see cref="SendStarted"/>).</summary>
    public TaskCompletionSource? SendGate { get; set; }

    public TaskCompletionSource SendStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public byte[] DataIn
    {
        get
        {
            lock (_lock)
            {
                return _in.AsSpan(0, DataInLength).ToArray();
            }
        }
    }

    public ValueTask ReceiveDataOutAsync(Memory<byte> destination, uint bufferOffset, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var dst = destination.Span;
        dst.Clear();
        if (bufferOffset < DataOut.Length)
        {
            int n = Math.Min(dst.Length, DataOut.Length - (int)bufferOffset);
            DataOut.AsSpan((int)bufferOffset, n).CopyTo(dst);
        }
        return ValueTask.CompletedTask;
    }

    public async ValueTask SendDataInAsync(ReadOnlyMemory<byte> source, uint bufferOffset, bool finalWithGoodStatus, CancellationToken cancellationToken)
    {
        SendStarted.TrySetResult();
        if (SendGate is { } gate)
        {
            await gate.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        lock (_lock)
        {
            int end = (int)bufferOffset + source.Length;
            if (end > _in.Length)
            {
                Array.Resize(ref _in, Math.Max(end, _in.Length * 2));
            }
            source.Span.CopyTo(_in.AsSpan((int)bufferOffset));
            DataInLength = Math.Max(DataInLength, end);
            FinalWithGoodStatus |= finalWithGoodStatus;
        }
    }
}

/// <summary>An engine with memory-backed LUNs and helpers to run CDBs.</summary>
public sealed class Harness
{
    private static long s_nexusIds;
    private int _tag;

    public Harness(int luns = 1, long sizeBytes = 16 << 20, LogicalUnitOptions? options = null, ScsiEngineOptions? engineOptions = null,
        Func<long, IBlockBackend>? backend = null)
    {
        var list = new List<LogicalUnit>();
        for (int i = 0; i < luns; i++)
        {
            list.Add(new LogicalUnit(i, backend?.Invoke(sizeBytes) ?? new MemoryBackend(sizeBytes), (options ?? new LogicalUnitOptions()) with { Serial = $"SER{i}" }));
        }
        Engine = new ScsiEngine(list, engineOptions ?? new ScsiEngineOptions(), NullLoggerFactory.Instance);
        Nexus = NewNexus();
    }

    public ScsiEngine Engine { get; }

    public ITNexus Nexus { get; }

    public LogicalUnit Lun0 => Engine.LogicalUnits[0];

    public ITNexus NewNexus(string initiator = "iqn.test:init", ulong isid = 0, ushort port = 1)
    {
        long id = Interlocked.Increment(ref s_nexusIds);
        var nexus = new ITNexus(id, initiator, isid == 0 ? (ulong)id : isid, "iqn.test:target", port);
        Engine.NexusCreated(nexus);
        return nexus;
    }

    public ScsiTask Task(byte[] cdb, TestChannel channel, ITNexus? nexus = null, int lun = 0, TaskAttribute attr = TaskAttribute.Simple, uint? tag = null, uint edtl = 1 << 20) =>
        new()
        {
            Nexus = nexus ?? Nexus,
            Lun = LunAddress.Encode(lun),
            Cdb = cdb,
            Tag = tag ?? (uint)Interlocked.Increment(ref _tag),
            Attribute = attr,
            ExpectedDataTransferLength = edtl,
            Channel = channel,
        };

    public async Task<(ScsiOutcome Outcome, byte[] Data)> RunAsync(byte[] cdb, byte[]? dataOut = null, ITNexus? nexus = null, int lun = 0,
        TaskAttribute attr = TaskAttribute.Simple)
    {
        var channel = new TestChannel(dataOut);
        uint edtl = (uint)Math.Max(1 << 20, dataOut?.Length ?? 0);
        var outcome = await Engine.ExecuteAsync(Task(cdb, channel, nexus, lun, attr, edtl: edtl), CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        return (outcome, channel.DataIn);
    }

    /// <summary>Runs a command whose initiator declared Data-Out of <paramref name="edtl"/> bytes (iSCSI W bit).</summary>
    public async Task<ScsiOutcome> RunDeclaredWriteAsync(byte[] cdb, byte[] dataOut, uint edtl)
    {
        var t = Task(cdb, new TestChannel(dataOut), edtl: edtl);
        var task = new ScsiTask
        {
            Nexus = t.Nexus, Lun = t.Lun, Cdb = t.Cdb, Tag = t.Tag, Attribute = t.Attribute,
            ExpectedDataTransferLength = edtl, Direction = DataDirection.Write, Channel = t.Channel,
        };
        return await Engine.ExecuteAsync(task, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Consumes pending UAs (power on) with TEST UNIT READY until it returns GOOD.</summary>
    public async Task ClearUnitAttentionsAsync(ITNexus? nexus = null, int lun = 0)
    {
        for (int i = 0; i < 20; i++)
        {
            var (o, _) = await RunAsync(Cdbs.TestUnitReady(), nexus: nexus, lun: lun);
            if (o.Status == ScsiStatus.Good)
            {
                return;
            }
        }
        throw new InvalidOperationException("UAs never cleared");
    }

    public static async Task<Harness> ReadyAsync(int luns = 1, long sizeBytes = 16 << 20, LogicalUnitOptions? options = null,
        ScsiEngineOptions? engineOptions = null, Func<long, IBlockBackend>? backend = null)
    {
        var h = new Harness(luns, sizeBytes, options, engineOptions, backend);
        for (int l = 0; l < luns; l++)
        {
            await h.ClearUnitAttentionsAsync(lun: l);
        }
        return h;
    }
}

/// <summary>CDB builders for tests.</summary>
public static class Cdbs
{
    public static byte[] TestUnitReady() => new byte[6];

    public static byte[] Inquiry(bool evpd = false, byte page = 0, ushort alloc = 255) =>
        [0x12, (byte)(evpd ? 1 : 0), page, (byte)(alloc >> 8), (byte)alloc, 0];

    public static byte[] RequestSense(bool desc = false, byte alloc = 252) => [0x03, (byte)(desc ? 1 : 0), 0, 0, alloc, 0];

    public static byte[] ReportLuns(byte select = 0, uint alloc = 4096)
    {
        byte[] c = new byte[12];
        c[0] = 0xA0;
        c[2] = select;
        BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(6), alloc);
        return c;
    }

    public static byte[] Read10(uint lba, ushort blocks, byte flags = 0) => Rw10(0x28, lba, blocks, flags);

    public static byte[] Write10(uint lba, ushort blocks, byte flags = 0) => Rw10(0x2A, lba, blocks, flags);

    public static byte[] Rw10(byte op, uint lba, ushort blocks, byte flags = 0)
    {
        byte[] c = new byte[10];
        c[0] = op;
        c[1] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt16BigEndian(c.AsSpan(7), blocks);
        return c;
    }

    public static byte[] Rw16(byte op, ulong lba, uint blocks, byte flags = 0)
    {
        byte[] c = new byte[16];
        c[0] = op;
        c[1] = flags;
        BinaryPrimitives.WriteUInt64BigEndian(c.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(10), blocks);
        return c;
    }

    public static byte[] Rw12(byte op, uint lba, uint blocks, byte flags = 0)
    {
        byte[] c = new byte[12];
        c[0] = op;
        c[1] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(6), blocks);
        return c;
    }

    public static byte[] Rw6(byte op, uint lba, byte blocks) => [op, (byte)((lba >> 16) & 0x1F), (byte)(lba >> 8), (byte)lba, blocks, 0];

    public static byte[] ReadCapacity16(uint alloc = 32)
    {
        byte[] c = new byte[16];
        c[0] = 0x9E;
        c[1] = 0x10;
        BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(10), alloc);
        return c;
    }

    public static byte[] GetLbaStatus(ulong lba, uint alloc = 4096)
    {
        byte[] c = new byte[16];
        c[0] = 0x9E;
        c[1] = 0x12;
        BinaryPrimitives.WriteUInt64BigEndian(c.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(10), alloc);
        return c;
    }

    public static byte[] ModeSense6(byte page, byte subpage = 0, int pc = 0, bool dbd = false, byte alloc = 255) =>
        [0x1A, (byte)(dbd ? 0x08 : 0), (byte)(pc << 6 | page), subpage, alloc, 0];

    public static byte[] ModeSense10(byte page, byte subpage = 0, int pc = 0, bool dbd = false, bool llbaa = false, ushort alloc = 4096) =>
        [0x5A, (byte)((dbd ? 0x08 : 0) | (llbaa ? 0x10 : 0)), (byte)(pc << 6 | page), subpage, 0, 0, 0, (byte)(alloc >> 8), (byte)alloc, 0];

    public static byte[] ModeSelect6(int length, bool pf = true) => [0x15, (byte)(pf ? 0x10 : 0), 0, 0, (byte)length, 0];

    public static byte[] ModeSelect10(int length) => [0x55, 0x10, 0, 0, 0, 0, 0, (byte)(length >> 8), (byte)length, 0];

    public static byte[] Unmap(int paramLength) => [0x42, 0, 0, 0, 0, 0, 0, (byte)(paramLength >> 8), (byte)paramLength, 0];

    public static byte[] UnmapParameters(params (ulong Lba, uint Blocks)[] ranges)
    {
        byte[] p = new byte[8 + 16 * ranges.Length];
        BinaryPrimitives.WriteUInt16BigEndian(p, (ushort)(p.Length - 2));
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)(16 * ranges.Length));
        for (int i = 0; i < ranges.Length; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(p.AsSpan(8 + 16 * i), ranges[i].Lba);
            BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(16 + 16 * i), ranges[i].Blocks);
        }
        return p;
    }

    public static byte[] MaintenanceIn(byte sa, uint alloc = 4096, byte byte1High = 0, byte byte2 = 0, byte byte3 = 0, ushort byte45 = 0)
    {
        byte[] c = new byte[12];
        c[0] = 0xA3;
        c[1] = (byte)(byte1High | sa);
        c[2] = byte2;
        c[3] = byte3;
        BinaryPrimitives.WriteUInt16BigEndian(c.AsSpan(4), byte45);
        BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(6), alloc);
        return c;
    }

    public static byte[] Pattern(int length, int seed)
    {
        byte[] b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }
}

public static class OutcomeAssert
{
    public static void Good(ScsiOutcome o) => Assert.True(o.Status == ScsiStatus.Good, $"expected GOOD, got {o}");

    public static Sense Check(ScsiOutcome o, SenseKey key, byte asc, byte ascq)
    {
        Assert.Equal(ScsiStatus.CheckCondition, o.Status);
        var s = Assert.NotNull(o.Sense);
        Assert.Equal((key, asc, ascq), (s.Key, s.Asc, s.Ascq));
        return s;
    }

    /// <summary>Asserts 05/24/00 (or 26/00) with the field pointer at byte (and bit).</summary>
    public static void Field(ScsiOutcome o, int byteOffset, int bit = -1, bool inCdb = true, byte asc = 0x24)
    {
        var s = Check(o, SenseKey.IllegalRequest, asc, 0);
        Assert.Equal(Sense.FieldPointer(inCdb, (ushort)byteOffset, bit), s.SenseKeySpecific);
    }
}

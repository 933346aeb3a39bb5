using System.Buffers.Binary;
using System.Net;
using CtlHa.Core;
using CtlHa.Interlink;
using CtlHa.Scsi;
using CtlHa.Scsi.Backends;
using Microsoft.Extensions.Logging.Abstractions;

namespace CtlHa.Ha.Tests;

/// <summary>An in-memory data channel: Data-Out from <see cref="DataOut"/>, Data-In collected.</summary>
public sealed class TestChannel(byte[]? dataOut = null) : IScsiDataChannel
{
    private readonly Lock _lock = new();
    private byte[] _in = new byte[1024];
    private int _length;

    public byte[] DataOut { get; } = dataOut ?? [];

    public byte[] DataIn
    {
        get
        {
            lock (_lock)
            {
                return _in.AsSpan(0, _length).ToArray();
            }
        }
    }

    public ValueTask ReceiveDataOutAsync(Memory<byte> destination, uint bufferOffset, CancellationToken cancellationToken)
    {
        var dst = destination.Span;
        dst.Clear();
        if (bufferOffset < DataOut.Length)
        {
            int n = Math.Min(dst.Length, DataOut.Length - (int)bufferOffset);
            DataOut.AsSpan((int)bufferOffset, n).CopyTo(dst);
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>When set, SendDataInAsync waits for it (a slow initiator), after signalling <see cref="SendStarted"/>.</summary>
    public TaskCompletionSource? SendGate { get; set; }

    public TaskCompletionSource SendStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async ValueTask SendDataInAsync(ReadOnlyMemory<byte> source, uint bufferOffset, bool finalWithGoodStatus, CancellationToken cancellationToken)
    {
        SendStarted.TrySetResult();
        if (SendGate is { } gate)
        {
            await gate.Task.WaitAsync(cancellationToken);
        }
        lock (_lock)
        {
            int end = (int)bufferOffset + source.Length;
            if (end > _in.Length)
            {
                Array.Resize(ref _in, Math.Max(end, _in.Length * 2));
            }
            source.Span.CopyTo(_in.AsSpan((int)bufferOffset));
            _length = Math.Max(_length, end);
        }
    }
}

/// <summary>One HA node with memory LUNs, driven through its <see cref="IScsiTarget"/>.</summary>
public sealed class TestNode
{
    private static long s_ids;
    private int _tag;

    /// <param name="serial">The LUN's serial, from which its device id derives (another one = another identity).</param>
    public TestNode(HaNodeOptions options, IBlockBackend backend, string serial = "HA0", ScsiEngineOptions? engineOptions = null)
    {
        Backend = backend;
        Node = HaNode.Create(options,
            alua => new ScsiEngine([new LogicalUnit(0, backend, new LogicalUnitOptions { Serial = serial })], (engineOptions ?? new ScsiEngineOptions()) with { Alua = alua }, NullLoggerFactory.Instance),
            NullLoggerFactory.Instance);
        Nexus = NewNexus("iqn.test:host" + options.NodeId);
    }

    public HaNode Node { get; }

    public IBlockBackend Backend { get; }

    public ITNexus Nexus { get; }

    public ITNexus NewNexus(string initiator)
    {
        long id = Interlocked.Increment(ref s_ids);
        var nexus = new ITNexus(id, initiator, 0x2300_0000_0000UL + (ulong)id, "iqn.test:target", HaPorts.FirstRelativePort(Node.NodeId));
        Node.Target.NexusCreated(nexus);
        return nexus;
    }

    public async Task<(ScsiOutcome Outcome, byte[] Data)> RunAsync(byte[] cdb, byte[]? dataOut = null, ITNexus? nexus = null, uint? tag = null, TestChannel? channelToUse = null)
    {
        var channel = channelToUse ?? new TestChannel(dataOut);
        var direction = dataOut is not null ? DataDirection.Write : DataDirection.Read;
        var task = new ScsiTask
        {
            Nexus = nexus ?? Nexus,
            Lun = LunAddress.Encode(0),
            Cdb = cdb,
            Tag = tag ?? (uint)Interlocked.Increment(ref _tag),
            ExpectedDataTransferLength = dataOut is not null ? (uint)dataOut.Length : 1 << 20,
            Direction = direction,
            Channel = channel,
        };
        var outcome = await Node.Target.ExecuteAsync(task, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        return (outcome, channel.DataIn);
    }

    /// <summary>Reports pending UAs with TEST UNIT READY until something else comes back.</summary>
    public async Task<ScsiOutcome> DrainUnitAttentionsAsync(ITNexus? nexus = null)
    {
        for (int i = 0; i < 20; i++)
        {
            var (o, _) = await RunAsync(Cdb.TestUnitReady, nexus: nexus);
            if (o.Sense is not { Key: SenseKey.UnitAttention })
            {
                return o;
            }
        }
        throw new InvalidOperationException("UAs never cleared");
    }
}

/// <summary>Two HA nodes over a real loopback interlink (node 1 listens on 127.0.0.1:0, node 2 connects).</summary>
public sealed class HaPair : IAsyncDisposable
{
    public static readonly byte[] Key = Enumerable.Range(0, 32).Select(i => (byte)(i * 5 + 1)).ToArray();

    private readonly CancellationTokenSource _stopA = new();
    private readonly CancellationTokenSource _stopB = new();
    private Task? _runA;
    private Task? _runB;

    private HaPair(TestNode a) => A = a;

    public TestNode A { get; }

    public TestNode B { get; private set; } = null!;

    public static InterlinkOptions Fast(InterlinkEndpoint peer) => new()
    {
        ClusterName = "test",
        Peer = peer,
        Psk = Key,
        HeartbeatInterval = TimeSpan.FromMilliseconds(100),
        DeadAfter = TimeSpan.FromSeconds(2), // the test machine is loaded: no heartbeat flaps
        HandshakeTimeout = TimeSpan.FromSeconds(2),
        BackoffInitial = TimeSpan.FromMilliseconds(20),
        BackoffMax = TimeSpan.FromMilliseconds(200),
    };

    /// <summary>Node 1 (A) primary, node 2 (B) secondary; separate backends unless <paramref name="sharedBackend"/>.</summary>
    public static async Task<HaPair> StartAsync(HaMode mode, bool sharedBackend = false, IBlockBackend? backendOfA = null, IBlockBackend? backendOfB = null)
    {
        var backendA = backendOfA ?? new MemoryBackend(4 << 20);
        IBlockBackend backendB = backendOfB ?? (sharedBackend ? backendA : new MemoryBackend(4 << 20));
        var a = new TestNode(new HaNodeOptions
        {
            NodeId = 1, Mode = mode, DefaultRole = HaRole.Primary,
            Interlink = Fast(new InterlinkEndpoint(InterlinkSide.Listen, new IPEndPoint(IPAddress.Loopback, 0))),
        }, backendA);
        var pair = new HaPair(a);
        pair._runA = a.Node.RunAsync(pair._stopA.Token);
        var endPoint = await a.Node.Link!.ListeningAsync.WaitAsync(TimeSpan.FromSeconds(5));
        var b = new TestNode(new HaNodeOptions
        {
            NodeId = 2, Mode = mode, DefaultRole = HaRole.Secondary,
            Interlink = Fast(new InterlinkEndpoint(InterlinkSide.Connect, endPoint)),
        }, backendB);
        pair.B = b;
        pair._runB = b.Node.RunAsync(pair._stopB.Token);
        await WaitUntilAsync(() => b.Node.ViewOf(0).PeerPrimary && a.Node.IsLinked);
        await a.DrainUnitAttentionsAsync();
        await b.DrainUnitAttentionsAsync();
        return pair;
    }

    public static async Task WaitUntilAsync(Func<bool> condition, int timeoutMs = 10_000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("condition not reached");
            }
            await Task.Delay(20);
        }
    }

    /// <summary>
    /// File stores for a pair: shared mode — two handles on one file; otherwise detachable stores (closed on a
    /// secondary) on one file, or in standby optionally a file per node.
    /// </summary>
    public static (IBlockBackend A, IBlockBackend B) FileStores(HaMode mode, string dir, long sizeBytes, bool fileForEachInStandby)
    {
        string a = Path.Combine(dir, "a.img");
        string b = mode == HaMode.Standby && fileForEachInStandby ? Path.Combine(dir, "b.img") : a;
        if (mode == HaMode.Shared)
        {
            return (FileBackend.Open(a, sizeBytes), FileBackend.Open(b, sizeBytes));
        }
        return (new DetachableBackend(FileBackend.Open(a, sizeBytes), () => FileBackend.Open(a)),
                new DetachableBackend(FileBackend.Open(b, sizeBytes), () => FileBackend.Open(b)));
    }

    /// <summary>Stops node A's interlink (as if A died): B sees the link drop.</summary>
    public async Task StopAAsync()
    {
        await _stopA.CancelAsync();
        if (_runA is not null)
        {
            await _runA.WaitAsync(TimeSpan.FromSeconds(5));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopA.CancelAsync();
        await _stopB.CancelAsync();
        foreach (var t in new[] { _runA, _runB })
        {
            if (t is not null)
            {
                try
                {
                    await t.WaitAsync(TimeSpan.FromSeconds(5));
                }
                catch (OperationCanceledException)
                {
                }
            }
        }
        _stopA.Dispose();
        _stopB.Dispose();
    }
}

public static class Cdb
{
    public static byte[] TestUnitReady => new byte[6];

    public static byte[] Inquiry(ushort alloc = 255) => [0x12, 0, 0, (byte)(alloc >> 8), (byte)alloc, 0];

    public static byte[] RequestSense(byte alloc = 252) => [0x03, 0, 0, 0, alloc, 0];

    public static byte[] Rtpg(bool extended = false, uint alloc = 1024)
    {
        byte[] c = new byte[12];
        c[0] = 0xA3;
        c[1] = (byte)((extended ? 0x20 : 0) | 0x0A);
        BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(6), alloc);
        return c;
    }

    public static byte[] Read10(uint lba, ushort blocks) => Rw10(0x28, lba, blocks);

    public static byte[] Write10(uint lba, ushort blocks) => Rw10(0x2A, lba, blocks);

    private static byte[] Rw10(byte op, uint lba, ushort blocks)
    {
        byte[] c = new byte[10];
        c[0] = op;
        BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(2), lba);
        BinaryPrimitives.WriteUInt16BigEndian(c.AsSpan(7), blocks);
        return c;
    }

    public static byte[] ModeSense10(byte page) => [0x5A, 0x08, page, 0, 0, 0, 0, 0x10, 0x00, 0];

    public static byte[] ModeSelect10(int length) => [0x55, 0x10, 0, 0, 0, 0, 0, (byte)(length >> 8), (byte)length, 0];

    public static byte[] PrOut(byte serviceAction, byte type = 0) => [0x5F, serviceAction, type, 0, 0, 0, 0, 0, 24, 0];

    public static byte[] PrOutParameters(ulong key, ulong serviceActionKey)
    {
        byte[] p = new byte[24];
        BinaryPrimitives.WriteUInt64BigEndian(p, key);
        BinaryPrimitives.WriteUInt64BigEndian(p.AsSpan(8), serviceActionKey);
        return p;
    }

    public static byte[] PrIn(byte serviceAction) => [0x5E, serviceAction, 0, 0, 0, 0, 0, 0x10, 0x00, 0];
}

public static class Expect
{
    public static void Good(ScsiOutcome o) => Assert.True(o.Status == ScsiStatus.Good, $"expected GOOD, got {o}");

    public static void Check(ScsiOutcome o, SenseKey key, byte asc, byte ascq)
    {
        Assert.True(o.Status == ScsiStatus.CheckCondition && o.Sense is { } s && s.Key == key && s.Asc == asc && s.Ascq == ascq,
            $"expected {(byte)key:X1}/{asc:X2}/{ascq:X2}, got {o}");
    }
}

/// <summary>A temporary directory for file-backed stores; disposing it deletes it with its files.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory(string prefix) => Path = Directory.CreateTempSubdirectory(prefix).FullName;

    public string Path { get; }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

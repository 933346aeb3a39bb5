using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using CtlHa.Iscsi.Pdus;

namespace CtlHa.Iscsi.Tests.Support;

/// <summary>A received PDU: its BHS and data segment.</summary>
public sealed record ReceivedPdu(byte[] Header, byte[] Data)
{
    public IscsiOpcode Opcode => (IscsiOpcode)(Header[0] & 0x3F);

    public byte Flags => Header[1];

    public uint Itt => BinaryPrimitives.ReadUInt32BigEndian(Header.AsSpan(16));

    public uint Ttt => BinaryPrimitives.ReadUInt32BigEndian(Header.AsSpan(20));

    public uint StatSN => BinaryPrimitives.ReadUInt32BigEndian(Header.AsSpan(24));

    public uint ExpCmdSN => BinaryPrimitives.ReadUInt32BigEndian(Header.AsSpan(28));

    public uint MaxCmdSN => BinaryPrimitives.ReadUInt32BigEndian(Header.AsSpan(32));

    public uint Field(int offset) => BinaryPrimitives.ReadUInt32BigEndian(Header.AsSpan(offset));

    public Dictionary<string, string> Keys() =>
        Encoding.UTF8.GetString(Data).Split('\0', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2)).GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.Last()[1]);

    public override string ToString() => $"{Opcode} flags 0x{Flags:x2} itt 0x{Itt:x8} data {Data.Length}";
}

/// <summary>
/// A scripted raw-socket iSCSI initiator for loopback tests: builds initiator PDUs byte by byte (independently of the
/// target's builders) and can send hostile ones. Responses are framed with the target's <see cref="PduReader"/>.
/// </summary>
public sealed class FakeInitiator : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private byte[] _buffer = new byte[1 << 20];
    private int _buffered;

    private FakeInitiator(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    public string InitiatorName { get; set; } = "iqn.2026-11.org.ctlha:fake";

    public ulong Isid { get; set; } = 0x80_1234_5678_9A;

    public uint CmdSN { get; set; } = 1;

    public uint ExpStatSN { get; set; }

    public uint NextItt { get; set; } = 1;

    public bool HeaderDigest { get; set; }

    public bool DataDigest { get; set; }

    public static async Task<FakeInitiator> ConnectAsync(IPEndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endPoint).WaitAsync(DefaultTimeout);
        return new FakeInitiator(socket);
    }

    // ---- PDU building (RFC 7143 §11) ----

    public static byte[] Bhs(byte opcode, byte flags, int dataLength = 0)
    {
        byte[] h = new byte[48];
        h[0] = opcode;
        h[1] = flags;
        h[5] = (byte)(dataLength >> 16);
        h[6] = (byte)(dataLength >> 8);
        h[7] = (byte)dataLength;
        return h;
    }

    public static void Put(byte[] h, int offset, uint value) => BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(offset), value);

    public static byte[] Text(params (string Key, string Value)[] keys) =>
        Encoding.UTF8.GetBytes(string.Concat(keys.Select(k => $"{k.Key}={k.Value}\0")));

    public byte[] LoginRequest(byte csg, byte nsg, bool transit, byte[] data, ushort tsih = 0, uint itt = 0)
    {
        byte[] h = Bhs(0x43, (byte)((transit ? 0x80 : 0) | (csg << 2) | (transit ? nsg : 0)), data.Length);
        BinaryPrimitives.WriteUInt64BigEndian(h.AsSpan(8), Isid << 16);
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(14), tsih);
        Put(h, 16, itt);
        Put(h, 24, CmdSN);
        Put(h, 28, ExpStatSN);
        return h;
    }

    public byte[] ScsiCommand(uint itt, byte[] cdb, uint edtl, bool read, bool write, bool final = true, int immediateLength = 0, bool immediate = false, ulong lun = 0)
    {
        byte[] h = Bhs((byte)(0x01 | (immediate ? 0x40 : 0)), (byte)((final ? 0x80 : 0) | (read ? 0x40 : 0) | (write ? 0x20 : 0) | 1), immediateLength);
        BinaryPrimitives.WriteUInt64BigEndian(h.AsSpan(8), lun);
        Put(h, 16, itt);
        Put(h, 20, edtl);
        Put(h, 24, CmdSN);
        Put(h, 28, ExpStatSN);
        cdb.CopyTo(h, 32);
        if (!immediate)
        {
            CmdSN++;
        }
        return h;
    }

    public byte[] DataOut(uint itt, uint ttt, uint dataSN, uint offset, int length, bool final)
    {
        byte[] h = Bhs(0x05, (byte)(final ? 0x80 : 0), length);
        Put(h, 16, itt);
        Put(h, 20, ttt);
        Put(h, 28, ExpStatSN);
        Put(h, 36, dataSN);
        Put(h, 40, offset);
        return h;
    }

    public byte[] NopOut(uint itt, uint ttt = 0xFFFFFFFF, int dataLength = 0, bool immediate = true)
    {
        byte[] h = Bhs((byte)(0x00 | (immediate ? 0x40 : 0)), 0x80, dataLength);
        Put(h, 16, itt);
        Put(h, 20, ttt);
        Put(h, 24, CmdSN);
        Put(h, 28, ExpStatSN);
        if (!immediate)
        {
            CmdSN++;
        }
        return h;
    }

    public byte[] TaskManagement(byte function, uint itt, uint referencedTag, uint refCmdSN, ulong lun = 0)
    {
        byte[] h = Bhs(0x42, (byte)(0x80 | function));
        BinaryPrimitives.WriteUInt64BigEndian(h.AsSpan(8), lun);
        Put(h, 16, itt);
        Put(h, 20, referencedTag);
        Put(h, 24, CmdSN);
        Put(h, 28, ExpStatSN);
        Put(h, 32, refCmdSN);
        return h;
    }

    public byte[] TextRequest(uint itt, int dataLength, uint ttt = 0xFFFFFFFF)
    {
        byte[] h = Bhs(0x04, 0x80, dataLength);
        Put(h, 16, itt);
        Put(h, 20, ttt);
        Put(h, 24, CmdSN);
        Put(h, 28, ExpStatSN);
        CmdSN++;
        return h;
    }

    public byte[] LogoutRequest(uint itt, byte reason = 0)
    {
        byte[] h = Bhs(0x46, (byte)(0x80 | reason));
        Put(h, 16, itt);
        Put(h, 24, CmdSN);
        Put(h, 28, ExpStatSN);
        return h;
    }

    // ---- I/O ----

    /// <summary>Sends a PDU: header (+digest), data padded (+digest).</summary>
    public async Task SendAsync(byte[] header, byte[]? data = null)
    {
        var frame = new ArrayBufferWriter<byte>();
        frame.Write(header);
        if (HeaderDigest)
        {
            byte[] d = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(d, Crc32C.Compute(header));
            frame.Write(d);
        }
        if (data is { Length: > 0 })
        {
            int padded = (data.Length + 3) & ~3;
            byte[] body = new byte[padded];
            data.CopyTo(body, 0);
            frame.Write(body);
            if (DataDigest)
            {
                byte[] d = new byte[4];
                BinaryPrimitives.WriteUInt32LittleEndian(d, Crc32C.Compute(body));
                frame.Write(d);
            }
        }
        await SendRawAsync(frame.WrittenMemory);
    }

    public async Task SendRawAsync(ReadOnlyMemory<byte> bytes) => await _stream.WriteAsync(bytes).AsTask().WaitAsync(DefaultTimeout);

    /// <summary>Receives the next PDU, or null when the target closed the connection.</summary>
    public async Task<ReceivedPdu?> ReceiveAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        var settings = new PduReaderSettings(16 << 20, HeaderDigest, DataDigest);
        while (true)
        {
            var sequence = new ReadOnlySequence<byte>(_buffer, 0, _buffered);
            ReadOnlySequence<byte> rest = sequence;
            if (PduReader.TryRead(ref rest, settings, out IscsiFrame frame))
            {
                var pdu = new ReceivedPdu(frame.Header.ToArray(), frame.Data.ToArray());
                int consumed = (int)(sequence.Length - rest.Length);
                Buffer.BlockCopy(_buffer, consumed, _buffer, 0, _buffered - consumed);
                _buffered -= consumed;
                if (pdu.Opcode is IscsiOpcode.ScsiResponse or IscsiOpcode.LoginResponse or IscsiOpcode.TextResponse or IscsiOpcode.LogoutResponse
                    or IscsiOpcode.TaskManagementResponse or IscsiOpcode.Reject || (pdu.Opcode == IscsiOpcode.DataIn && (pdu.Flags & 1) != 0)
                    || (pdu.Opcode == IscsiOpcode.NopIn && pdu.Itt != 0xFFFFFFFF))
                {
                    ExpStatSN = pdu.StatSN + 1;
                }
                return pdu;
            }
            if (_buffered == _buffer.Length)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }
            int n;
            try
            {
                n = await _stream.ReadAsync(_buffer.AsMemory(_buffered), cts.Token);
            }
            catch (IOException)
            {
                return null;
            }
            if (n == 0)
            {
                return null;
            }
            _buffered += n;
        }
    }

    public async Task<ReceivedPdu> ExpectAsync(IscsiOpcode opcode, TimeSpan? timeout = null)
    {
        ReceivedPdu? pdu = await ReceiveAsync(timeout);
        Assert.NotNull(pdu);
        Assert.True(pdu.Opcode == opcode, $"expected {opcode}, got {pdu}");
        return pdu;
    }

    /// <summary>True when the target closes the connection within the timeout (PDUs before the close are skipped).</summary>
    public async Task<bool> ClosedWithinAsync(TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                ReceivedPdu? pdu = await ReceiveAsync(deadline - DateTime.UtcNow);
                if (pdu is null)
                {
                    return true;
                }
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }
        return false;
    }

    /// <summary>Asserts that nothing arrives within <paramref name="quiet"/>.</summary>
    public async Task ExpectSilenceAsync(TimeSpan quiet)
    {
        try
        {
            ReceivedPdu? pdu = await ReceiveAsync(quiet);
            Assert.Fail($"expected silence, got {(pdu is null ? "close" : pdu.ToString())}");
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>One-PDU login straight to full feature phase (CSG=1, NSG=3, T=1).</summary>
    public async Task<ReceivedPdu> LoginAsync(string targetName, params (string Key, string Value)[] extra)
    {
        var keys = new List<(string, string)> { ("InitiatorName", InitiatorName), ("TargetName", targetName), ("SessionType", "Normal") };
        keys.AddRange(extra);
        byte[] data = Text([.. keys]);
        await SendAsync(LoginRequest(1, 3, true, data), data);
        ReceivedPdu response = await ExpectAsync(IscsiOpcode.LoginResponse);
        return response;
    }

    public static ushort LoginStatus(ReceivedPdu response) => BinaryPrimitives.ReadUInt16BigEndian(response.Header.AsSpan(36));

    public async Task LoginOkAsync(string targetName, params (string Key, string Value)[] extra)
    {
        ReceivedPdu response = await LoginAsync(targetName, extra);
        Assert.Equal(0, LoginStatus(response));
        Assert.True((response.Flags & 0x80) != 0 && (response.Flags & 0x03) == 3, $"login did not reach full feature phase: {response}");
        CmdSN = response.ExpCmdSN;
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _socket.Dispose();
    }
}

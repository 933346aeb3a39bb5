using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using CtlHa.Initiator.Login;
using CtlHa.Initiator.Pdus;

namespace CtlHa.Initiator.Tests.Loopback;

/// <summary>
/// A scriptable fake iSCSI target on 127.0.0.1:0 for loopback tests: it accepts one connection, runs a minimal
/// login (AuthMethod=None, echoes the offered operational values), then lets the test read and write PDUs
/// one by one, hostile ones included.
/// </summary>
public sealed class FakeTarget : IAsyncDisposable
{
    public const string TargetName = "iqn.2026-11.org.ctlha.test:fake";

    private readonly TcpListener _listener;
    private Socket? _socket;
    private NetworkStream? _stream;
    private PipeReader? _reader;
    private Task<IscsiPdu>? _pendingReceive;

    private FakeTarget(TcpListener listener)
    {
        _listener = listener;
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Next StatSN to send.</summary>
    public uint StatSN { get; set; } = 100;

    public uint ExpCmdSN { get; set; } = 1;

    /// <summary>Window size granted in every PDU: MaxCmdSN = ExpCmdSN - 1 + Window.</summary>
    public uint Window { get; set; } = 32;

    public uint MaxCmdSN => ExpCmdSN - 1 + Window;

    /// <summary>Keys the target offers first in its operational-stage answer (the initiator must answer them).</summary>
    public List<KeyValuePair<string, string>> TargetOfferedKeys { get; } = [];

    /// <summary>When set, the first Login Response carries this Status-Class/Status-Detail and the login ends.</summary>
    public (byte StatusClass, byte StatusDetail)? LoginFailure { get; set; }

    /// <summary>Every key the initiator sent during login, in order.</summary>
    public List<KeyValuePair<string, string>> LoginKeysReceived { get; } = [];

    public static FakeTarget Start()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return new FakeTarget(listener);
    }

    /// <summary>Accepts the initiator's connection and completes its login with the given key answers.</summary>
    public async Task AcceptLoginAsync(CancellationToken ct, IReadOnlyDictionary<string, string>? overrides = null)
    {
        _socket = await _listener.AcceptSocketAsync(ct);
        _stream = new NetworkStream(_socket, ownsSocket: true);
        _reader = PipeReader.Create(_stream);
        var offeredOwnKeys = false;
        while (true)
        {
            var request = await ReceiveAsync(ct);
            Assert.Equal(IscsiOpcode.LoginRequest, request.Opcode);
            var transit = (request.Flags & 0x80) != 0;
            var csg = (request.Flags >> 2) & 0x03;
            var nsg = request.Flags & 0x03;
            var answers = new List<KeyValuePair<string, string>>();
            var offered = TextParameters.Decode(request.Data.Span);
            LoginKeysReceived.AddRange(offered);
            if (LoginFailure is { } failure)
            {
                var refusal = new IscsiPdu(IscsiOpcode.LoginResponse)
                {
                    Lun = request.Lun,
                    InitiatorTaskTag = request.InitiatorTaskTag,
                };
                refusal.Bhs[36] = failure.StatusClass;
                refusal.Bhs[37] = failure.StatusDetail;
                await SendAsync(Stamp(refusal), ct);
                return;
            }

            foreach (var (key, value) in offered)
            {
                if (TargetOfferedKeys.Any(k => k.Key == key))
                {
                    continue;
                }

                if (key is "InitiatorName" or "SessionType" or "TargetName" or "InitiatorAlias" or "MaxRecvDataSegmentLength")
                {
                    continue;
                }

                var answer = overrides is not null && overrides.TryGetValue(key, out var forced) ? forced : value.Split(',')[0];
                answers.Add(new(key, answer));
            }

            if (csg == 1 && !offeredOwnKeys && TargetOfferedKeys.Count > 0)
            {
                // A target offering keys cannot transit in the same response (RFC 7143 §6.2): hold T at 0.
                answers.AddRange(TargetOfferedKeys);
                offeredOwnKeys = true;
                transit = false;
            }

            if (csg == 1)
            {
                answers.Add(new("MaxRecvDataSegmentLength", overrides?.GetValueOrDefault("TargetMaxRecvDataSegmentLength") ?? "8192"));
            }

            var response = new IscsiPdu(IscsiOpcode.LoginResponse)
            {
                Flags = (byte)((transit ? 0x80 : 0) | (csg << 2) | (transit ? nsg : 0)),
                Lun = (request.Lun & ~0xFFFFUL) | 1,
                InitiatorTaskTag = request.InitiatorTaskTag,
                Data = TextParameters.Encode(answers),
            };
            ExpCmdSN = request.CmdSN;
            Stamp(response);
            await SendAsync(response, ct);
            if (transit && nsg == 3)
            {
                return;
            }
        }
    }

    /// <summary>Fills StatSN (advancing it), ExpCmdSN and MaxCmdSN.</summary>
    public IscsiPdu Stamp(IscsiPdu pdu, bool advanceStatSN = true)
    {
        pdu.Dword24 = advanceStatSN ? StatSN++ : StatSN;
        pdu.Dword28 = ExpCmdSN;
        pdu.Dword32 = MaxCmdSN;
        return pdu;
    }

    /// <summary>The next PDU (first finishing a receive that <see cref="TryReceiveAsync"/> left running).</summary>
    public Task<IscsiPdu> ReceiveAsync(CancellationToken ct)
    {
        if (_pendingReceive is { } pending)
        {
            _pendingReceive = null;
            return pending.WaitAsync(ct);
        }

        return ReceiveCoreAsync(ct);
    }

    private async Task<IscsiPdu> ReceiveCoreAsync(CancellationToken ct)
    {
        while (true)
        {
            var result = await _reader!.ReadAsync(ct);
            var buffer = result.Buffer;
            if (PduFramer.TryRead(ref buffer, DigestSettings.None, 1 << 24, out var pdu))
            {
                _reader.AdvanceTo(buffer.Start);
                return pdu!;
            }

            _reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                throw new EndOfStreamException("Initiator closed the connection.");
            }
        }
    }

    /// <summary>The next PDU, or null if none arrives within <paramref name="timeout"/> (the pipe stays usable).</summary>
    public async Task<IscsiPdu?> TryReceiveAsync(TimeSpan timeout, CancellationToken ct)
    {
        // The receive is not cancelled on timeout (that would disturb the pipe); the next ReceiveAsync finishes it.
        var receive = ReceiveAsync(CancellationToken.None);
        var winner = await Task.WhenAny(receive, Task.Delay(timeout, ct));
        if (winner == receive)
        {
            return await receive;
        }

        _pendingReceive = receive;
        return null;
    }


    public async Task SendAsync(IscsiPdu pdu, CancellationToken ct) =>
        await _stream!.WriteAsync(PduFramer.ToArray(pdu, DigestSettings.None), ct);

    public void Drop() => _socket?.Close();

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        if (_reader is not null)
        {
            await _reader.CompleteAsync();
        }

        if (_stream is not null)
        {
            await _stream.DisposeAsync();
        }

        _listener.Dispose();
    }
}

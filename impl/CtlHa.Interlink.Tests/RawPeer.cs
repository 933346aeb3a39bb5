using System.Buffers;
using System.Net;
using System.Net.Sockets;
using CtlHa.Wire;

namespace CtlHa.Interlink.Tests;

/// <summary>A hand-driven interlink peer over a raw socket: does the handshake by the book, then sends anything.</summary>
public sealed class RawPeer : IAsyncDisposable
{
    private readonly TcpClient _client = new() { NoDelay = true };
    private NetworkStream? _stream;
    private byte[] _pending = [];

    public byte[] OwnNonce { get; } = InterlinkAuth.NewNonce();

    public async Task ConnectAsync(IPEndPoint endPoint)
    {
        await _client.ConnectAsync(endPoint);
        _stream = _client.GetStream();
    }

    public Task SendAsync(InterlinkMessage message) => SendRawAsync(InterlinkFrame.Encode(message));

    public async Task SendRawAsync(byte[] bytes) => await _stream!.WriteAsync(bytes);

    /// <summary>Next message, or null at EOF.</summary>
    public async Task<InterlinkMessage?> ReceiveAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var chunk = new byte[65536];
        while (true)
        {
            var buffer = new ReadOnlySequence<byte>(_pending);
            if (InterlinkFrame.TryReadFrame(ref buffer, out var message))
            {
                _pending = buffer.ToArray();
                return message;
            }

            var n = await _stream!.ReadAsync(chunk, cts.Token);
            if (n == 0)
            {
                return null;
            }

            _pending = [.. _pending, .. chunk.AsSpan(0, n)];
        }
    }

    /// <summary>Connector-side handshake with <paramref name="psk"/>; returns the acceptor's Login.</summary>
    public async Task<Login> HandshakeAsync(byte[] psk, Login login)
    {
        await SendAsync(new AuthChallenge(AuthMethod.HmacSha256Psk, OwnNonce));
        var challenge = Assert.IsType<AuthChallenge>(await ReceiveAsync(TimeSpan.FromSeconds(5)));
        await SendAsync(new AuthResponse(InterlinkAuth.ComputeMac(psk, LinkRole.Connector, OwnNonce, challenge.Nonce)));
        var response = Assert.IsType<AuthResponse>(await ReceiveAsync(TimeSpan.FromSeconds(5)));
        Assert.True(InterlinkAuth.VerifyMac(psk, LinkRole.Acceptor, challenge.Nonce, OwnNonce, response.Mac));
        await SendAsync(login);
        return Assert.IsType<Login>(await ReceiveAsync(TimeSpan.FromSeconds(5)));
    }

    /// <summary>Reads until EOF; returns the last Goodbye seen, if any.</summary>
    public async Task<Goodbye?> DrainUntilClosedAsync(TimeSpan timeout)
    {
        Goodbye? last = null;
        try
        {
            while (await ReceiveAsync(timeout) is { } message)
            {
                if (message is Goodbye goodbye)
                {
                    last = goodbye;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or InterlinkProtocolException)
        {
        }

        return last;
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }
}

using System.Buffers;
using System.Net;
using System.Net.Sockets;
using CtlHa.Wire;

namespace CtlHa.Conformance.Interlink;

/// <summary>
/// A scriptable interlink peer over a raw socket (HOUSE_STYLE "scriptable fake peer"): it speaks the protocol
/// by the book when asked, and sends hostile bytes when asked. Used by <see cref="PeerValidator"/> and tests.
/// </summary>
public sealed class InterlinkFakePeer : IAsyncDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private byte[] _pending = [];

    private InterlinkFakePeer(TcpClient client, LinkRole role)
    {
        _client = client;
        _client.NoDelay = true;
        _stream = client.GetStream();
        Role = role;
    }

    /// <summary>This fake's side of the connection (bound into its MACs).</summary>
    public LinkRole Role { get; }

    public byte[] OwnNonce { get; } = InterlinkAuth.NewNonce();

    /// <summary>The node's AuthChallenge, once received.</summary>
    public AuthChallenge? NodeChallenge { get; private set; }

    public static async Task<InterlinkFakePeer> ConnectAsync(IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        var client = new TcpClient();
        try
        {
            await client.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
            return new InterlinkFakePeer(client, LinkRole.Connector);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    public static async Task<InterlinkFakePeer> AcceptAsync(TcpListener listener, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(listener);
        var client = await listener.AcceptTcpClientAsync(cancellationToken).ConfigureAwait(false);
        return new InterlinkFakePeer(client, LinkRole.Acceptor);
    }

    public Task SendAsync(InterlinkMessage message, CancellationToken cancellationToken = default) =>
        SendRawAsync(InterlinkFrame.Encode(message), cancellationToken);

    public async Task SendRawAsync(byte[] bytes, CancellationToken cancellationToken = default) =>
        await _stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);

    /// <summary>Sends one byte at a time with a pause between them (a slow but correct peer).</summary>
    public async Task SendSlowlyAsync(byte[] bytes, TimeSpan perByte, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        for (var i = 0; i < bytes.Length; i++)
        {
            await _stream.WriteAsync(bytes.AsMemory(i, 1), cancellationToken).ConfigureAwait(false);
            await Task.Delay(perByte, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The node's next message; null at EOF or reset. Throws InterlinkProtocolException if the node sent a bad frame.</summary>
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
                if (message is AuthChallenge challenge)
                {
                    NodeChallenge ??= challenge;
                }

                return message;
            }

            int n;
            try
            {
                n = await _stream.ReadAsync(chunk, cts.Token).ConfigureAwait(false);
            }
            catch (IOException)
            {
                return null;
            }

            if (n == 0)
            {
                return null;
            }

            _pending = [.. _pending, .. chunk.AsSpan(0, n)];
        }
    }

    /// <summary>Next message that is not a Heartbeat (heartbeats are counted).</summary>
    public async Task<InterlinkMessage?> ReceiveSkippingHeartbeatsAsync(TimeSpan timeout)
    {
        while (true)
        {
            var message = await ReceiveAsync(timeout).ConfigureAwait(false);
            if (message is Heartbeat heartbeat)
            {
                HeartbeatsReceived++;
                LastHeartbeat = heartbeat;
                continue;
            }

            return message;
        }
    }

    public int HeartbeatsReceived { get; private set; }

    public Heartbeat? LastHeartbeat { get; private set; }

    /// <summary>Reads until the node closes; returns whether it closed in time and the last Goodbye it sent.</summary>
    public async Task<(bool Closed, Goodbye? Goodbye)> WaitClosedAsync(TimeSpan timeout)
    {
        Goodbye? last = null;
        var deadline = DateTime.UtcNow + timeout;
        try
        {
            while (DateTime.UtcNow < deadline)
            {
                var message = await ReceiveAsync(deadline - DateTime.UtcNow).ConfigureAwait(false);
                if (message is null)
                {
                    return (true, last);
                }

                if (message is Goodbye goodbye)
                {
                    last = goodbye;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return (false, last);
        }
        catch (Exception ex) when (ex is SocketException or InterlinkProtocolException)
        {
            return (true, last);
        }

        return (false, last);
    }

    /// <summary>
    /// Authenticates by the book (PROTOCOL.md §4.2) with <paramref name="psk"/> (null = announce None).
    /// Returns null on success, or what went wrong.
    /// </summary>
    public async Task<string?> AuthenticateAsync(byte[]? psk, TimeSpan timeout)
    {
        await SendAsync(new AuthChallenge(psk is null ? AuthMethod.None : AuthMethod.HmacSha256Psk, OwnNonce)).ConfigureAwait(false);
        if (await ReceiveAsync(timeout).ConfigureAwait(false) is not AuthChallenge challenge)
        {
            return "node did not send AuthChallenge first";
        }

        if (psk is null)
        {
            return challenge.Method == AuthMethod.None ? null : "node requires a key";
        }

        var peerRole = Role == LinkRole.Connector ? LinkRole.Acceptor : LinkRole.Connector;
        if (Role == LinkRole.Connector)
        {
            await SendAsync(new AuthResponse(InterlinkAuth.ComputeMac(psk, Role, OwnNonce, challenge.Nonce))).ConfigureAwait(false);
        }

        var reply = await ReceiveAsync(timeout).ConfigureAwait(false);
        if (reply is not AuthResponse response)
        {
            return $"expected AuthResponse, got {reply?.GetType().Name ?? "close"}" + (reply is Goodbye g ? $" ({g.Reason} {g.Detail})" : string.Empty);
        }

        if (!InterlinkAuth.VerifyMac(psk, peerRole, challenge.Nonce, OwnNonce, response.Mac))
        {
            return "node's MAC does not verify with this key";
        }

        if (Role == LinkRole.Acceptor)
        {
            await SendAsync(new AuthResponse(InterlinkAuth.ComputeMac(psk, Role, OwnNonce, challenge.Nonce))).ConfigureAwait(false);
        }

        return null;
    }

    /// <summary>Reads the node's Login, then sends <paramref name="makeOurs"/>(its Login). Returns the node's Login.</summary>
    public async Task<Login?> ExchangeLoginAsync(Func<Login, Login> makeOurs, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(makeOurs);
        if (await ReceiveAsync(timeout).ConfigureAwait(false) is not Login nodeLogin)
        {
            return null;
        }

        // Encode without validation so deliberately odd Logins (node id 3) can be sent.
        var ours = makeOurs(nodeLogin);
        await SendRawAsync(RawFrame(ours)).ConfigureAwait(false);
        return nodeLogin;
    }

    /// <summary>The frame of a message encoded without Validate (for hostile tests).</summary>
    public static byte[] RawFrame(InterlinkMessage message)
    {
        var payload = MessagePack.MessagePackSerializer.Serialize(message, InterlinkFrame.Options);
        var frame = new byte[4 + payload.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)payload.Length);
        payload.CopyTo(frame, 4);
        return frame;
    }

    /// <summary>The compatible Login for a node: its own values with the other node id.</summary>
    public static Login MirrorOf(Login nodeLogin)
    {
        ArgumentNullException.ThrowIfNull(nodeLogin);
        return nodeLogin with { NodeId = (byte)(nodeLogin.NodeId == 1 ? 2 : 1), SoftwareVersion = "ctlha-conform peer" };
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }
}

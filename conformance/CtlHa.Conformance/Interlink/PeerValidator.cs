using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using CtlHa.Wire;

namespace CtlHa.Conformance.Interlink;

/// <summary>Settings of <c>ctlha-conform peer</c>.</summary>
public sealed class PeerValidatorOptions
{
    /// <summary>True: connect to a node that listens (<c>--connect</c>). False: listen for a node that connects (<c>--listen</c>).</summary>
    public bool ConnectToNode { get; set; } = true;

    /// <summary>The node's listen address (connect mode) or the address to listen on (listen mode).</summary>
    public required IPEndPoint EndPoint { get; set; }

    /// <summary>The pair's pre-shared key; null if the node runs unauthenticated.</summary>
    public byte[]? Psk { get; set; }

    /// <summary>The node's dead-peer interval (default 1 s); the heartbeat-loss check allows this plus slack.</summary>
    public TimeSpan DeadAfter { get; set; } = InterlinkTiming.DefaultDeadAfter;

    /// <summary>Per-step timeout (a connect-side node may be backing off for several seconds).</summary>
    public TimeSpan StepTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The pair's HA mode as the operator configured the other node; null = accept the node's. A node announcing
    /// another mode fails "good login" with the field and both values, as its real peer would reject it.
    /// </summary>
    public HaMode? ExpectedMode { get; set; }

    /// <summary>The pair's cluster name; null = accept the node's (see <see cref="ExpectedMode"/>).</summary>
    public string? ExpectedCluster { get; set; }
}

/// <summary>One check's outcome.</summary>
public sealed record PeerCheckResult(string Name, bool Passed, string Detail, TimeSpan Duration);

/// <summary>
/// Acts as the other node of a pair and checks a node's interlink handshake behaviour (PROTOCOL.md §4–§7):
/// a good login, each Login mismatch, wrong key, no key, garbage, an oversized frame, a slow peer and heartbeat
/// loss. Every check uses a fresh connection, so it also checks that the node recovers after each.
/// </summary>
public sealed class PeerValidator(PeerValidatorOptions options)
{
    private TcpListener? _listener;

    /// <summary>The checks, in run order.</summary>
    public static IReadOnlyList<string> CheckNames { get; } =
    [
        "good login", "version mismatch", "mode mismatch", "same node id", "invalid node id", "cluster mismatch",
        "max LUNs mismatch", "max ports mismatch", "max initiators mismatch", "wrong key", "no key", "garbage",
        "oversized frame", "slow peer", "heartbeat loss",
    ];

    public async Task<IReadOnlyList<PeerCheckResult>> RunAsync(Action<PeerCheckResult>? progress = null, CancellationToken cancellationToken = default)
    {
        var results = new List<PeerCheckResult>();
        if (!options.ConnectToNode)
        {
            _listener = new TcpListener(options.EndPoint);
            _listener.Start();
        }

        try
        {
            // Connect side: a node that accepts nothing fails every check at once with one clear reason, instead of
            // each check waiting out its step timeout.
            string? unreachable = _listener is null ? await ProbeAsync(cancellationToken).ConfigureAwait(false) : null;
            foreach (var name in CheckNames)
            {
                var clock = Stopwatch.StartNew();
                PeerCheckResult result;
                if (unreachable is not null)
                {
                    result = new PeerCheckResult(name, false, unreachable, TimeSpan.Zero);
                    results.Add(result);
                    progress?.Invoke(result);
                    continue;
                }
                try
                {
                    var failure = await RunCheckAsync(name, cancellationToken).ConfigureAwait(false);
                    result = new PeerCheckResult(name, failure is null, failure ?? "ok", clock.Elapsed);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    result = new PeerCheckResult(name, false, $"{ex.GetType().Name}: {ex.Message}", clock.Elapsed);
                }

                results.Add(result);
                progress?.Invoke(result);
            }
        }
        finally
        {
            _listener?.Stop();
        }

        return results;
    }

    /// <summary>Null when something accepts TCP connections at the endpoint within a step timeout, else why not.</summary>
    private async Task<string?> ProbeAsync(CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        string reason = "no answer";
        while (deadline.Elapsed < options.StepTimeout)
        {
            using var client = new TcpClient();
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attempt.CancelAfter(options.StepTimeout - deadline.Elapsed);
            try
            {
                await client.ConnectAsync(options.EndPoint, attempt.Token).ConfigureAwait(false);
                return null;
            }
            catch (SocketException e)
            {
                reason = e.SocketErrorCode.ToString();
                await Task.Delay(200, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                reason = "connect timed out";
            }
        }
        return $"nothing accepts connections at {options.EndPoint} ({reason} for {options.StepTimeout.TotalSeconds:F0} s): is the node running with --peer listen:{options.EndPoint}?";
    }

    private async Task<InterlinkFakePeer> OpenAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.StepTimeout);
        if (_listener is not null)
        {
            return await InterlinkFakePeer.AcceptAsync(_listener, timeout.Token).ConfigureAwait(false);
        }

        // A node that just rejected us may be in its back-off (listen side: Rejected) for a moment: retry.
        while (true)
        {
            try
            {
                return await InterlinkFakePeer.ConnectAsync(options.EndPoint, timeout.Token).ConfigureAwait(false);
            }
            catch (SocketException)
            {
                await Task.Delay(100, timeout.Token).ConfigureAwait(false);
            }
        }
    }

    private Task<string?> RunCheckAsync(string name, CancellationToken cancellationToken) => name switch
    {
        "good login" => GoodLoginAsync(cancellationToken),
        "version mismatch" => MismatchAsync(l => l with { ProtocolVersion = l.ProtocolVersion + 1 }, LoginField.ProtocolVersion, cancellationToken),
        "mode mismatch" => MismatchAsync(l => l with { Mode = l.Mode == HaMode.Proxy ? HaMode.Standby : HaMode.Proxy }, LoginField.HaMode, cancellationToken),
        "same node id" => MismatchAsync(l => l with { NodeId = (byte)(3 - l.NodeId) }, LoginField.NodeIdSame, cancellationToken),
        "invalid node id" => MismatchAsync(l => l with { NodeId = 3 }, LoginField.NodeIdInvalid, cancellationToken),
        "cluster mismatch" => MismatchAsync(l => l with { ClusterName = l.ClusterName + "-other" }, LoginField.ClusterName, cancellationToken),
        "max LUNs mismatch" => MismatchAsync(l => l with { MaxLuns = l.MaxLuns == 1 ? 2 : l.MaxLuns - 1 }, LoginField.MaxLuns, cancellationToken),
        "max ports mismatch" => MismatchAsync(l => l with { MaxPorts = l.MaxPorts == 2 ? 4 : l.MaxPorts - 2 }, LoginField.MaxPorts, cancellationToken),
        "max initiators mismatch" => MismatchAsync(l => l with { MaxInitiatorsPerPort = l.MaxInitiatorsPerPort == 1 ? 2 : l.MaxInitiatorsPerPort - 1 }, LoginField.MaxInitiatorsPerPort, cancellationToken),
        "wrong key" => WrongKeyAsync(cancellationToken),
        "no key" => NoKeyAsync(cancellationToken),
        "garbage" => GarbageAsync(cancellationToken),
        "oversized frame" => OversizedAsync(cancellationToken),
        "slow peer" => SlowPeerAsync(cancellationToken),
        "heartbeat loss" => HeartbeatLossAsync(cancellationToken),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown check"),
    };

    /// <summary>Authenticates and logs in with the mirrored Login; returns the peer or a failure text.</summary>
    private async Task<(InterlinkFakePeer? Peer, Login? NodeLogin, string? Failure)> LoginAsync(CancellationToken cancellationToken)
    {
        var peer = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var authFailure = await peer.AuthenticateAsync(options.Psk, options.StepTimeout).ConfigureAwait(false);
        if (authFailure is not null)
        {
            await peer.DisposeAsync().ConfigureAwait(false);
            return (null, null, "authentication: " + authFailure);
        }

        var nodeLogin = await peer.ExchangeLoginAsync(InterlinkFakePeer.MirrorOf, options.StepTimeout).ConfigureAwait(false);
        if (nodeLogin is null)
        {
            await peer.DisposeAsync().ConfigureAwait(false);
            return (null, null, "node sent no Login");
        }

        return (peer, nodeLogin, null);
    }

    /// <summary>The node's Login against the configuration the operator says the pair has, as the real peer checks it.</summary>
    private string? ConfigurationMismatch(Login nodeLogin)
    {
        if (options.ExpectedMode is { } mode && nodeLogin.Mode != mode)
        {
            return $"login mismatch: HA mode differs: node {nodeLogin.Mode.ToString().ToLowerInvariant()}, pair configured {mode.ToString().ToLowerInvariant()}";
        }
        if (options.ExpectedCluster is { } cluster && !string.Equals(nodeLogin.ClusterName, cluster, StringComparison.Ordinal))
        {
            return $"login mismatch: cluster name differs: node '{nodeLogin.ClusterName}', pair configured '{cluster}'";
        }
        return null;
    }

    private async Task<string?> GoodLoginAsync(CancellationToken cancellationToken)
    {
        var (peer, nodeLogin, failure) = await LoginAsync(cancellationToken).ConfigureAwait(false);
        if (peer is null)
        {
            return failure;
        }
        if (nodeLogin is not null && ConfigurationMismatch(nodeLogin) is { } mismatch)
        {
            await peer.DisposeAsync().ConfigureAwait(false);
            return mismatch;
        }

        await using (peer.ConfigureAwait(false))
        {
            // Play a well-behaved node with no state for a while: SyncComplete, heartbeats that echo.
            await peer.SendAsync(new SyncComplete(0, 0, 0, 0), cancellationToken).ConfigureAwait(false);
            var deadline = DateTime.UtcNow + (2 * options.DeadAfter) + TimeSpan.FromMilliseconds(500);
            ulong sequence = 0;
            var sawSyncComplete = false;
            while (DateTime.UtcNow < deadline)
            {
                await peer.SendAsync(new Heartbeat(++sequence, 0, peer.LastHeartbeat?.Sequence ?? 0), cancellationToken).ConfigureAwait(false);
                try
                {
                    var message = await peer.ReceiveSkippingHeartbeatsAsync(TimeSpan.FromMilliseconds(100)).ConfigureAwait(false);
                    switch (message)
                    {
                        case null:
                            return "node closed a good link";
                        case Goodbye goodbye:
                            return $"node said goodbye to a good link: {goodbye.Reason} {goodbye.Detail}";
                        case SyncComplete:
                            sawSyncComplete = true;
                            break;
                    }
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // No message within 100 ms: keep beating.
                }
            }

            if (!sawSyncComplete)
            {
                return "node never sent SyncComplete";
            }

            var expected = (int)((2 * options.DeadAfter).TotalMilliseconds / InterlinkTiming.DefaultHeartbeatInterval.TotalMilliseconds / 2);
            return peer.HeartbeatsReceived >= expected ? null : $"only {peer.HeartbeatsReceived} heartbeats in {2 * options.DeadAfter.TotalSeconds:0.#} s";
        }
    }

    /// <param name="change">Our Login, from the compatible mirror of the node's.</param>
    private async Task<string?> MismatchAsync(Func<Login, Login> change, LoginField field, CancellationToken cancellationToken)
    {
        var peer = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (peer.ConfigureAwait(false))
        {
            var authFailure = await peer.AuthenticateAsync(options.Psk, options.StepTimeout).ConfigureAwait(false);
            if (authFailure is not null)
            {
                return "authentication: " + authFailure;
            }

            Login? sent = null;
            var nodeLogin = await peer.ExchangeLoginAsync(
                l => sent = change(InterlinkFakePeer.MirrorOf(l)),
                options.StepTimeout).ConfigureAwait(false);
            if (nodeLogin is null || sent is null)
            {
                return "node sent no Login";
            }

            var (closed, goodbye) = await peer.WaitClosedAsync(options.StepTimeout).ConfigureAwait(false);
            if (!closed)
            {
                return "node kept the connection open after a mismatching Login";
            }

            if (goodbye is null)
            {
                return "node closed without Goodbye naming the field";
            }

            var expected = LoginCheck.Compare(nodeLogin, sent);
            if (goodbye.Reason != GoodbyeReason.LoginMismatch || goodbye.Field != field)
            {
                return $"Goodbye {goodbye.Reason}/{goodbye.Field}, expected LoginMismatch/{field}";
            }

            return expected is not null && (goodbye.SenderValue != expected.LocalValue || goodbye.ReceiverValue != expected.PeerValue)
                ? $"Goodbye values '{goodbye.SenderValue}'/'{goodbye.ReceiverValue}', expected '{expected.LocalValue}'/'{expected.PeerValue}'"
                : null;
        }
    }

    private async Task<string?> WrongKeyAsync(CancellationToken cancellationToken)
    {
        if (options.Psk is null)
        {
            return null; // node runs without a key: nothing to check
        }

        var peer = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (peer.ConfigureAwait(false))
        {
            var wrong = options.Psk.Select(b => (byte)(b ^ 0xA5)).ToArray();
            await peer.SendAsync(new AuthChallenge(AuthMethod.HmacSha256Psk, peer.OwnNonce), cancellationToken).ConfigureAwait(false);
            if (await peer.ReceiveAsync(options.StepTimeout).ConfigureAwait(false) is not AuthChallenge challenge)
            {
                return "node did not send AuthChallenge first";
            }

            if (peer.Role == LinkRole.Acceptor)
            {
                // The node (connector) proves first; then our wrong MAC must be refused.
                if (await peer.ReceiveAsync(options.StepTimeout).ConfigureAwait(false) is not AuthResponse)
                {
                    return "connecting node did not send its AuthResponse";
                }
            }

            await peer.SendAsync(new AuthResponse(InterlinkAuth.ComputeMac(wrong, peer.Role, peer.OwnNonce, challenge.Nonce)), cancellationToken).ConfigureAwait(false);
            var next = await peer.ReceiveAsync(options.StepTimeout).ConfigureAwait(false);
            if (next is AuthResponse or Login)
            {
                return $"node answered a wrong MAC with {next.GetType().Name}";
            }

            var (closed, goodbye) = await peer.WaitClosedAsync(options.StepTimeout).ConfigureAwait(false);
            goodbye = next as Goodbye ?? goodbye;
            if (!closed && next is not null)
            {
                return "node kept the connection open after a wrong MAC";
            }

            return goodbye?.Reason is null or GoodbyeReason.AuthenticationFailed ? null : $"Goodbye {goodbye.Reason}, expected AuthenticationFailed";
        }
    }

    private async Task<string?> NoKeyAsync(CancellationToken cancellationToken)
    {
        if (options.Psk is null)
        {
            return null;
        }

        var peer = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (peer.ConfigureAwait(false))
        {
            await peer.SendAsync(new AuthChallenge(AuthMethod.None, peer.OwnNonce), cancellationToken).ConfigureAwait(false);
            if (await peer.ReceiveAsync(options.StepTimeout).ConfigureAwait(false) is not AuthChallenge)
            {
                return "node did not send AuthChallenge first";
            }

            var next = await peer.ReceiveAsync(options.StepTimeout).ConfigureAwait(false);
            if (next is AuthResponse or Login)
            {
                return $"node continued with {next.GetType().Name} for a peer without a key";
            }

            var (closed, goodbye) = await peer.WaitClosedAsync(options.StepTimeout).ConfigureAwait(false);
            goodbye = next as Goodbye ?? goodbye;
            if (!closed && next is not null)
            {
                return "node kept the connection open for a peer without a key";
            }

            return goodbye?.Reason is null or GoodbyeReason.AuthenticationRequired ? null : $"Goodbye {goodbye.Reason}, expected AuthenticationRequired";
        }
    }

    private async Task<string?> GarbageAsync(CancellationToken cancellationToken)
    {
        var peer = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (peer.ConfigureAwait(false))
        {
            await peer.SendRawAsync("\0\0\0\u0010GET / HTTP/1.1\r\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
            var (closed, _) = await peer.WaitClosedAsync(options.StepTimeout).ConfigureAwait(false);
            return closed ? null : "node kept a connection that sent garbage";
        }
    }

    private async Task<string?> OversizedAsync(CancellationToken cancellationToken)
    {
        var (peer, _, failure) = await LoginAsync(cancellationToken).ConfigureAwait(false);
        if (peer is null)
        {
            return failure;
        }

        await using (peer.ConfigureAwait(false))
        {
            var clock = Stopwatch.StartNew();
            await peer.SendRawAsync([0x00, 0x20, 0x00, 0x00], cancellationToken).ConfigureAwait(false); // 2 MiB, no payload follows
            var (closed, goodbye) = await peer.WaitClosedAsync(options.StepTimeout).ConfigureAwait(false);
            if (!closed)
            {
                return "node waited for the payload of an oversized frame";
            }

            return goodbye?.Reason is null or GoodbyeReason.ProtocolError
                ? null
                : $"Goodbye {goodbye.Reason} after {clock.ElapsedMilliseconds} ms, expected ProtocolError";
        }
    }

    private async Task<string?> SlowPeerAsync(CancellationToken cancellationToken)
    {
        var peer = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (peer.ConfigureAwait(false))
        {
            // A correct AuthChallenge trickled one byte every 10 ms (~0.4 s) must still be accepted.
            await peer.SendSlowlyAsync(InterlinkFrame.Encode(new AuthChallenge(options.Psk is null ? AuthMethod.None : AuthMethod.HmacSha256Psk, peer.OwnNonce)), TimeSpan.FromMilliseconds(10), cancellationToken).ConfigureAwait(false);
            if (await peer.ReceiveAsync(options.StepTimeout).ConfigureAwait(false) is not AuthChallenge challenge)
            {
                return "node did not send AuthChallenge";
            }

            if (options.Psk is { } psk)
            {
                if (peer.Role == LinkRole.Connector)
                {
                    await peer.SendSlowlyAsync(InterlinkFrame.Encode(new AuthResponse(InterlinkAuth.ComputeMac(psk, peer.Role, peer.OwnNonce, challenge.Nonce))), TimeSpan.FromMilliseconds(10), cancellationToken).ConfigureAwait(false);
                }

                var response = await peer.ReceiveAsync(options.StepTimeout).ConfigureAwait(false);
                if (response is not AuthResponse)
                {
                    return $"slow but correct peer got {response?.GetType().Name ?? "closed"} instead of AuthResponse";
                }

                if (peer.Role == LinkRole.Acceptor)
                {
                    await peer.SendAsync(new AuthResponse(InterlinkAuth.ComputeMac(psk, peer.Role, peer.OwnNonce, challenge.Nonce)), cancellationToken).ConfigureAwait(false);
                }
            }

            return await peer.ExchangeLoginAsync(InterlinkFakePeer.MirrorOf, options.StepTimeout).ConfigureAwait(false) is null
                ? "node did not reach Login with a slow peer"
                : null;
        }
    }

    private async Task<string?> HeartbeatLossAsync(CancellationToken cancellationToken)
    {
        var (peer, _, failure) = await LoginAsync(cancellationToken).ConfigureAwait(false);
        if (peer is null)
        {
            return failure;
        }

        await using (peer.ConfigureAwait(false))
        {
            // Send nothing more. The node must give up within its dead-peer interval (+ slack).
            var clock = Stopwatch.StartNew();
            var (closed, goodbye) = await peer.WaitClosedAsync(options.DeadAfter * 3).ConfigureAwait(false);
            if (!closed)
            {
                return $"node kept a silent peer for {clock.Elapsed.TotalSeconds:0.0} s";
            }

            var limit = options.DeadAfter + TimeSpan.FromMilliseconds(750);
            if (clock.Elapsed > limit)
            {
                return $"silent peer detected after {clock.Elapsed.TotalMilliseconds:0} ms (limit {limit.TotalMilliseconds:0} ms)";
            }

            return goodbye?.Reason is null or GoodbyeReason.HeartbeatTimeout ? null : $"Goodbye {goodbye.Reason}, expected HeartbeatTimeout";
        }
    }
}

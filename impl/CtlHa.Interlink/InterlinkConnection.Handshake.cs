using CtlHa.Wire;
using Microsoft.Extensions.Logging;

namespace CtlHa.Interlink;

// PROTOCOL.md §4.2–§4.3: AuthChallenge both ways → connector's AuthResponse → acceptor's AuthResponse → Login both ways.
internal sealed partial class InterlinkConnection
{
    private int _peerMaxFrameLength = WireLimits.HandshakeMaxFrameLength;

    /// <summary>
    /// Authenticates and logs in. Returns null when the link may go Online (<see cref="PeerInfo"/> set), or how the
    /// connection ended. Throws OperationCanceledException (after a best-effort Goodbye) if the link is stopped.
    /// </summary>
    public async Task<ConnectionEnd?> HandshakeAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.HandshakeTimeout);
        ConnectionEnd? end;
        try
        {
            end = await HandshakeCoreAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await TrySendGoodbyeAsync(Goodbye.Because(_link.IsReconfiguring ? GoodbyeReason.Reconfigured : GoodbyeReason.Shutdown)).ConfigureAwait(false);
            throw;
        }
        catch (OperationCanceledException)
        {
            end = new ConnectionEnd(InterlinkTrigger.HeartbeatLost, $"handshake not complete within {_options.HandshakeTimeout.TotalSeconds:0.###} s", Goodbye: Goodbye.Because(GoodbyeReason.HeartbeatTimeout, "handshake timeout"));
        }
        catch (InterlinkProtocolException ex)
        {
            end = new ConnectionEnd(InterlinkTrigger.ProtocolError, $"{ex.Kind}: {ex.Message}", Goodbye: Goodbye.Because(GoodbyeReason.ProtocolError, Clip(ex.Message)));
        }
        catch (Exception ex) when (IsTransportEnd(ex))
        {
            end = new ConnectionEnd(InterlinkTrigger.PeerClosed, ex.Message);
        }

        if (end?.Goodbye is { } goodbye)
        {
            await TrySendGoodbyeAsync(goodbye).ConfigureAwait(false);
        }

        return end;
    }

    private async Task<ConnectionEnd?> HandshakeCoreAsync(CancellationToken cancellationToken)
    {
        var ownNonce = InterlinkAuth.NewNonce();
        var psk = _options.Psk;
        await WriteDirectAsync(new AuthChallenge(psk is null ? AuthMethod.None : AuthMethod.HmacSha256Psk, ownNonce), cancellationToken).ConfigureAwait(false);
        var first = await ReadHandshakeMessageAsync(cancellationToken).ConfigureAwait(false);
        if (first is Goodbye early)
        {
            return FromGoodbye(early);
        }

        if (first is not AuthChallenge challenge)
        {
            throw Unexpected(first, "AuthChallenge");
        }

        if (challenge.Nonce.AsSpan().SequenceEqual(ownNonce))
        {
            throw new InterlinkProtocolException(InterlinkErrorKind.OutOfRange, "peer reflected this node's nonce");
        }

        bool authenticated;
        if (psk is not null)
        {
            if (challenge.Method != AuthMethod.HmacSha256Psk)
            {
                return Reject(InterlinkTrigger.AuthFailed, null, "peer has no key but this node requires one", Goodbye.Because(GoodbyeReason.AuthenticationRequired));
            }

            var peerRole = _role == LinkRole.Connector ? LinkRole.Acceptor : LinkRole.Connector;
            if (_role == LinkRole.Connector)
            {
                await WriteDirectAsync(new AuthResponse(InterlinkAuth.ComputeMac(psk, _role, ownNonce, challenge.Nonce)), cancellationToken).ConfigureAwait(false);
            }

            var reply = await ReadHandshakeMessageAsync(cancellationToken).ConfigureAwait(false);
            if (reply is Goodbye refused)
            {
                return FromGoodbye(refused);
            }

            if (reply is not AuthResponse response)
            {
                throw Unexpected(reply, "AuthResponse");
            }

            if (!InterlinkAuth.VerifyMac(psk, peerRole, challenge.Nonce, ownNonce, response.Mac))
            {
                return Reject(InterlinkTrigger.AuthFailed, null, "peer's pre-shared key differs (MAC mismatch)", Goodbye.Because(GoodbyeReason.AuthenticationFailed));
            }

            if (_role == LinkRole.Acceptor)
            {
                await WriteDirectAsync(new AuthResponse(InterlinkAuth.ComputeMac(psk, _role, ownNonce, challenge.Nonce)), cancellationToken).ConfigureAwait(false);
            }

            authenticated = true;
        }
        else
        {
            if (challenge.Method != AuthMethod.None)
            {
                return Reject(InterlinkTrigger.AuthFailed, null, "peer requires a pre-shared key but this node has none", Goodbye.Because(GoodbyeReason.NoKey));
            }

            authenticated = false;
        }

        _link.Transition(InterlinkTrigger.AuthSucceeded, InterlinkPhase.LoggingIn);
        var ownLogin = _options.ToLogin();
        await WriteDirectAsync(ownLogin, cancellationToken).ConfigureAwait(false);
        var next = await ReadHandshakeMessageAsync(cancellationToken).ConfigureAwait(false);
        if (next is Goodbye loginRefused)
        {
            return FromGoodbye(loginRefused);
        }

        if (next is not Login peerLogin)
        {
            throw Unexpected(next, "Login");
        }

        if (LoginCheck.Compare(ownLogin, peerLogin) is { } mismatch)
        {
            return Reject(LinkRejection.TriggerFor(mismatch.Field), mismatch, mismatch.ToString(), LoginCheck.ToGoodbye(mismatch));
        }

        _peerMaxFrameLength = (int)peerLogin.MaxFrameLength;
        PeerInfo = new InterlinkPeer(Id, peerLogin, authenticated);
        return null;
    }

    private ConnectionEnd Reject(InterlinkTrigger trigger, LoginMismatch? mismatch, string reason, Goodbye goodbye) =>
        new(trigger, reason, new LinkRejection(trigger, mismatch, reason, _time.GetUtcNow()), Goodbye: goodbye);

    /// <summary>The peer closed first with a Goodbye during the handshake.</summary>
    private ConnectionEnd FromGoodbye(Goodbye goodbye)
    {
        var text = string.IsNullOrEmpty(goodbye.Detail) ? goodbye.Reason.ToString() : $"{goodbye.Reason}: {goodbye.Detail}";
        switch (goodbye.Reason)
        {
            case GoodbyeReason.LoginMismatch:
                // The peer's own value is SenderValue; ours as it saw it is ReceiverValue.
                var mismatch = new LoginMismatch(goodbye.Field, goodbye.ReceiverValue, goodbye.SenderValue);
                var trigger = LinkRejection.TriggerFor(goodbye.Field);
                var rejection = new LinkRejection(trigger, mismatch, mismatch.ToString(), _time.GetUtcNow());
                return new ConnectionEnd(trigger, rejection.Reason, rejection);
            case GoodbyeReason.AuthenticationFailed or GoodbyeReason.AuthenticationRequired or GoodbyeReason.NoKey:
                var reason = "peer refused authentication: " + text;
                return new ConnectionEnd(InterlinkTrigger.AuthFailed, reason, new LinkRejection(InterlinkTrigger.AuthFailed, null, reason, _time.GetUtcNow()));
            default:
                return new ConnectionEnd(InterlinkTrigger.PeerClosed, "peer said goodbye: " + text);
        }
    }

    private static InterlinkProtocolException Unexpected(InterlinkMessage message, string expected) =>
        new(InterlinkErrorKind.Malformed, $"expected {expected}, got {message.GetType().Name}");

    private static string Clip(string text) =>
        new(text.Take(WireLimits.MaxGoodbyeTextLength).Select(c => c is >= ' ' and <= '~' ? c : '?').ToArray());

    [LoggerMessage(Level = LogLevel.Debug, Message = "Interlink connection {Id}: {Text}")]
    private static partial void LogDebug(ILogger logger, long id, string text);
}

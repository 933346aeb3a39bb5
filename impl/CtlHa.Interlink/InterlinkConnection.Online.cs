using System.Buffers;
using System.Threading.Channels;
using CtlHa.Core;
using CtlHa.Wire;
using Microsoft.Extensions.Logging;

namespace CtlHa.Interlink;

// PROTOCOL.md §4.5–§5: the Online loops. The send queue is bounded (back-pressure to SendAsync); the send loop
// is the only writer; heartbeats and SyncComplete are built by the send loop so their contents match what
// the peer has seen in order.
internal sealed partial class InterlinkConnection
{
    private const int HeartbeatMarker = 4;
    private const int SyncCompleteMarker = 14;
    private const int SentAtRing = 64;
    private const int BatchBytes = 256 * 1024;

    private readonly Channel<Outgoing> _sendQueue;
    private readonly OutputCork _cork = new();
    private readonly long[] _heartbeatSentAt = new long[SentAtRing];
    private long _lastReceived;
    private long _writeStartedAt;
    private long _heartbeatsSent;
    private long _heartbeatsEchoed;
    private long _lastPeerHeartbeat;
    private bool _syncCompleteSent;
    private bool _peerSyncComplete;
    private uint _txPorts, _txInitiators, _txLuns, _txModePages;
    private uint _rxPorts, _rxInitiators, _rxLuns, _rxModePages;

    /// <summary>An encoded frame, or a marker (Frame null) for a heartbeat or SyncComplete the send loop builds.</summary>
    private readonly record struct Outgoing(byte[]? Frame, int UnionKey)
    {
        public void Return()
        {
            // Frames are plain arrays today; the hook is where pooled buffers would go back.
        }
    }

    public ValueTask<bool> EnqueueAsync(InterlinkMessage message, CancellationToken cancellationToken)
    {
        if (message is AuthChallenge or AuthResponse or Login or Heartbeat or SyncComplete or Goodbye)
        {
            throw new InvalidOperationException($"the interlink sends {message.GetType().Name} itself");
        }

        if (Volatile.Read(ref _end) is not null)
        {
            return ValueTask.FromResult(false);
        }

        var frame = InterlinkFrame.Encode(message, _peerMaxFrameLength);
        var outgoing = new Outgoing(frame, InterlinkFrame.UnionKeyOf(message.GetType()));
        bool io = IsIoMessage(message);
        if (io)
        {
            OutputBurst.Touch(_cork);
        }

        if (!cancellationToken.IsCancellationRequested && _sendQueue.Writer.TryWrite(outgoing))
        {
            // The usual case: room in the queue, no cancellation registrations needed.
            if (!io)
            {
                _cork.Flush(); // state sync is not held back behind a burst of I/O
            }

            return ValueTask.FromResult(true);
        }

        return WaitAndEnqueueAsync(outgoing, cancellationToken);
    }

    /// <summary>Per-command messages, which a burst may hold back; everything else wakes the send loop at once.</summary>
    private static bool IsIoMessage(InterlinkMessage message) =>
        message is Serialize or ReadyToRun or SerializeFailed or FinishIo or DataMove or DataMoveDone;

    private async ValueTask<bool> WaitAndEnqueueAsync(Outgoing outgoing, CancellationToken cancellationToken)
    {
        _cork.Flush(); // a full queue: let the send loop drain it now
        if (Volatile.Read(ref _end) is not null)
        {
            return false;
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _cts.Token);
        try
        {
            await _sendQueue.Writer.WriteAsync(outgoing, linked.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
        catch (ChannelClosedException)
        {
            return false;
        }
    }

    /// <summary>Runs until the connection ends; returns the first end cause.</summary>
    public async Task<ConnectionEnd> RunOnlineAsync(IInterlinkHandler handler, CancellationToken cancellationToken)
    {
        _lastReceived = _time.GetTimestamp();
        using (cancellationToken.Register(() =>
        {
            var reconfiguring = _link.IsReconfiguring;
            Break(new ConnectionEnd(
                InterlinkTrigger.Shutdown,
                reconfiguring ? "peer setting reconfigured" : "node shutting down",
                Goodbye: Goodbye.Because(reconfiguring ? GoodbyeReason.Reconfigured : GoodbyeReason.Shutdown)));
        }))
        {
            var receive = DirectReceive.RunThread($"interlink-rx {Id}", () => ReceiveLoop(handler));
            var send = SendLoopAsync();
            var timer = TimerLoopAsync();
            var sync = SyncAsync(handler);
            await Task.WhenAll(receive, send, timer, sync).ConfigureAwait(false);
        }

        var end = Volatile.Read(ref _end)!;
        if (end.Goodbye is { } goodbye)
        {
            await TrySendGoodbyeAsync(goodbye).ConfigureAwait(false);
        }

        return end with { WasOnline = true };
    }

    private async Task SyncAsync(IInterlinkHandler handler)
    {
        try
        {
            await handler.OnLinkUpAsync(PeerInfo!, _cts.Token).ConfigureAwait(false);
            await _sendQueue.Writer.WriteAsync(new Outgoing(null, SyncCompleteMarker), _cts.Token).ConfigureAwait(false);
            _cork.Flush();
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException && _cts.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            InterlinkLink.LogHandlerFailed(_logger, ex);
            Break(new ConnectionEnd(InterlinkTrigger.ProtocolError, "state sync failed: " + ex.Message, Goodbye: Goodbye.Because(GoodbyeReason.ProtocolError, "state sync failed")));
        }
    }

    /// <summary>
    /// The receive loop, on a thread of its own (<see cref="DirectReceive"/>: one wake-up per read, none on other
    /// threads). Everything one read delivered is dispatched in one output burst.
    /// </summary>
    private void ReceiveLoop(IInterlinkHandler handler)
    {
        try
        {
            while (true)
            {
                var frames = _rx.Pending;
                var keepReading = DispatchFrames(ref frames, handler);
                _rx.Consume(frames.Length);
                if (!keepReading)
                {
                    return;
                }

                var n = _rx.Receive(_socket, _cts.Token);
                if (n < 0)
                {
                    return; // cancelled
                }

                if (n == 0)
                {
                    Break(_rx.Count == 0
                        ? new ConnectionEnd(InterlinkTrigger.PeerClosed, "peer closed the connection")
                        : new ConnectionEnd(InterlinkTrigger.ProtocolError, "Truncated: connection closed inside a frame"));
                    return;
                }
            }
        }
        catch (InterlinkProtocolException ex)
        {
            LogBadInput(_logger, Id, ex.Kind, ex.Message);
            Break(new ConnectionEnd(InterlinkTrigger.ProtocolError, $"{ex.Kind}: {ex.Message}", Goodbye: Goodbye.Because(GoodbyeReason.ProtocolError, Clip($"{ex.Kind}: {ex.Message}"))));
        }
        catch (OperationCanceledException) when (_cts.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (IsTransportEnd(ex))
        {
            Break(new ConnectionEnd(InterlinkTrigger.PeerClosed, ex.Message));
        }
        catch (Exception ex)
        {
            InterlinkLink.LogHandlerFailed(_logger, ex);
            Break(new ConnectionEnd(InterlinkTrigger.ProtocolError, "message handler failed: " + ex.Message, Goodbye: Goodbye.Because(GoodbyeReason.ProtocolError, "internal error")));
        }
    }

    /// <summary>Decodes and dispatches the whole frames at the front of <paramref name="frames"/> in one output burst.</summary>
    private bool DispatchFrames(ref ReadOnlySequence<byte> frames, IInterlinkHandler handler)
    {
        var burst = OutputBurst.Begin();
        try
        {
            while (InterlinkFrame.TryReadFrame(ref frames, _options.MaxFrameLength, out var message))
            {
                Volatile.Write(ref _lastReceived, _time.GetTimestamp());
                var dispatch = DispatchAsync(message, handler);
                bool keepReading;
                if (dispatch.IsCompletedSuccessfully)
                {
                    keepReading = dispatch.Result;
                }
                else
                {
                    burst.Dispose(); // a burst never spans a wait
                    burst = default;
                    keepReading = dispatch.AsTask().GetAwaiter().GetResult();
                    burst = OutputBurst.Begin();
                }

                if (!keepReading)
                {
                    return false;
                }
            }

            return true;
        }
        finally
        {
            burst.Dispose();
        }
    }


    /// <summary>Handles link-level messages; passes the rest to the HA layer. False = stop reading.</summary>
    private async ValueTask<bool> DispatchAsync(InterlinkMessage message, IInterlinkHandler handler)
    {
        switch (message)
        {
            case Heartbeat heartbeat:
                if (heartbeat.Sequence != (ulong)_lastPeerHeartbeat + 1)
                {
                    throw new InterlinkProtocolException(InterlinkErrorKind.OutOfRange, $"Heartbeat.Sequence {heartbeat.Sequence} after {_lastPeerHeartbeat}");
                }

                if (heartbeat.EchoSequence > (ulong)Volatile.Read(ref _heartbeatsSent))
                {
                    throw new InterlinkProtocolException(InterlinkErrorKind.OutOfRange, $"Heartbeat.EchoSequence {heartbeat.EchoSequence} exceeds the {Volatile.Read(ref _heartbeatsSent)} heartbeats sent");
                }

                Volatile.Write(ref _lastPeerHeartbeat, (long)heartbeat.Sequence);
                if ((long)heartbeat.EchoSequence > Volatile.Read(ref _heartbeatsEchoed))
                {
                    Volatile.Write(ref _heartbeatsEchoed, (long)heartbeat.EchoSequence);
                }

                return true;
            case Goodbye goodbye:
                Break(new ConnectionEnd(InterlinkTrigger.PeerClosed, "peer said goodbye: " + (goodbye.Detail.Length == 0 ? goodbye.Reason.ToString() : $"{goodbye.Reason}: {goodbye.Detail}")));
                return false;
            case AuthChallenge or AuthResponse or Login:
                throw new InterlinkProtocolException(InterlinkErrorKind.Malformed, $"{message.GetType().Name} after Login");
            case SyncComplete complete:
                if (_peerSyncComplete)
                {
                    throw new InterlinkProtocolException(InterlinkErrorKind.Malformed, "second SyncComplete");
                }

                if ((complete.PortCount, complete.InitiatorCount, complete.LunCount, complete.ModePageCount) != (_rxPorts, _rxInitiators, _rxLuns, _rxModePages))
                {
                    throw new InterlinkProtocolException(InterlinkErrorKind.OutOfRange,
                        $"SyncComplete counts ports/initiators/LUNs/pages {complete.PortCount}/{complete.InitiatorCount}/{complete.LunCount}/{complete.ModePageCount}, received {_rxPorts}/{_rxInitiators}/{_rxLuns}/{_rxModePages}");
                }

                _peerSyncComplete = true;
                break;
            case PortSync when !_peerSyncComplete:
                _rxPorts++;
                break;
            case InitiatorSync when !_peerSyncComplete:
                _rxInitiators++;
                break;
            case LunSync when !_peerSyncComplete:
                _rxLuns++;
                break;
            case ModeSync when !_peerSyncComplete:
                _rxModePages++;
                break;
        }

        await handler.OnMessageAsync(message, _cts.Token).ConfigureAwait(false);
        return true;
    }

    private async Task SendLoopAsync()
    {
        var batch = new ArrayBufferWriter<byte>(64 * 1024);
        var reader = _sendQueue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_cts.Token).ConfigureAwait(false))
            {
                // A burst of the receive loop (or an iSCSI read loop) still making messages: send them together.
                await _cork.WaitReleasedAsync().ConfigureAwait(false);
                while (batch.WrittenCount < BatchBytes && reader.TryRead(out var item))
                {
                    batch.Write(Materialize(item));
                    item.Return();
                }

                Volatile.Write(ref _writeStartedAt, _time.GetTimestamp());
                await _stream.WriteAsync(batch.WrittenMemory, _cts.Token).ConfigureAwait(false);
                Volatile.Write(ref _writeStartedAt, 0);
                batch.ResetWrittenCount();
                if (batch.Capacity > 4 * BatchBytes)
                {
                    batch = new ArrayBufferWriter<byte>(64 * 1024);
                }
            }
        }
        catch (OperationCanceledException) when (_cts.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (IsTransportEnd(ex))
        {
            Break(new ConnectionEnd(InterlinkTrigger.PeerClosed, ex.Message));
        }
    }

    private ReadOnlySpan<byte> Materialize(Outgoing item)
    {
        switch (item.UnionKey)
        {
            case HeartbeatMarker when item.Frame is null:
                var sequence = Volatile.Read(ref _heartbeatsSent) + 1;
                var now = _time.GetTimestamp();
                _heartbeatSentAt[sequence % SentAtRing] = now;
                var micros = (ulong)(_time.GetElapsedTime(0, now).Ticks / 10);
                var heartbeat = InterlinkFrame.Encode(new Heartbeat((ulong)sequence, micros, (ulong)Volatile.Read(ref _lastPeerHeartbeat)));
                Volatile.Write(ref _heartbeatsSent, sequence);
                return heartbeat;
            case SyncCompleteMarker when item.Frame is null:
                _syncCompleteSent = true;
                return InterlinkFrame.Encode(new SyncComplete(_txPorts, _txInitiators, _txLuns, _txModePages));
        }

        if (!_syncCompleteSent)
        {
            switch (item.UnionKey)
            {
                case 10: _txPorts++; break;
                case 11: _txInitiators++; break;
                case 12: _txLuns++; break;
                case 13: _txModePages++; break;
            }
        }

        return item.Frame;
    }

    private async Task TimerLoopAsync()
    {
        // Half a heartbeat interval (heartbeats leave on time) and an eighth of the dead-peer interval (a silent peer is
        // declared dead within 1.125 × DeadAfter).
        var tickTicks = Math.Max(TimeSpan.FromMilliseconds(10).Ticks, Math.Min(_options.HeartbeatInterval.Ticks / 2, _options.DeadAfter.Ticks / 8));
        var tick = TimeSpan.FromTicks(tickTicks);
        using var timer = new PeriodicTimer(tick, _time);
        long lastQueued = 0;
        try
        {
            do
            {
                var now = _time.GetTimestamp();
                if (CheckDeadPeer(now) is { } dead)
                {
                    LogDeadPeer(_logger, Id, dead);
                    Break(new ConnectionEnd(InterlinkTrigger.HeartbeatLost, dead, Goodbye: Goodbye.Because(GoodbyeReason.HeartbeatTimeout, Clip(dead))));
                    return;
                }

                if (lastQueued == 0 || _time.GetElapsedTime(lastQueued, now) + (tick / 2) >= _options.HeartbeatInterval)
                {
                    // A full queue means frames are flowing (or the write stall check will fire): skipping is safe.
                    if (_sendQueue.Writer.TryWrite(new Outgoing(null, HeartbeatMarker)))
                    {
                        lastQueued = now;
                        _cork.Flush(); // heartbeats never wait for a burst
                    }
                }
            }
            while (await timer.WaitForNextTickAsync(_cts.Token).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (_cts.IsCancellationRequested)
        {
        }
    }

    private string? CheckDeadPeer(long now)
    {
        var deadAfter = _options.DeadAfter;
        var silent = _time.GetElapsedTime(Volatile.Read(ref _lastReceived), now);
        if (silent > deadAfter)
        {
            return $"no frame from the peer for {silent.TotalMilliseconds:0} ms";
        }

        var writeStarted = Volatile.Read(ref _writeStartedAt);
        if (writeStarted != 0 && _time.GetElapsedTime(writeStarted, now) > deadAfter)
        {
            return $"peer stopped reading: a write made no progress for {_time.GetElapsedTime(writeStarted, now).TotalMilliseconds:0} ms";
        }

        var sent = Volatile.Read(ref _heartbeatsSent);
        var echoed = Volatile.Read(ref _heartbeatsEchoed);
        if (sent > echoed)
        {
            var oldest = echoed + 1;
            var age = _time.GetElapsedTime(_heartbeatSentAt[oldest % SentAtRing], now);
            if (sent - echoed >= SentAtRing || age > deadAfter)
            {
                return $"peer stopped reading: heartbeat {oldest} not echoed for {age.TotalMilliseconds:0} ms";
            }
        }

        return null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Interlink connection {Id}: bad input from the peer ({Kind}): {Reason}")]
    private static partial void LogBadInput(ILogger logger, long id, InterlinkErrorKind kind, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Interlink connection {Id}: peer is dead: {Reason}")]
    private static partial void LogDeadPeer(ILogger logger, long id, string reason);
}

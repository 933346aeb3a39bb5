using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Threading.Channels;
using CtlHa.Iscsi.Pdus;

namespace CtlHa.Iscsi;

/// <summary>How the writer fills the StatSN field (RFC 7143 §4.2.2.2).</summary>
internal enum StatSNMode : byte
{
    /// <summary>Reserved field (Data-In without status): zero.</summary>
    Reserved,

    /// <summary>Carries the next StatSN without consuming it (R2T, NOP-In ping, non-final login responses... ).</summary>
    Current,

    /// <summary>A status-bearing PDU: carries StatSN and advances it.</summary>
    Advance,
}

internal enum OutgoingAction : byte
{
    None,

    /// <summary>Final login response: digests apply to every PDU written after it.</summary>
    EnableDigests,

    /// <summary>Close the connection once this PDU is flushed (logout response, failed login).</summary>
    Close,
}

/// <summary>A PDU waiting for the writer. The writer stamps StatSN / ExpCmdSN / MaxCmdSN at write time so they go out in wire order.</summary>
internal struct OutgoingPdu
{
    public BhsBuffer Header;
    public ReadOnlyMemory<byte> Data;
    public StatSNMode StatSN;
    public OutgoingAction Action;
    public IscsiCommand? DataInNotify;

    /// <summary>A pooled copy <see cref="Data"/> points into; returned to the pool once the PDU is in the pipe (or dropped).</summary>
    public byte[]? Rented;
    public string? CloseReason;
}

internal sealed partial class IscsiConnection
{
    // Flush at least this often inside one batch so a burst of Data-In does not sit in memory.
    private const int FlushThreshold = 256 * 1024;

    private readonly PipeWriter _output;
    // Synchronous continuations: the thread that enqueues into an idle outbox runs the writer itself up to its next
    // pending await (a flush the socket cannot take at once), instead of waking a thread-pool thread per response. Safe
    // because the one reader never blocks: producers only TryWrite, and whoever finds the writer busy just queues.
    private readonly Channel<OutgoingPdu> _outbox = Channel.CreateUnbounded<OutgoingPdu>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false, AllowSynchronousContinuations = true });
    private uint _statSN;
    private bool _txHeaderDigest;
    private bool _txDataDigest;

    // Held while a burst (OutputBurst) of the read loop or the interlink makes more responses for this connection.
    private readonly CtlHa.Core.OutputCork _cork = new();

    private void Enqueue(ref OutgoingPdu pdu)
    {
        CtlHa.Core.OutputBurst.Touch(_cork);
        if (!_outbox.Writer.TryWrite(pdu))
        {
            pdu.DataInNotify?.Fail(new OperationCanceledException("connection closed"));
            // A rented copy is left to the GC here: earlier PDUs of the same call may still be in the outbox.
        }
    }

    private void EnqueueReject(RejectReason reason, BhsBuffer offending)
    {
        var pdu = new OutgoingPdu { StatSN = StatSNMode.Advance };
        new RejectPdu(reason).Write(pdu.Header);
        byte[] data = new byte[Bhs.Length];
        ((ReadOnlySpan<byte>)offending).CopyTo(data);
        pdu.Data = data;
        Enqueue(ref pdu);
    }

    /// <summary>The one writer: drains the outbox, writes PDUs into the pipe, flushes once per batch.</summary>
    private async Task WriteLoopAsync()
    {
        ChannelReader<OutgoingPdu> reader = _outbox.Reader;
        var flushed = new List<IscsiCommand>();
        string? closeReason = null;
        try
        {
            while (closeReason is null && await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                // A burst still making responses: write them all in one go when it ends.
                await _cork.WaitReleasedAsync().ConfigureAwait(false);
                long unflushed = 0;
                while (closeReason is null && reader.TryRead(out OutgoingPdu pdu))
                {
                    unflushed += WritePdu(ref pdu);
                    ReturnRented(ref pdu); // the pipe holds a copy now
                    if (pdu.DataInNotify is { } command)
                    {
                        flushed.Add(command);
                    }
                    if (pdu.Action == OutgoingAction.Close)
                    {
                        closeReason = pdu.CloseReason ?? "closed";
                    }
                    if (unflushed >= FlushThreshold)
                    {
                        await FlushAsync(flushed).ConfigureAwait(false);
                        unflushed = 0;
                    }
                }
                await FlushAsync(flushed).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            Break(new ConnectionEndedException("send failed: " + ex.Message, ex));
        }
        catch (Exception ex)
        {
            Break(ex);
        }
        finally
        {
            var gone = new OperationCanceledException("connection closed");
            foreach (IscsiCommand command in flushed)
            {
                command.Fail(gone);
            }
            if (closeReason is not null)
            {
                CloseGracefully(closeReason);
            }
            DrainOutbox();
            await _output.CompleteAsync().ConfigureAwait(false);
        }
    }

    private async ValueTask FlushAsync(List<IscsiCommand> flushed)
    {
        FlushResult result = await _output.FlushAsync().ConfigureAwait(false);
        foreach (IscsiCommand command in flushed)
        {
            command.OnDataInFlushed();
        }
        flushed.Clear();
        if (result.IsCanceled || result.IsCompleted)
        {
            throw new ConnectionEndedException("output closed");
        }
    }

    private void DrainOutbox()
    {
        while (_outbox.Reader.TryRead(out OutgoingPdu pdu))
        {
            pdu.DataInNotify?.Fail(new OperationCanceledException("connection closed"));
            ReturnRented(ref pdu);
        }
    }

    private static void ReturnRented(ref OutgoingPdu pdu)
    {
        if (pdu.Rented is { } rented)
        {
            pdu.Rented = null;
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>RFC 7143 §11.2: BHS | HeaderDigest? | Data | pad | DataDigest?; returns the bytes written.</summary>
    private int WritePdu(ref OutgoingPdu pdu)
    {
        Span<byte> header = pdu.Header;
        switch (pdu.StatSN)
        {
            case StatSNMode.Advance:
                Bhs.WriteUInt32(header, Bhs.StatSNOffset, _statSN);
                _statSN = unchecked(_statSN + 1);
                break;
            case StatSNMode.Current:
                Bhs.WriteUInt32(header, Bhs.StatSNOffset, _statSN);
                break;
        }
        if (Session is { } session)
        {
            Bhs.WriteUInt32(header, Bhs.ExpCmdSNOffset, session.ExpCmdSN);
            Bhs.WriteUInt32(header, Bhs.MaxCmdSNOffset, session.MaxCmdSN);
        }

        int headerDigest = _txHeaderDigest ? PduReader.DigestLength : 0;
        Span<byte> span = _output.GetSpan(Bhs.Length + headerDigest);
        header.CopyTo(span);
        if (headerDigest != 0)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(span[Bhs.Length..], Crc32C.Compute(header));
        }
        _output.Advance(Bhs.Length + headerDigest);

        int length = pdu.Data.Length;
        int total = Bhs.Length + headerDigest;
        if (length > 0)
        {
            ReadOnlySpan<byte> data = pdu.Data.Span;
            _output.Write(data);
            int pad = Bhs.Padded(length) - length;
            Span<byte> tail = _output.GetSpan(8);
            tail[..pad].Clear();
            int tailLength = pad;
            if (_txDataDigest)
            {
                uint crc = Crc32C.Append(Crc32C.Seed, data);
                crc = Crc32C.Append(crc, tail[..pad]);
                BinaryPrimitives.WriteUInt32LittleEndian(tail[pad..], Crc32C.Finish(crc));
                tailLength += PduReader.DigestLength;
            }
            _output.Advance(tailLength);
            total += length + tailLength;
        }

        if (pdu.Action == OutgoingAction.EnableDigests && Session is { } s)
        {
            _txHeaderDigest = s.Parameters.HeaderDigest;
            _txDataDigest = s.Parameters.DataDigest;
        }
        return total;
    }
}

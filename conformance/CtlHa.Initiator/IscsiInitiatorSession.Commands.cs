using System.Buffers.Binary;
using CtlHa.Initiator.Pdus;
using CtlHa.Initiator.Scsi;

namespace CtlHa.Initiator;

public sealed partial class IscsiInitiatorSession
{
    /// <summary>CDBs longer than 16 bytes go in an Extended CDB AHS (RFC 7143 §11.2.2.3); AHS total is at most 1020 bytes.</summary>
    public const int MaxCdbLength = 16 + 1020 - 4;

    private const byte AhsTypeExtendedCdb = 0x01;

    /// <summary>Runs one SCSI command on LUN number <paramref name="lun"/> (encoded per SAM-5 §4.7).</summary>
    public Task<ScsiResponse> ExecuteAsync(int lun, ReadOnlyMemory<byte> cdb, ReadOnlyMemory<byte> dataOut, int expectedDataIn,
        TaskAttribute attribute, CancellationToken cancellationToken) =>
        ExecuteAsync(ScsiLun.Encode(lun), cdb, dataOut, expectedDataIn, attribute, cancellationToken);

    /// <summary>Runs one SCSI command; <paramref name="lunField"/> is the raw 8-byte LUN field of the BHS.</summary>
    public Task<ScsiResponse> ExecuteAsync(ulong lunField, ReadOnlyMemory<byte> cdb, ReadOnlyMemory<byte> dataOut, int expectedDataIn,
        TaskAttribute attribute, CancellationToken cancellationToken) =>
        Begin(lunField, cdb, dataOut, expectedDataIn, attribute, cancellationToken).Response;

    public RunningCommand Begin(int lun, ReadOnlyMemory<byte> cdb, ReadOnlyMemory<byte> dataOut, int expectedDataIn,
        TaskAttribute attribute, CancellationToken cancellationToken) =>
        Begin(ScsiLun.Encode(lun), cdb, dataOut, expectedDataIn, attribute, cancellationToken);

    /// <summary>
    /// Starts one SCSI command and returns its tag at once, so a caller can abort it while it runs.
    /// Writes carry immediate data and unsolicited Data-Out up to FirstBurstLength as negotiated, the rest on R2T.
    /// Bidirectional commands are not supported (a dataOut and an expectedDataIn both non-zero).
    /// </summary>
    public RunningCommand Begin(ulong lunField, ReadOnlyMemory<byte> cdb, ReadOnlyMemory<byte> dataOut, int expectedDataIn,
        TaskAttribute attribute, CancellationToken cancellationToken)
    {
        if (cdb.Length is 0 or > MaxCdbLength)
        {
            throw new ArgumentException($"CDB length {cdb.Length} is outside 1..{MaxCdbLength}.", nameof(cdb));
        }

        if (dataOut.Length > 0 && expectedDataIn > 0)
        {
            throw new NotSupportedException("Bidirectional commands are not supported.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(expectedDataIn);
        var itt = NextItt();
        var command = new PendingCommand(itt, lunField, expectedDataIn > 0 ? new byte[expectedDataIn] : [], dataOut);
        return new RunningCommand(itt, lunField, RunAsync(command, cdb, attribute, cancellationToken));
    }

    private async Task<ScsiResponse> RunAsync(PendingCommand command, ReadOnlyMemory<byte> cdb, TaskAttribute attribute, CancellationToken cancellationToken)
    {
        ThrowIfNotUsable();
        using var deadline = Deadline(cancellationToken, _options.CommandTimeout);
        var parameters = Parameters;
        var write = command.DataOut.Length > 0;
        var read = command.DataIn.Length > 0;

        // RFC 7143 §4.2.5.2: unsolicited data (immediate + Data-Out with TTT=FFFFFFFFh) stops at FirstBurstLength.
        var immediate = 0;
        var unsolicited = 0;
        if (write)
        {
            var firstBurst = Math.Min(parameters.FirstBurstLength, command.DataOut.Length);
            immediate = parameters.ImmediateData ? Math.Min(firstBurst, parameters.TargetMaxRecvDataSegmentLength) : 0;
            unsolicited = parameters.InitialR2T ? immediate : firstBurst;
        }

        var dataOutFollows = unsolicited > immediate;
        var pdu = BuildScsiCommand(command, cdb, attribute, read, write, final: !dataOutFollows, immediate);

        var unsolicitedSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        command.OutChain = unsolicitedSent.Task;
        _pending[command.Itt] = command;
        var sent = false;
        try
        {
            await SendWithinWindowAsync(pdu, deadline.Token);
            sent = true;
            command.CmdSN = pdu.CmdSN;
            if (dataOutFollows)
            {
                await SendDataOutBurstAsync(command, IscsiPdu.ReservedTag, immediate, unsolicited - immediate, deadline.Token);
            }

            unsolicitedSent.TrySetResult();
            return await command.Completion.WaitAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The tag stays registered after a send so a late answer is absorbed, not taken for a protocol error.
            throw new IscsiTimeoutException($"SCSI command 0x{cdb.Span[0]:X2} (ITT 0x{command.Itt:X8}) got no status within {_options.CommandTimeout}.");
        }
        finally
        {
            unsolicitedSent.TrySetResult();
            if (!sent)
            {
                _pending.TryRemove(command.Itt, out _);
            }
        }
    }

    /// <summary>
    /// SCSI Command PDU, RFC 7143 §11.3: byte1 F(0x80) R(0x40) W(0x20) ATTR(0x07); 8 LUN; 16 ITT;
    /// 20 ExpectedDataTransferLength; 24 CmdSN; 28 ExpStatSN; 32-47 CDB (overflow in an Extended CDB AHS).
    /// </summary>
    private static IscsiPdu BuildScsiCommand(PendingCommand command, ReadOnlyMemory<byte> cdb, TaskAttribute attribute,
        bool read, bool write, bool final, int immediate)
    {
        var pdu = new IscsiPdu(IscsiOpcode.ScsiCommand)
        {
            Flags = (byte)((final ? 0x80 : 0) | (read ? 0x40 : 0) | (write ? 0x20 : 0) | ((byte)attribute & 0x07)),
            Lun = command.Lun,
            InitiatorTaskTag = command.Itt,
            Dword20 = (uint)(write ? command.DataOut.Length : command.DataIn.Length),
            Data = command.DataOut[..immediate],
        };
        cdb.Span[..Math.Min(16, cdb.Length)].CopyTo(pdu.Bhs.AsSpan(32));
        if (cdb.Length > 16)
        {
            // AHS: 2-byte AHSLength (bytes after the type byte, incl. reserved), type, reserved, CDB bytes 16.., padded.
            var extra = cdb.Length - 16;
            var ahs = new byte[PduFramer.PaddedLength(4 + extra)];
            BinaryPrimitives.WriteUInt16BigEndian(ahs, (ushort)(extra + 1));
            ahs[2] = AhsTypeExtendedCdb;
            cdb.Span[16..].CopyTo(ahs.AsSpan(4));
            pdu.Ahs = ahs;
        }

        return pdu;
    }

    /// <summary>
    /// One Data-Out sequence, RFC 7143 §11.7: byte1 F on the last PDU; 8 LUN; 16 ITT; 20 TTT (FFFFFFFFh when
    /// unsolicited); 28 ExpStatSN; 36 DataSN (from 0 per sequence); 40 BufferOffset. Segments stay at or under the
    /// target's MaxRecvDataSegmentLength.
    /// </summary>
    private async Task SendDataOutBurstAsync(PendingCommand command, uint ttt, int offset, int length, CancellationToken cancellationToken)
    {
        var segment = Math.Max(1, Parameters.TargetMaxRecvDataSegmentLength);
        uint dataSN = 0;
        var end = offset + length;
        while (offset < end)
        {
            var size = Math.Min(segment, end - offset);
            var pdu = new IscsiPdu(IscsiOpcode.ScsiDataOut)
            {
                Final = offset + size == end,
                Lun = command.Lun,
                InitiatorTaskTag = command.Itt,
                TargetTransferTag = ttt,
                Dword36 = dataSN++,
                Dword40 = (uint)offset,
                Data = command.DataOut.Slice(offset, size),
            };
            await _connection.SendAsync(pdu, p =>
            {
                lock (_sn)
                {
                    p.ExpStatSN = _expStatSN;
                }
            }, cancellationToken);
            offset += size;
        }
    }

    /// <summary>Answers one R2T after the command's earlier bursts; a failure here breaks the session (ERL 0).</summary>
    private async Task SendSolicitedAsync(Task previous, PendingCommand command, uint ttt, int offset, int length)
    {
        try
        {
            await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (command.Completion.IsCompleted)
            {
                return;
            }

            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_lifetime.Token);
            deadline.CancelAfter(_options.CommandTimeout);
            await SendDataOutBurstAsync(command, ttt, offset, length, deadline.Token);
        }
        catch (Exception ex) when (ex is IscsiException or OperationCanceledException or ObjectDisposedException)
        {
            Break(ex as IscsiException ?? new IscsiConnectionLostException("Data-Out for an R2T could not be sent.", ex));
        }
    }
}

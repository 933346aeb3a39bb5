using System.Buffers.Binary;
using CtlHa.Initiator.Pdus;
using CtlHa.Initiator.Scsi;

namespace CtlHa.Initiator;

public sealed partial class IscsiInitiatorSession
{
    // Data-In and SCSI Response flag bits, RFC 7143 §11.4.1 and §11.7.
    private const byte FlagStatus = 0x01;
    private const byte FlagUnderflow = 0x02;
    private const byte FlagOverflow = 0x04;

    private async Task DispatchLoopAsync()
    {
        var token = _lifetime.Token;
        try
        {
            while (true)
            {
                var pdu = await _connection.ReceiveAsync(token);
                Dispatch(pdu);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Session closed locally.
        }
        catch (Exception ex)
        {
            Break(ex);
        }
    }

    /// <summary>One switch over every target opcode of the full feature phase; anything else is a protocol error.</summary>
    private void Dispatch(IscsiPdu pdu)
    {
        UpdateSequenceNumbers(pdu);
        switch (pdu.Opcode)
        {
            case IscsiOpcode.ScsiDataIn:
                OnDataIn(pdu);
                break;
            case IscsiOpcode.ScsiResponse:
                OnScsiResponse(pdu);
                break;
            case IscsiOpcode.ReadyToTransfer:
                OnReadyToTransfer(pdu);
                break;
            case IscsiOpcode.NopIn:
                OnNopIn(pdu);
                break;
            case IscsiOpcode.TaskManagementResponse or IscsiOpcode.LogoutResponse or IscsiOpcode.TextResponse:
                OnSinglePduResponse(pdu);
                break;
            case IscsiOpcode.AsyncMessage:
                OnAsyncMessage(pdu);
                break;
            case IscsiOpcode.Reject:
                OnReject(pdu);
                break;
            default:
                throw new IscsiProtocolException($"Unexpected {pdu.Opcode} (0x{(byte)pdu.Opcode:X2}) in full feature phase.");
        }
    }

    /// <summary>ExpStatSN follows StatSN (RFC 7143 §4.2.2.2); ExpCmdSN/MaxCmdSN only move forward and are ignored when MaxCmdSN &lt; ExpCmdSN - 1 (§4.2.2.1).</summary>
    private void UpdateSequenceNumbers(IscsiPdu pdu)
    {
        var windowMoved = false;
        lock (_sn)
        {
            if (pdu.CarriesStatSN)
            {
                var next = pdu.StatSN + 1;
                if (Serial.Greater(next, _expStatSN))
                {
                    _expStatSN = next;
                }
            }

            if (pdu.CarriesCmdSNWindow)
            {
                var expCmdSN = pdu.ExpCmdSN;
                var maxCmdSN = pdu.MaxCmdSN;
                if (!Serial.Less(maxCmdSN, expCmdSN - 1))
                {
                    if (Serial.Greater(expCmdSN, _expCmdSN))
                    {
                        _expCmdSN = expCmdSN;
                    }

                    if (Serial.Greater(maxCmdSN, _maxCmdSN))
                    {
                        _maxCmdSN = maxCmdSN;
                        windowMoved = true;
                    }
                }
            }
        }

        if (windowMoved)
        {
            SignalWindow();
        }
    }

    private PendingCommand FindCommand(IscsiPdu pdu)
    {
        if (_pending.TryGetValue(pdu.InitiatorTaskTag, out var task) && task is PendingCommand command)
        {
            return command;
        }

        throw new IscsiProtocolException($"{pdu.Opcode} for unknown ITT 0x{pdu.InitiatorTaskTag:X8}.");
    }

    /// <summary>Data-In, RFC 7143 §11.7: 40 BufferOffset; with S set, byte3 Status and 44 ResidualCount (status collapse).</summary>
    private void OnDataIn(IscsiPdu pdu)
    {
        var command = FindCommand(pdu);
        var offset = pdu.Dword40;
        var length = pdu.Data.Length;
        if (offset > (uint)command.DataIn.Length || length > command.DataIn.Length - (int)offset)
        {
            throw new IscsiProtocolException(
                $"Data-In at offset {offset} length {length} runs past the expected {command.DataIn.Length} bytes (ITT 0x{command.Itt:X8}).");
        }

        pdu.Data.Span.CopyTo(command.DataIn.AsSpan((int)offset));
        command.DataInLength = Math.Max(command.DataInLength, (int)offset + length);
        if ((pdu.Flags & FlagStatus) != 0)
        {
            Complete(command, (ScsiStatus)pdu.Byte3, ReadOnlyMemory<byte>.Empty, pdu.Flags, pdu.Dword44, response: 0);
        }
    }

    /// <summary>SCSI Response, RFC 7143 §11.4: byte2 Response, byte3 Status, 44 ResidualCount; data = SenseLength(2) + sense.</summary>
    private void OnScsiResponse(IscsiPdu pdu)
    {
        var command = FindCommand(pdu);
        var sense = ReadOnlyMemory<byte>.Empty;
        if (pdu.Data.Length >= 2)
        {
            var senseLength = BinaryPrimitives.ReadUInt16BigEndian(pdu.Data.Span);
            if (senseLength > pdu.Data.Length - 2)
            {
                throw new IscsiProtocolException($"SenseLength {senseLength} exceeds the {pdu.Data.Length - 2} bytes sent.");
            }

            sense = pdu.Data.Slice(2, senseLength);
        }

        Complete(command, (ScsiStatus)pdu.Byte3, sense, pdu.Flags, pdu.Dword44, pdu.Byte2);
    }

    private void Complete(PendingCommand command, ScsiStatus status, ReadOnlyMemory<byte> sense, byte flags, uint residual, byte response)
    {
        _pending.TryRemove(command.Itt, out _);
        var overflow = (flags & FlagOverflow) != 0;
        var underflow = (flags & FlagUnderflow) != 0;
        command.Complete(new ScsiResponse(
            status,
            sense,
            command.DataIn.AsMemory(0, command.DataInLength),
            overflow,
            underflow,
            overflow || underflow ? residual : 0,
            response));
    }

    /// <summary>R2T, RFC 7143 §11.8: 20 TTT, 36 R2TSN, 40 BufferOffset, 44 DesiredDataTransferLength.</summary>
    private void OnReadyToTransfer(IscsiPdu pdu)
    {
        var command = FindCommand(pdu);
        var offset = pdu.Dword40;
        var length = pdu.Dword44;
        if (length == 0 || length > (uint)Parameters.MaxBurstLength || offset > (uint)command.DataOut.Length
            || length > (uint)command.DataOut.Length - offset)
        {
            throw new IscsiProtocolException(
                $"R2T offset {offset} length {length} is outside the {command.DataOut.Length}-byte write or over MaxBurstLength {Parameters.MaxBurstLength}.");
        }

        command.OutChain = SendSolicitedAsync(command.OutChain, command, pdu.TargetTransferTag, (int)offset, (int)length);
    }

    /// <summary>NOP-In, RFC 7143 §11.19: an answer to our ping (ITT set) and/or a ping from the target (TTT set) to echo.</summary>
    private void OnNopIn(IscsiPdu pdu)
    {
        if (pdu.InitiatorTaskTag != IscsiPdu.ReservedTag)
        {
            OnSinglePduResponse(pdu);
        }

        if (pdu.TargetTransferTag != IscsiPdu.ReservedTag)
        {
            var reply = new IscsiPdu(IscsiOpcode.NopOut, immediate: true)
            {
                Final = true,
                Lun = pdu.Lun,
                InitiatorTaskTag = IscsiPdu.ReservedTag,
                TargetTransferTag = pdu.TargetTransferTag,
                Data = pdu.Data,
            };
            _ = AnswerNopInAsync(reply);
        }
    }

    private async Task AnswerNopInAsync(IscsiPdu reply)
    {
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_lifetime.Token);
            deadline.CancelAfter(_options.CommandTimeout);
            await _connection.SendAsync(reply, p =>
            {
                lock (_sn)
                {
                    p.CmdSN = _cmdSN;
                    p.ExpStatSN = _expStatSN;
                }
            }, deadline.Token);
            Interlocked.Increment(ref _targetPingsAnswered);
        }
        catch (Exception ex) when (ex is IscsiException or OperationCanceledException or ObjectDisposedException)
        {
            Break(ex as IscsiException ?? new IscsiConnectionLostException("NOP-Out answer could not be sent.", ex));
        }
    }

    private void OnSinglePduResponse(IscsiPdu pdu)
    {
        if (_pending.TryGetValue(pdu.InitiatorTaskTag, out var task) && task is PendingPdu waiter && waiter.ExpectedOpcode == pdu.Opcode)
        {
            _pending.TryRemove(pdu.InitiatorTaskTag, out _);
            waiter.Complete(pdu);
            return;
        }

        throw new IscsiProtocolException($"{pdu.Opcode} for unknown ITT 0x{pdu.InitiatorTaskTag:X8}.");
    }

    /// <summary>Async Message, RFC 7143 §11.9: 8 LUN; 36 AsyncEvent; 37 AsyncVCode; 38/40/42 Parameter1-3; data = SenseLength + sense.</summary>
    private void OnAsyncMessage(IscsiPdu pdu)
    {
        var sense = ReadOnlyMemory<byte>.Empty;
        if (pdu.Data.Length >= 2)
        {
            var senseLength = Math.Min(BinaryPrimitives.ReadUInt16BigEndian(pdu.Data.Span), pdu.Data.Length - 2);
            sense = pdu.Data.Slice(2, senseLength);
        }

        var message = new AsyncMessageEvent(pdu.Bhs[36], pdu.Bhs[37], pdu.Lun, pdu.GetUInt16(38), pdu.GetUInt16(40), pdu.GetUInt16(42), sense);
        Log.AsyncMessage(_logger, message.AsyncEvent, message.AsyncVCode);
        _asyncMessages.Writer.TryWrite(message);
    }

    /// <summary>Reject, RFC 7143 §11.17: byte2 Reason; data = the rejected PDU's header, whose ITT names the failed task.</summary>
    private void OnReject(IscsiPdu pdu)
    {
        var reason = pdu.Byte2;
        var itt = pdu.Data.Length >= IscsiPdu.BhsLength ? BinaryPrimitives.ReadUInt32BigEndian(pdu.Data.Span[16..]) : IscsiPdu.ReservedTag;
        Log.Rejected(_logger, reason, itt);
        if (itt != IscsiPdu.ReservedTag && _pending.TryRemove(itt, out var task))
        {
            task.Fail(new IscsiRejectException(reason));
        }
    }
}

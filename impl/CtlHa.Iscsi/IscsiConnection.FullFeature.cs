using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using CtlHa.Core;
using CtlHa.Iscsi.Negotiation;
using CtlHa.Iscsi.Pdus;

namespace CtlHa.Iscsi;

internal sealed partial class IscsiConnection
{
    private readonly Lock _commandsLock = new();
    private readonly Dictionary<uint, IscsiCommand> _commands = [];
    private uint _nextTargetTransferTag;
    private volatile bool _pingOutstanding;
    private long _pingSentTicks;
    private uint _pingTag;
    private byte[]? _pendingText;
    private uint _pendingTextTag;

    /// <summary>The one full-feature dispatch (RFC 7143 §11); unknown opcodes are rejected.</summary>
    private void DispatchFullFeature(in IscsiFrame frame)
    {
        if (State == ConnectionState.LoggingOut && frame.Opcode is not (IscsiOpcode.DataOut or IscsiOpcode.NopOut))
        {
            throw new IscsiProtocolException(RejectReason.WaitingForLogout, $"{frame.Opcode} after Logout", frame.HeaderCopy, fatal: false);
        }
        switch (frame.Opcode)
        {
            case IscsiOpcode.ScsiCommand:
                HandleScsiCommand(frame);
                break;
            case IscsiOpcode.DataOut:
                HandleDataOut(frame);
                break;
            case IscsiOpcode.NopOut:
                HandleNopOut(frame);
                break;
            case IscsiOpcode.TaskManagementRequest:
                HandleTaskManagement(frame);
                break;
            case IscsiOpcode.TextRequest:
                HandleText(frame);
                break;
            case IscsiOpcode.LogoutRequest:
                HandleLogout(frame);
                break;
            case IscsiOpcode.LoginRequest:
                throw new IscsiProtocolException(RejectReason.ProtocolError, "Login Request in full feature phase", frame.HeaderCopy, fatal: false);
            case IscsiOpcode.Snack:
                // ErrorRecoveryLevel=0: no SNACK support (RFC 7143 §11.16).
                throw new IscsiProtocolException(RejectReason.CommandNotSupported, "SNACK at ErrorRecoveryLevel 0", frame.HeaderCopy, fatal: false);
            default:
                throw new IscsiProtocolException(RejectReason.CommandNotSupported, $"unsupported opcode 0x{(byte)frame.Opcode:x2}", frame.HeaderCopy, fatal: false);
        }
    }

    private bool AcceptCmdSN(in IscsiFrame frame, uint cmdSN, bool occupiesSlot)
    {
        IscsiSession session = Session!;
        if (session.TryAcceptCmdSN(cmdSN, frame.IsImmediate, occupiesSlot))
        {
            return true;
        }
        // RFC 7143 §4.2.2.1: outside the window, silently ignore.
        Log.CmdSNDropped(_logger, Id, frame.Opcode, cmdSN, session.ExpCmdSN, session.MaxCmdSN);
        return false;
    }

    // ---- SCSI Command (RFC 7143 §11.3) ----

    private void HandleScsiCommand(in IscsiFrame frame)
    {
        IscsiSession session = Session!;
        ScsiCommandPdu pdu = ScsiCommandPdu.Parse(frame.Header);
        if (session.Type != SessionType.Normal)
        {
            throw new IscsiProtocolException(RejectReason.ProtocolError, "SCSI Command in a discovery session", frame.HeaderCopy, fatal: false);
        }
        if (!AcceptCmdSN(frame, pdu.CmdSN, occupiesSlot: true))
        {
            return;
        }

        byte[] cdb = ReadCdb(frame, out string? cdbError);
        NegotiatedParameters p = session.Parameters;
        int immediateLength = (int)frame.Data.Length;
        string? violation = cdbError;
        if (violation is null && immediateLength > 0)
        {
            if (!pdu.Write)
            {
                violation = "immediate data on a command without the W bit";
            }
            else if (!p.ImmediateData)
            {
                violation = "immediate data with ImmediateData=No";
            }
            else if (immediateLength > p.FirstBurstLength)
            {
                violation = $"immediate data {immediateLength} exceeds FirstBurstLength {p.FirstBurstLength}";
            }
        }
        if (violation is not null)
        {
            if (!frame.IsImmediate)
            {
                session.ReleaseSlot();
            }
            throw new IscsiProtocolException(RejectReason.ProtocolError, violation, frame.HeaderCopy, fatal: false);
        }

        var command = new IscsiCommand(this, pdu.Lun, pdu.InitiatorTaskTag, pdu.ExpectedDataTransferLength, pdu.Direction, pdu.CmdSN)
        {
            HoldsSlot = !frame.IsImmediate,
        };
        command.Task = new ScsiTask
        {
            Nexus = session.Nexus!,
            Lun = pdu.Lun,
            Cdb = cdb,
            Tag = pdu.InitiatorTaskTag,
            Attribute = pdu.Attribute,
            ExpectedDataTransferLength = pdu.ExpectedDataTransferLength,
            Direction = pdu.Direction,
            Channel = command,
        };
        lock (_commandsLock)
        {
            if (!_commands.TryAdd(pdu.InitiatorTaskTag, command))
            {
                ReleaseSlot(command);
                command.Complete();
                throw new IscsiProtocolException(RejectReason.TaskInProgress, $"Initiator Task Tag 0x{pdu.InitiatorTaskTag:x8} already in use", frame.HeaderCopy, fatal: false);
            }
        }

        if (pdu.Write && pdu.ExpectedDataTransferLength > (uint)_options.MaxWriteTransferLength)
        {
            // The frontend stages write data; refuse transfers it will not buffer (INVALID FIELD IN CDB).
            command.TryFinish();
            ForgetCommand(command);
            ReleaseSlot(command);
            command.Complete();
            SendResponse(command, ScsiOutcome.Check(new Sense(SenseKey.IllegalRequest, 0x24, 0x00)));
            return;
        }

        if (command.WriteLength > 0)
        {
            if (immediateLength > 0)
            {
                command.AcceptData(0, frame.Data);
            }
            // RFC 7143 §4.2.5.1 / §13.10, §13.11: unsolicited Data-Out follows unless F is set (or InitialR2T=Yes).
            int unsolicited = pdu.Final || p.InitialR2T ? immediateLength : Math.Min(p.FirstBurstLength, command.WriteLength);
            command.UnsolicitedEnd = Math.Min(Math.Max(unsolicited, immediateLength), command.WriteLength);
            command.NextR2TOffset = command.UnsolicitedEnd;
            command.TargetTransferTag = NextTargetTransferTag();
            // No R2T yet: StartSoliciting runs when the executor first asks for data past the unsolicited burst.
        }
        _ = ExecuteAsync(command);
    }

    /// <summary>CDB: BHS bytes 32..47, extended by an Extended CDB AHS (RFC 7143 §11.2.2.3, type 1).</summary>
    private static byte[] ReadCdb(in IscsiFrame frame, out string? error)
    {
        error = null;
        ReadOnlySpan<byte> header = frame.Header;
        if (frame.Ahs.IsEmpty)
        {
            return header.Slice(ScsiCommandPdu.CdbOffset, ScsiCommandPdu.CdbLength).ToArray();
        }
        byte[] ahs = frame.Ahs.ToArray();
        byte[]? extended = null;
        int pos = 0;
        while (pos + 4 <= ahs.Length)
        {
            int length = BinaryPrimitives.ReadUInt16BigEndian(ahs.AsSpan(pos));
            byte type = ahs[pos + 2];
            if (pos + 3 + length > ahs.Length || length == 0)
            {
                error = "malformed AHS";
                break;
            }
            if (type == ScsiCommandPdu.ExtendedCdbAhsType)
            {
                // AHSLength counts the reserved byte plus the CDB bytes beyond the first 16.
                extended = new byte[ScsiCommandPdu.CdbLength + length - 1];
                header.Slice(ScsiCommandPdu.CdbOffset, ScsiCommandPdu.CdbLength).CopyTo(extended);
                ahs.AsSpan(pos + 4, length - 1).CopyTo(extended.AsSpan(ScsiCommandPdu.CdbLength));
            }
            pos += 3 + length;
            pos = Bhs.Padded(pos);
        }
        return extended ?? header.Slice(ScsiCommandPdu.CdbOffset, ScsiCommandPdu.CdbLength).ToArray();
    }

    private uint NextTargetTransferTag()
    {
        uint tag = unchecked(++_nextTargetTransferTag);
        if (tag == Bhs.ReservedTag)
        {
            tag = unchecked(++_nextTargetTransferTag);
        }
        return tag;
    }

    /// <summary>
    /// The executor wants data past the unsolicited burst: solicit the rest of the transfer now (all of it, so a large write
    /// costs one round trip per MaxOutstandingR2T bursts, not one per executor request). Executor side; once per command.
    /// </summary>
    internal void StartSoliciting(IscsiCommand command)
    {
        lock (command.R2TGate)
        {
            if (command.Soliciting || command.IsFailed || State is not (ConnectionState.FullFeature or ConnectionState.LoggingOut))
            {
                return;
            }
            command.Soliciting = true;
            IssueR2Ts(command);
        }
    }

    /// <summary>
    /// RFC 7143 §11.8: solicit the rest of the data, MaxBurstLength per R2T, at most MaxOutstandingR2T at once.
    /// Caller holds <see cref="IscsiCommand.R2TGate"/> (R2TSN order is wire order).
    /// </summary>
    private void IssueR2Ts(IscsiCommand command)
    {
        NegotiatedParameters p = Session!.Parameters;
        while (command.Soliciting && command.OutstandingR2T < p.MaxOutstandingR2T && command.NextR2TOffset < command.WriteLength)
        {
            int length = Math.Min(p.MaxBurstLength, command.WriteLength - command.NextR2TOffset);
            var pdu = new OutgoingPdu { StatSN = StatSNMode.Current };
            new ReadyToTransferPdu(command.Lun, command.Tag, command.TargetTransferTag, command.NextR2TSN, (uint)command.NextR2TOffset, (uint)length).Write(pdu.Header);
            command.NextR2TSN++;
            command.NextR2TOffset += length;
            command.OutstandingR2T++;
            Enqueue(ref pdu);
        }
    }

    private async Task ExecuteAsync(IscsiCommand command)
    {
        ScsiOutcome outcome;
        try
        {
            outcome = await _target.ExecuteAsync(command.Task, Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (Token.IsCancellationRequested || command.IsFailed)
        {
            outcome = ScsiOutcome.Aborted(report: false);
        }
        catch (Exception ex)
        {
            // A bug in the executor: answer the initiator anyway (INTERNAL TARGET FAILURE) and log.
            Log.ExecutorFault(_logger, Id, command.ToString(), ex);
            outcome = ScsiOutcome.Check(new Sense(SenseKey.HardwareError, 0x44, 0x00));
        }
        bool sendStatus = command.TryFinish();
        if (sendStatus)
        {
            ForgetCommand(command);
            ReleaseSlot(command);
            command.CompletedUnaborted = !outcome.IsAborted;
        }
        command.Complete();
        if (sendStatus && (!outcome.IsAborted || outcome.ReportTaskAborted) && State is ConnectionState.FullFeature or ConnectionState.LoggingOut)
        {
            SendResponse(command, outcome);
        }
    }

    private void ReleaseSlot(IscsiCommand command)
    {
        if (command.HoldsSlot)
        {
            Session!.ReleaseSlot();
        }
    }

    private void ForgetCommand(IscsiCommand command)
    {
        lock (_commandsLock)
        {
            if (_commands.TryGetValue(command.Tag, out IscsiCommand? current) && ReferenceEquals(current, command))
            {
                _commands.Remove(command.Tag);
            }
        }
    }

    private IscsiCommand[] SnapshotCommands()
    {
        lock (_commandsLock)
        {
            return [.. _commands.Values];
        }
    }

    /// <summary>RFC 7143 §11.4 SCSI Response with residuals (§11.4.5) and sense data (§11.4.7).</summary>
    private void SendResponse(IscsiCommand command, ScsiOutcome outcome)
    {
        ScsiStatus status = outcome.IsAborted ? ScsiStatus.TaskAborted : outcome.Status;
        (ResidualKind kind, uint count) = Residual(command);
        byte[] data = [];
        if (outcome.Sense is { } sense && status == ScsiStatus.CheckCondition)
        {
            Span<byte> senseBytes = stackalloc byte[64];
            int n = sense.Encode(senseBytes, outcome.DescriptorSense);
            data = new byte[2 + n];
            BinaryPrimitives.WriteUInt16BigEndian(data, (ushort)n);
            senseBytes[..n].CopyTo(data.AsSpan(2));
        }
        var pdu = new OutgoingPdu { StatSN = StatSNMode.Advance, Data = data };
        new ScsiResponsePdu(command.Tag, status, kind, count, command.NextDataSN, data.Length).Write(pdu.Header);
        Enqueue(ref pdu);
    }

    /// <summary>
    /// RFC 7143 §11.4.5: overflow when the command wanted more than the EDTL, underflow when it moved less.
    /// "Wanted" is the highest offset the executor asked to send or receive.
    /// </summary>
    private static (ResidualKind Kind, uint Count) Residual(IscsiCommand command)
    {
        if (command.Direction == (DataDirection.Read | DataDirection.Write))
        {
            return (ResidualKind.None, 0);
        }
        long wanted = (command.Direction & DataDirection.Write) != 0 ? command.DataOutWanted : command.DataInWanted;
        long edtl = command.ExpectedDataTransferLength;
        if (wanted > edtl)
        {
            return (ResidualKind.Overflow, (uint)Math.Min(wanted - edtl, uint.MaxValue));
        }
        if (wanted < edtl)
        {
            return (ResidualKind.Underflow, (uint)(edtl - wanted));
        }
        return (ResidualKind.None, 0);
    }

    /// <summary>
    /// RFC 7143 §11.7: Data-In PDUs of at most the initiator's MaxRecvDataSegmentLength, F at each MaxBurstLength sequence end,
    /// clipped to the EDTL; the last one carries the status (S bit) when the executor says the command ends GOOD.
    /// </summary>
    internal ValueTask SendDataIn(IscsiCommand command, ReadOnlyMemory<byte> source, uint bufferOffset, bool finalWithGoodStatus)
    {
        if (command.IsFailed || State is not (ConnectionState.FullFeature or ConnectionState.LoggingOut))
        {
            return ValueTask.FromException(new OperationCanceledException("connection closed"));
        }
        long end = (long)bufferOffset + source.Length;
        command.DataInWanted = Math.Max(command.DataInWanted, end);
        int length = (int)Math.Clamp(command.ReadLength - (long)bufferOffset, 0, source.Length);
        if (length == 0)
        {
            return default;
        }
        NegotiatedParameters p = Session!.Parameters;
        bool collapse = finalWithGoodStatus && command.Direction != (DataDirection.Read | DataDirection.Write);
        ResidualKind kind = ResidualKind.None;
        uint residual = 0;
        if (collapse)
        {
            (kind, residual) = Residual(command);
            if (!command.TryFinish())
            {
                return default;
            }
            command.StatusSent = true;
            // Status is on its way: free the tag and the CmdSN slot before the PDU carries MaxCmdSN.
            ForgetCommand(command);
            ReleaseSlot(command);
        }
        ValueTask handedOff = default;
        // Small transfers are copied into a pooled buffer so the executor goes on at once instead of waiting for the
        // writer's flush (a thread hop per read); large ones go out from the executor's memory without a copy.
        byte[]? copy = null;
        if (length <= DataInCopyLimit)
        {
            copy = ArrayPool<byte>.Shared.Rent(length);
            source.Span[..length].CopyTo(copy);
            source = copy.AsMemory(0, length);
        }
        int position = 0;
        while (position < length)
        {
            int chunk = Math.Min(Math.Min(p.InitiatorMaxRecvDataSegmentLength, length - position), p.MaxBurstLength - command.BurstBytes);
            command.BurstBytes += chunk;
            bool sequenceEnd = command.BurstBytes >= p.MaxBurstLength;
            if (sequenceEnd)
            {
                command.BurstBytes = 0;
            }
            bool last = position + chunk == length;
            bool status = last && collapse;
            var pdu = new OutgoingPdu
            {
                StatSN = status ? StatSNMode.Advance : StatSNMode.Reserved,
                Data = source.Slice(position, chunk),
            };
            new DataInPdu(sequenceEnd || (last && finalWithGoodStatus), status, ScsiStatus.Good, kind, command.Lun, command.Tag,
                command.NextDataSN++, bufferOffset + (uint)position, residual, chunk).Write(pdu.Header);
            if (last && copy is not null)
            {
                pdu.Rented = copy; // earlier PDUs of this call are written before the last one
            }
            else if (last)
            {
                handedOff = command.ArmDataIn();
                pdu.DataInNotify = command;
            }
            Enqueue(ref pdu);
            position += chunk;
        }
        return handedOff;
    }

    /// <summary>Data-In calls up to this size are copied (see <see cref="SendDataIn"/>).</summary>
    private const int DataInCopyLimit = 64 * 1024;

    // ---- SCSI Data-Out (RFC 7143 §11.7) ----

    private void HandleDataOut(in IscsiFrame frame)
    {
        DataOutPdu pdu = DataOutPdu.Parse(frame.Header);
        IscsiCommand? command;
        lock (_commandsLock)
        {
            _commands.TryGetValue(pdu.InitiatorTaskTag, out command);
        }
        if (command is null || command.WriteLength == 0)
        {
            // The command already ended (early status or abort); the initiator still sends what it was asked for.
            Log.Trace(_logger, Id, $"Data-Out for unknown or finished task 0x{pdu.InitiatorTaskTag:x8} ignored");
            return;
        }
        long end = (long)pdu.BufferOffset + frame.Data.Length;
        if (pdu.TargetTransferTag == Bhs.ReservedTag)
        {
            if (end > command.UnsolicitedEnd && pdu.BufferOffset < command.WriteLength)
            {
                throw new IscsiProtocolException(RejectReason.ProtocolError,
                    $"unsolicited Data-Out up to {end} exceeds the unsolicited burst {command.UnsolicitedEnd}", frame.HeaderCopy, fatal: false);
            }
        }
        else if (pdu.TargetTransferTag != command.TargetTransferTag)
        {
            throw new IscsiProtocolException(RejectReason.InvalidPduField, $"Data-Out with unknown Target Transfer Tag 0x{pdu.TargetTransferTag:x8}", frame.HeaderCopy, fatal: false);
        }
        if (pdu.DataSN != command.ExpectedDataOutSN)
        {
            // ErrorRecoveryLevel=0 cannot recover a lost or reordered Data-Out: the session must go (RFC 7143 §7.1.4).
            throw new IscsiProtocolException(RejectReason.ProtocolError,
                $"Data-Out DataSN {pdu.DataSN} for tag 0x{pdu.InitiatorTaskTag:x8}, expected {command.ExpectedDataOutSN}", frame.HeaderCopy, fatal: true);
        }
        command.ExpectedDataOutSN = pdu.Final ? 0 : command.ExpectedDataOutSN + 1;
        string? error = command.AcceptData(pdu.BufferOffset, frame.Data);
        if (error is not null)
        {
            throw new IscsiProtocolException(RejectReason.ProtocolError, error, frame.HeaderCopy, fatal: false);
        }
        if (pdu.Final && pdu.TargetTransferTag != Bhs.ReservedTag)
        {
            lock (command.R2TGate)
            {
                if (command.OutstandingR2T > 0)
                {
                    command.OutstandingR2T--;
                    IssueR2Ts(command);
                }
            }
        }
    }

    // ---- NOP-Out / NOP-In (RFC 7143 §11.18, §11.19) ----

    private void HandleNopOut(in IscsiFrame frame)
    {
        NopOutPdu pdu = NopOutPdu.Parse(frame.Header);
        if (pdu.InitiatorTaskTag == Bhs.ReservedTag)
        {
            if (!frame.IsImmediate)
            {
                throw new IscsiProtocolException(RejectReason.ProtocolError, "NOP-Out with ITT 0xffffffff must be immediate", frame.HeaderCopy, fatal: false);
            }
            if (pdu.TargetTransferTag != Bhs.ReservedTag && pdu.TargetTransferTag == _pingTag)
            {
                _pingOutstanding = false;
            }
            return;
        }
        if (!AcceptCmdSN(frame, pdu.CmdSN, occupiesSlot: false))
        {
            return;
        }
        byte[] echo = frame.Data.ToArray();
        var reply = new OutgoingPdu { StatSN = StatSNMode.Advance, Data = echo };
        new NopInPdu(pdu.Lun, pdu.InitiatorTaskTag, Bhs.ReservedTag, echo.Length).Write(reply.Header);
        Enqueue(ref reply);
    }

    /// <summary>Target-initiated NOP-In (keep-alive): ITT 0xffffffff, a TTT the initiator must echo, StatSN not advanced.</summary>
    private void SendPing()
    {
        _pingTag = NextTargetTransferTag();
        _pingSentTicks = Environment.TickCount64;
        _pingOutstanding = true;
        var pdu = new OutgoingPdu { StatSN = StatSNMode.Current };
        new NopInPdu(0, Bhs.ReservedTag, _pingTag, 0).Write(pdu.Header);
        Enqueue(ref pdu);
    }

    // ---- Text (RFC 7143 §11.10, §11.11) ----

    private void HandleText(in IscsiFrame frame)
    {
        TextRequestPdu pdu = TextRequestPdu.Parse(frame.Header);
        if (!AcceptCmdSN(frame, pdu.CmdSN, occupiesSlot: false))
        {
            return;
        }
        if (pdu.TargetTransferTag != Bhs.ReservedTag)
        {
            if (_pendingText is null || pdu.TargetTransferTag != _pendingTextTag)
            {
                throw new IscsiProtocolException(RejectReason.InvalidPduField, $"Text Request continues unknown TTT 0x{pdu.TargetTransferTag:x8}", frame.HeaderCopy, fatal: false);
            }
            SendTextChunk(pdu, _pendingText);
            return;
        }
        if (pdu.Continue)
        {
            throw new IscsiProtocolException(RejectReason.CommandNotSupported, "multi-PDU Text Request", frame.HeaderCopy, fatal: false);
        }
        List<KeyValuePair<string, string>> keys = TextParameters.Parse(frame.Data);
        var response = new List<KeyValuePair<string, string>>();
        foreach ((string key, string value) in keys)
        {
            if (key == "SendTargets")
            {
                AppendSendTargets(value, response);
            }
            else
            {
                response.Add(new(key, key.StartsWith("X-", StringComparison.Ordinal) || key.StartsWith("X#", StringComparison.Ordinal)
                    ? TextParameters.NotUnderstood
                    : TextParameters.Reject));
            }
        }
        SendTextChunk(pdu, TextParameters.Encode(response));
    }

    private void SendTextChunk(in TextRequestPdu request, byte[] text)
    {
        int max = Session!.Parameters.InitiatorMaxRecvDataSegmentLength;
        bool more = text.Length > max;
        byte[] chunk = more ? text[..max] : text;
        _pendingText = more ? text[max..] : null;
        _pendingTextTag = more ? NextTargetTransferTag() : Bhs.ReservedTag;
        var pdu = new OutgoingPdu { StatSN = StatSNMode.Advance, Data = chunk };
        new TextResponsePdu(!more, more, request.Lun, request.InitiatorTaskTag, _pendingTextTag, chunk.Length).Write(pdu.Header);
        Enqueue(ref pdu);
    }

    /// <summary>RFC 7143 §13.3 / Appendix C: SendTargets=All (discovery), =&lt;name&gt;, or empty (the session's target).</summary>
    private void AppendSendTargets(string value, List<KeyValuePair<string, string>> response)
    {
        IscsiSession session = Session!;
        IEnumerable<IscsiTargetDefinition> targets = value switch
        {
            "All" when session.Type == SessionType.Discovery => _options.Targets,
            "All" or "" => session.Target is { } t ? [t] : [],
            _ => _options.Targets.Where(t => string.Equals(t.Name, value, StringComparison.OrdinalIgnoreCase)),
        };
        foreach (IscsiTargetDefinition target in targets)
        {
            response.Add(new("TargetName", target.Name));
            foreach (string address in AdvertisedAddresses())
            {
                response.Add(new("TargetAddress", $"{address},{_options.TargetPortGroupTag}"));
            }
        }
    }

    private IEnumerable<string> AdvertisedAddresses()
    {
        if (_options.AdvertisedPortals.Count > 0)
        {
            return _options.AdvertisedPortals;
        }
        if (LocalEndPoint is { } local)
        {
            IPAddress address = local.Address.IsIPv4MappedToIPv6 ? local.Address.MapToIPv4() : local.Address;
            return [address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]:{local.Port}" : $"{address}:{local.Port}"];
        }
        return [];
    }

    // ---- Logout (RFC 7143 §11.14, §11.15) ----

    private void HandleLogout(in IscsiFrame frame)
    {
        LogoutRequestPdu pdu = LogoutRequestPdu.Parse(frame.Header);
        if (!AcceptCmdSN(frame, pdu.CmdSN, occupiesSlot: false))
        {
            return;
        }
        if (pdu.Reason == LogoutReason.RemoveConnectionForRecovery)
        {
            var reply = new OutgoingPdu { StatSN = StatSNMode.Advance };
            new LogoutResponsePdu(LogoutResponse.RecoveryNotSupported, pdu.InitiatorTaskTag, 0, 0).Write(reply.Header);
            Enqueue(ref reply);
            return;
        }
        if (pdu.Reason is not (LogoutReason.CloseSession or LogoutReason.CloseConnection))
        {
            throw new IscsiProtocolException(RejectReason.InvalidPduField, $"logout reason {(byte)pdu.Reason}", frame.HeaderCopy, fatal: false);
        }
        Volatile.Write(ref _state, (int)ConnectionState.LoggingOut);
        _ = LogoutAsync(pdu);
    }

    private async Task LogoutAsync(LogoutRequestPdu request)
    {
        // Let outstanding commands finish so their status precedes the Logout Response.
        IscsiCommand[] pending = SnapshotCommands();
        try
        {
            await Task.WhenAll(pending.Select(c => c.Completion)).WaitAsync(_options.DrainTimeout, Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            // Close anyway; teardown fails what is left.
        }
        Log.LoggedOut(_logger, Id, Session?.ToString() ?? "-", request.Reason.ToString());
        var pdu = new OutgoingPdu { StatSN = StatSNMode.Advance, Action = OutgoingAction.Close, CloseReason = "logout" };
        new LogoutResponsePdu(LogoutResponse.Success, request.InitiatorTaskTag, 0, 0).Write(pdu.Header);
        Enqueue(ref pdu);
    }
}

using System.Buffers;
using CtlHa.Core;
using CtlHa.Iscsi.Negotiation;
using CtlHa.Iscsi.Pdus;

namespace CtlHa.Iscsi;

internal sealed partial class IscsiConnection
{
    // Bound on the text of one login request spread over continuation PDUs.
    private const int MaxLoginTextLength = 65536;

    private LoginNegotiator? _negotiator;
    private LoginRequestPdu _firstLogin;
    private ArrayBufferWriter<byte>? _loginText;

    /// <summary>RFC 7143 §6 login phase: one Login Response per Login Request, until full feature phase or failure.</summary>
    private async ValueTask HandleLoginAsync(IscsiFrame frame)
    {
        if (frame.Opcode != IscsiOpcode.LoginRequest)
        {
            throw new IscsiProtocolException($"{frame.Opcode} received before login completed");
        }
        LoginRequestPdu request = LoginRequestPdu.Parse(frame.Header);
        if (_negotiator is null)
        {
            _negotiator = new LoginNegotiator(_options);
            _firstLogin = request;
            _statSN = request.ExpStatSN;
            Session = new IscsiSession(_target, _options.MaxOutstandingCommands, request.CmdSN)
            {
                Connection = this,
                Isid = request.Isid,
            };
            if (request.VersionMin > 0)
            {
                FailLogin(request, LoginStatus.UnsupportedVersion, $"Version-min {request.VersionMin} (this target speaks version 0)");
                return;
            }
        }
        else if (request.Isid != _firstLogin.Isid || request.Tsih != _firstLogin.Tsih || request.InitiatorTaskTag != _firstLogin.InitiatorTaskTag)
        {
            // RFC 7143 §6.2: ISID, TSIH and ITT stay the same for the whole login.
            FailLogin(request, LoginStatus.InitiatorError, "ISID, TSIH or ITT changed during login");
            return;
        }

        if (frame.Data.Length > 0)
        {
            _loginText ??= new ArrayBufferWriter<byte>();
            if (_loginText.WrittenCount + frame.Data.Length > MaxLoginTextLength)
            {
                FailLogin(request, LoginStatus.InitiatorError, $"login text longer than {MaxLoginTextLength} bytes");
                return;
            }
            foreach (ReadOnlyMemory<byte> segment in frame.Data)
            {
                _loginText.Write(segment.Span);
            }
        }
        if (request.Continue)
        {
            // RFC 7143 §11.12.2: answer a partial request with an empty response and wait for the rest.
            SendLoginResponse(request, new LoginStep(LoginStatus.Success, [], false, request.CurrentStage, null), [], tsih: 0);
            return;
        }

        List<KeyValuePair<string, string>> keys;
        try
        {
            keys = TextParameters.Parse(_loginText is null ? default : _loginText.WrittenSpan);
        }
        catch (IscsiProtocolException ex)
        {
            FailLogin(request, LoginStatus.InitiatorError, ex.Message);
            return;
        }
        _loginText?.Clear();

        LoginStep step = _negotiator.Process(request.CurrentStage, request.Transit, request.NextStage, keys);
        if (step.Failed)
        {
            FailLogin(request, step.Status, step.Reason ?? step.Status.ToString());
            return;
        }
        if (!(step.Transit && step.NextStage == LoginStage.FullFeaturePhase))
        {
            SendLoginResponse(request, step, TextParameters.Encode(step.Response), tsih: 0);
            return;
        }

        // Leading login completes (RFC 7143 §6.3): place the session, then answer with its TSIH.
        IscsiSession session = Session!;
        session.InitiatorName = _negotiator.InitiatorName!;
        session.Type = _negotiator.SessionType;
        session.Target = _negotiator.Target;
        session.Parameters = _negotiator.Parameters;
        if (request.Tsih != 0)
        {
            // MaxConnections=1: a login naming an existing session would add a second connection.
            LoginStatus status = _server.Registry.ContainsTsih(request.Tsih) ? LoginStatus.TooManyConnections : LoginStatus.SessionDoesNotExist;
            FailLogin(request, status, $"login into existing session TSIH {request.Tsih} (MaxConnections=1)");
            return;
        }
        if (session.Type == SessionType.Normal)
        {
            IscsiSession? old = _server.Registry.FindExisting(session.InitiatorName, session.Isid, session.Target!.Name);
            if (old is not null)
            {
                // RFC 7143 §6.3.5 session reinstatement: the old session goes (its nexus is lost) before the new one exists.
                Log.Reinstating(_logger, old.ToString());
                old.Connection.Break(new ConnectionEndedException("session reinstated by a new login"));
                try
                {
                    await old.Connection.Closed.WaitAsync(_options.DrainTimeout, Token).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    Log.Warning(_logger, Id, $"reinstated session {old} did not close in time");
                }
                old.End();
                _server.Registry.Remove(old);
            }
        }
        if (!_server.Registry.TryAdd(session, _options.MaxSessions))
        {
            FailLogin(request, LoginStatus.OutOfResources, $"session limit {_options.MaxSessions} reached");
            return;
        }
        if (session.Type == SessionType.Normal)
        {
            session.Nexus = new ITNexus(_server.NextNexusId(), session.InitiatorName, session.Isid, session.Target!.Name, _options.RelativeTargetPortId);
            _target.NexusCreated(session.Nexus);
        }

        NegotiatedParameters p = session.Parameters;
        _readerSettings = new PduReaderSettings(_options.MaxRecvDataSegmentLength, p.HeaderDigest, p.DataDigest);
        Volatile.Write(ref _state, (int)ConnectionState.FullFeature);
        SendLoginResponse(request, step, TextParameters.Encode(step.Response), session.Tsih, OutgoingAction.EnableDigests);
        Log.LoggedIn(_logger, Id, session.Type.ToString(), session.ToString(), session.Target?.Name ?? "-", p.ToString());
    }

    private void SendLoginResponse(in LoginRequestPdu request, in LoginStep step, byte[] data, ushort tsih, OutgoingAction action = OutgoingAction.None)
    {
        var pdu = new OutgoingPdu { StatSN = StatSNMode.Advance, Data = data, Action = action };
        new LoginResponsePdu(step.Transit, false, request.CurrentStage, step.NextStage, request.Isid, tsih, request.InitiatorTaskTag, LoginStatus.Success, data.Length)
            .Write(pdu.Header);
        Enqueue(ref pdu);
    }

    /// <summary>A failed login gets one Login Response with the status, then the connection closes (RFC 7143 §6.1).</summary>
    private void FailLogin(in LoginRequestPdu request, LoginStatus status, string reason)
    {
        Log.LoginFailed(_logger, Id, RemoteEndPoint, $"0x{(ushort)status:x4} {status}", reason);
        var pdu = new OutgoingPdu { StatSN = StatSNMode.Advance, Action = OutgoingAction.Close, CloseReason = "login failed: " + reason };
        new LoginResponsePdu(false, false, request.CurrentStage, request.CurrentStage, request.Isid, 0, request.InitiatorTaskTag, status, 0).Write(pdu.Header);
        Volatile.Write(ref _state, (int)ConnectionState.Closing);
        Enqueue(ref pdu);
    }
}

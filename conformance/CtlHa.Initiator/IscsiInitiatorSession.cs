using System.Collections.Concurrent;
using System.Threading.Channels;
using CtlHa.Initiator.Login;
using CtlHa.Initiator.Pdus;
using Microsoft.Extensions.Logging;

namespace CtlHa.Initiator;

/// <summary>State of an initiator session (one connection, ERL 0).</summary>
public enum SessionState
{
    LoggedIn,
    LoggingOut,
    LoggedOut,
    Broken,
}

/// <summary>An Async Message from the target (RFC 7143 §11.9).</summary>
public sealed record AsyncMessageEvent(byte AsyncEvent, byte AsyncVCode, ulong Lun, ushort Parameter1, ushort Parameter2, ushort Parameter3, ReadOnlyMemory<byte> Sense);

/// <summary>One target found by SendTargets (RFC 7143 §13.3 and appendix C).</summary>
public sealed record DiscoveredTarget(string TargetName, IReadOnlyList<string> TargetAddresses);

/// <summary>
/// An iSCSI initiator session over one connection (RFC 7143, ERL 0): login, SCSI commands with immediate,
/// unsolicited and R2T-solicited data, concurrent tasks within the CmdSN window, task management, NOP and
/// async message handling, logout. A dropped connection fails every outstanding command with
/// <see cref="IscsiConnectionLostException"/>; SCSI errors come back as <see cref="Scsi.ScsiResponse"/> values.
/// </summary>
public sealed partial class IscsiInitiatorSession : IAsyncDisposable
{
    private readonly IscsiConnection _connection;
    private readonly string _host;
    private readonly int _port;
    private readonly InitiatorOptions _options;
    private readonly ILogger _logger;
    private readonly Lock _sn = new();
    private readonly ConcurrentDictionary<uint, PendingTask> _pending = new();
    private readonly Channel<AsyncMessageEvent> _asyncMessages =
        Channel.CreateBounded<AsyncMessageEvent>(new BoundedChannelOptions(64) { FullMode = BoundedChannelFullMode.DropOldest });
    private readonly CancellationTokenSource _lifetime = new();
    private TaskCompletionSource _windowChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private uint _cmdSN;
    private uint _expCmdSN;
    private uint _maxCmdSN;
    private uint _expStatSN;
    private int _nextItt;
    private int _state;
    private int _broken;
    private long _targetPingsAnswered;
    private Exception? _breakCause;
    private Task _dispatch = Task.CompletedTask;

    private IscsiInitiatorSession(IscsiConnection connection, InitiatorOptions options, LoginResult login, string? targetName, string host, int port)
    {
        _connection = connection;
        _host = host;
        _port = port;
        _options = options;
        _logger = options.LoggerFactory.CreateLogger<IscsiInitiatorSession>();
        Login = login;
        TargetName = targetName;
        _cmdSN = login.CmdSN;
        _expCmdSN = login.ExpCmdSN;
        _maxCmdSN = login.MaxCmdSN;
        _expStatSN = login.ExpStatSN;
        // Login used ITT 0; start after it.
        _nextItt = 1;
    }

    public LoginResult Login { get; }

    public NegotiatedParameters Parameters => Login.Parameters;

    public string? TargetName { get; }

    public ulong Isid => Login.Isid;

    public ushort Tsih => Login.Tsih;

    public SessionState State => (SessionState)Volatile.Read(ref _state);

    /// <summary>Why the session broke, if it did.</summary>
    public Exception? BreakCause => _breakCause;

    /// <summary>Async messages from the target, newest 64 kept.</summary>
    public ChannelReader<AsyncMessageEvent> AsyncMessages => _asyncMessages.Reader;

    /// <summary>Raw access to the connection, for conformance probes that mix session traffic with crafted PDUs.</summary>
    public IscsiConnection Connection => _connection;

    /// <summary>How many target NOP-In pings (TTT set) this session has answered with a NOP-Out.</summary>
    public long TargetPingsAnswered => Interlocked.Read(ref _targetPingsAnswered);

    /// <summary>Commands (and other tasks) sent and not yet answered.</summary>
    public int OutstandingTasks => _pending.Count;

    /// <summary>Snapshot of CmdSN, ExpCmdSN, MaxCmdSN, ExpStatSN.</summary>
    public (uint CmdSN, uint ExpCmdSN, uint MaxCmdSN, uint ExpStatSN) SequenceNumbers
    {
        get
        {
            lock (_sn)
            {
                return (_cmdSN, _expCmdSN, _maxCmdSN, _expStatSN);
            }
        }
    }

    public static Task<IscsiInitiatorSession> ConnectAsync(IscsiUrl url, InitiatorOptions options, CancellationToken cancellationToken) =>
        ConnectAsync(url.Host, url.Port, url.TargetName, options, cancellationToken);

    /// <summary>Opens a normal session to <paramref name="targetName"/>. Reusing a live session's ISID reinstates it (RFC 7143 §6.3.5).</summary>
    public static Task<IscsiInitiatorSession> ConnectAsync(string host, int port, string targetName, InitiatorOptions options, CancellationToken cancellationToken) =>
        ConnectCoreAsync(host, port, SessionType.Normal, targetName, options, cancellationToken);

    /// <summary>
    /// Logs in a new session with this session's InitiatorName, ISID and target: the target reinstates the I_T nexus
    /// (RFC 7143 §6.3.5, TSIH 0 with a live ISID), ending this session's connection.
    /// </summary>
    public Task<IscsiInitiatorSession> ReinstateAsync(CancellationToken cancellationToken) =>
        ConnectAsync(_host, _port, TargetName ?? throw new InvalidOperationException("A discovery session is not reinstated."),
            _options with { Isid = Isid }, cancellationToken);

    /// <summary>Opens a discovery session, asks SendTargets=All, logs out (RFC 7143 appendix C).</summary>
    public static async Task<IReadOnlyList<DiscoveredTarget>> DiscoverAsync(string host, int port, InitiatorOptions options, CancellationToken cancellationToken)
    {
        var session = await ConnectCoreAsync(host, port, SessionType.Discovery, null, options, cancellationToken);
        await using (session)
        {
            var targets = await session.SendTargetsAsync("All", cancellationToken);
            await session.LogoutAsync(cancellationToken);
            return targets;
        }
    }

    private static async Task<IscsiInitiatorSession> ConnectCoreAsync(
        string host, int port, SessionType type, string? targetName, InitiatorOptions options, CancellationToken cancellationToken)
    {
        var connection = await IscsiConnection.ConnectAsync(host, port, options.ConnectTimeout, cancellationToken);
        try
        {
            var isid = options.Isid ?? InitiatorOptions.RandomIsid();
            var login = await IscsiLogin.LoginAsync(connection, options, type, targetName, isid, tsih: 0, options.InitialCmdSN, cancellationToken);
            var session = new IscsiInitiatorSession(connection, options, login, targetName, host, port);
            session._dispatch = Task.Run(session.DispatchLoopAsync, CancellationToken.None);
            Log.SessionEstablished(session._logger, targetName ?? "(discovery)", isid, login.Tsih);
            return session;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sends a NOP-Out ping and waits for the NOP-In echo (RFC 7143 §11.18).</summary>
    public async Task PingAsync(CancellationToken cancellationToken)
    {
        using var deadline = Deadline(cancellationToken, _options.CommandTimeout);
        var waiter = new PendingPdu(NextItt(), lun: 0, IscsiOpcode.NopIn);
        var pdu = new IscsiPdu(IscsiOpcode.NopOut, immediate: true)
        {
            Final = true,
            InitiatorTaskTag = waiter.Itt,
            TargetTransferTag = IscsiPdu.ReservedTag,
        };
        await SendImmediateAndWaitAsync(pdu, waiter, "NOP-Out ping", deadline.Token, cancellationToken);
    }

    /// <summary>Logs out (reason 0: close the session, RFC 7143 §11.14) and closes the connection. Idempotent.</summary>
    public async Task LogoutAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _state, (int)SessionState.LoggingOut, (int)SessionState.LoggedIn) != (int)SessionState.LoggedIn)
        {
            return;
        }

        using var deadline = Deadline(cancellationToken, _options.LogoutTimeout);
        var waiter = new PendingPdu(NextItt(), lun: 0, IscsiOpcode.LogoutResponse);
        var pdu = new IscsiPdu(IscsiOpcode.LogoutRequest, immediate: true)
        {
            Flags = 0x80, // F=1, reason code 0 = close the session.
            InitiatorTaskTag = waiter.Itt,
        };
        pdu.SetUInt16(20, Login.Cid);
        try
        {
            var response = await SendImmediateAndWaitAsync(pdu, waiter, "Logout", deadline.Token, cancellationToken, duringLogout: true);
            if (response.Byte2 != 0)
            {
                Log.LogoutRefused(_logger, response.Byte2);
            }
        }
        finally
        {
            Volatile.Write(ref _state, (int)SessionState.LoggedOut);
            FailAll(new IscsiConnectionLostException("Session logged out."));
            _connection.Abort(new IscsiConnectionLostException("Session logged out."));
        }
    }

    /// <summary>SendTargets text request (RFC 7143 §13.3), following continuation (C bit, TTT) to the final response.</summary>
    public async Task<IReadOnlyList<DiscoveredTarget>> SendTargetsAsync(string value, CancellationToken cancellationToken)
    {
        using var deadline = Deadline(cancellationToken, _options.CommandTimeout);
        var itt = NextItt();
        var text = new List<byte>();
        var ttt = IscsiPdu.ReservedTag;
        var request = TextParameters.Encode([new("SendTargets", value)]);
        // Bounds continuation rounds (each response holds up to MaxRecvDataSegmentLength bytes).
        for (var round = 0; round < 1024; round++)
        {
            var waiter = new PendingPdu(itt, lun: 0, IscsiOpcode.TextResponse);
            var pdu = new IscsiPdu(IscsiOpcode.TextRequest)
            {
                Final = true,
                Lun = 0,
                InitiatorTaskTag = itt,
                TargetTransferTag = ttt,
                Data = request,
            };
            var response = await SendCommandAndWaitAsync(pdu, waiter, deadline.Token, cancellationToken);
            text.AddRange(response.Data.ToArray());
            var final = (response.Flags & 0x80) != 0;
            if (final)
            {
                return ParseSendTargets(text.ToArray());
            }

            ttt = response.TargetTransferTag;
            request = [];
        }

        throw new IscsiProtocolException("SendTargets response never ended.");
    }

    private static List<DiscoveredTarget> ParseSendTargets(byte[] text)
    {
        var result = new List<DiscoveredTarget>();
        string? name = null;
        var addresses = new List<string>();
        foreach (var (key, value) in TextParameters.Decode(text))
        {
            if (key == "TargetName")
            {
                if (name is not null)
                {
                    result.Add(new DiscoveredTarget(name, addresses));
                }

                name = value;
                addresses = [];
            }
            else if (key == "TargetAddress" && name is not null)
            {
                addresses.Add(value);
            }
        }

        if (name is not null)
        {
            result.Add(new DiscoveredTarget(name, addresses));
        }

        return result;
    }

    public async ValueTask DisposeAsync()
    {
        if (State == SessionState.LoggedIn)
        {
            try
            {
                using var quick = new CancellationTokenSource(_options.LogoutTimeout);
                await LogoutAsync(quick.Token);
            }
            catch (Exception ex) when (ex is IscsiException or OperationCanceledException)
            {
                // Best effort: the connection is closed below either way.
            }
        }

        Break(new IscsiConnectionLostException("Session disposed."));
        await _connection.DisposeAsync();
        await _dispatch.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _lifetime.Dispose();
    }

    /// <summary>The single funnel for a dead session: first cause wins, every waiter fails, the socket closes.</summary>
    private void Break(Exception cause)
    {
        if (Interlocked.Exchange(ref _broken, 1) != 0)
        {
            return;
        }

        _breakCause = cause;
        var endedByLogout = State is SessionState.LoggingOut or SessionState.LoggedOut;
        Volatile.Write(ref _state, (int)(endedByLogout ? SessionState.LoggedOut : SessionState.Broken));
        if (!endedByLogout && (cause is not IscsiConnectionLostException || cause.InnerException is IscsiProtocolException or IscsiDigestException))
        {
            // A transport end is expected and not logged; a protocol or digest failure is the target's fault and is.
            Log.SessionBroken(_logger, cause.InnerException?.Message ?? cause.Message);
        }

        var lost = cause as IscsiConnectionLostException ?? new IscsiConnectionLostException(cause.Message, cause);
        FailAll(lost);
        _connection.Abort(lost);
        _lifetime.Cancel();
        SignalWindow();
    }

    private void FailAll(Exception cause)
    {
        foreach (var itt in _pending.Keys)
        {
            if (_pending.TryRemove(itt, out var task))
            {
                task.Fail(cause);
            }
        }
    }

    private void ThrowIfNotUsable()
    {
        switch (State)
        {
            case SessionState.LoggedIn:
                return;
            case SessionState.Broken:
                throw _breakCause as IscsiConnectionLostException
                      ?? new IscsiConnectionLostException("Session is broken.", _breakCause ?? new IscsiException());
            default:
                throw new IscsiConnectionLostException("Session is logged out.");
        }
    }

    private uint NextItt()
    {
        while (true)
        {
            var itt = (uint)Interlocked.Increment(ref _nextItt);
            // 0xFFFFFFFF is reserved (RFC 7143 §11.2.1.8) and 0 was the login's.
            if (itt is not IscsiPdu.ReservedTag and not 0 && !_pending.ContainsKey(itt))
            {
                return itt;
            }
        }
    }

    private static CancellationTokenSource Deadline(CancellationToken cancellationToken, TimeSpan timeout)
    {
        var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        return deadline;
    }

    private void SignalWindow()
    {
        TaskCompletionSource previous;
        lock (_sn)
        {
            previous = _windowChanged;
            _windowChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        previous.TrySetResult();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "iSCSI session to {Target} established, ISID 0x{Isid:X12}, TSIH {Tsih}")]
        public static partial void SessionEstablished(ILogger logger, string target, ulong isid, ushort tsih);

        [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "iSCSI session broken: {Reason}")]
        public static partial void SessionBroken(ILogger logger, string reason);

        [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Target answered Logout with response {Response}")]
        public static partial void LogoutRefused(ILogger logger, byte response);

        [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Async message from target: event {AsyncEvent}, vcode {VCode}")]
        public static partial void AsyncMessage(ILogger logger, byte asyncEvent, byte vCode);

        [LoggerMessage(EventId = 5, Level = LogLevel.Debug, Message = "Target rejected a PDU: reason 0x{Reason:X2}, ITT 0x{Itt:X8}")]
        public static partial void Rejected(ILogger logger, byte reason, uint itt);
    }
}

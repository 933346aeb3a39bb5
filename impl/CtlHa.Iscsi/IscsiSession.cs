using CtlHa.Core;
using CtlHa.Iscsi.Negotiation;

namespace CtlHa.Iscsi;

/// <summary>
/// Session state (RFC 7143 §4.4), kept apart from connection state: identity, the I_T nexus, negotiated parameters and
/// the CmdSN window. With MaxConnections=1 a session has exactly one connection.
/// </summary>
internal sealed class IscsiSession
{
    private readonly IScsiTarget _target;
    private readonly int _window;
    private uint _expCmdSN;
    private int _active;
    private int _ended;

    public IscsiSession(IScsiTarget target, int window, uint initialCmdSN)
    {
        _target = target;
        _window = window;
        _expCmdSN = initialCmdSN;
    }

    public required IscsiConnection Connection { get; init; }

    public string InitiatorName { get; set; } = "";

    public ulong Isid { get; set; }

    public ushort Tsih { get; set; }

    public SessionType Type { get; set; }

    public IscsiTargetDefinition? Target { get; set; }

    public NegotiatedParameters Parameters { get; set; } = new();

    /// <summary>Set when a normal session reached full feature phase.</summary>
    public ITNexus? Nexus { get; set; }

    public uint ExpCmdSN => Volatile.Read(ref _expCmdSN);

    /// <summary>
    /// MaxCmdSN = ExpCmdSN + free slots - 1 (RFC 7143 §4.2.2.1). Received-but-unfinished commands hold slots, so the window
    /// bounds outstanding commands and never shrinks (ExpCmdSN and the count rise together).
    /// </summary>
    public uint MaxCmdSN => unchecked(ExpCmdSN + (uint)Math.Max(0, _window - Volatile.Read(ref _active)) - 1);

    public int ActiveCommands => Volatile.Read(ref _active);

    /// <summary>
    /// Applies RFC 7143 §4.2.2.1 to a received CmdSN. Non-immediate: accepted only if it is the next expected and a slot is
    /// free (then ExpCmdSN advances); immediate: accepted when near the window. Anything else is silently dropped.
    /// Called only from the connection's read loop.
    /// </summary>
    public bool TryAcceptCmdSN(uint cmdSN, bool immediate, bool occupiesSlot)
    {
        uint exp = _expCmdSN;
        if (immediate)
        {
            int distance = unchecked((int)(cmdSN - exp));
            // Immediate commands take no CmdSN slot (counting them would shrink MaxCmdSN under the initiator's feet).
            return distance >= -_window && distance <= _window;
        }
        if (cmdSN != exp)
        {
            return false;
        }
        if (occupiesSlot)
        {
            if (Volatile.Read(ref _active) >= _window)
            {
                return false;
            }
            Interlocked.Increment(ref _active);
        }
        Volatile.Write(ref _expCmdSN, unchecked(exp + 1));
        return true;
    }

    /// <summary>Serial-number test (RFC 1982): is <paramref name="cmdSN"/> in [ExpCmdSN, <paramref name="upTo"/>)?</summary>
    public bool IsPendingBefore(uint cmdSN, uint upTo) =>
        unchecked((int)(cmdSN - ExpCmdSN)) >= 0 && unchecked((int)(upTo - cmdSN)) > 0;

    /// <summary>A command holding a slot finished: the window opens by one.</summary>
    public void ReleaseSlot() => Interlocked.Decrement(ref _active);

    /// <summary>Ends the session once: the I_T nexus is lost (SAM-5 §6.3.4).</summary>
    public void End()
    {
        if (Interlocked.Exchange(ref _ended, 1) == 0 && Nexus is { } nexus)
        {
            _target.NexusLost(nexus);
        }
    }

    public bool Ended => Volatile.Read(ref _ended) != 0;

    public override string ToString() => $"{InitiatorName}/{Isid:x12} tsih {Tsih}";
}

/// <summary>All sessions of one server: lookup by (InitiatorName, ISID, TargetName) for reinstatement, and TSIH allocation.</summary>
internal sealed class SessionRegistry
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Initiator, ulong Isid, string Target), IscsiSession> _byName = [];
    private readonly Dictionary<ushort, IscsiSession> _byTsih = [];
    private ushort _lastTsih;

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _byTsih.Count;
            }
        }
    }

    public IscsiSession[] Snapshot()
    {
        lock (_lock)
        {
            return [.. _byTsih.Values];
        }
    }

    public IscsiSession? FindExisting(string initiator, ulong isid, string target)
    {
        lock (_lock)
        {
            return _byName.GetValueOrDefault((initiator.ToLowerInvariant(), isid, target.ToLowerInvariant()));
        }
    }

    public bool ContainsTsih(ushort tsih)
    {
        lock (_lock)
        {
            return _byTsih.ContainsKey(tsih);
        }
    }

    /// <summary>Registers a session that completed login, assigning its TSIH; false when <paramref name="maxSessions"/> is reached.</summary>
    public bool TryAdd(IscsiSession session, int maxSessions)
    {
        lock (_lock)
        {
            if (_byTsih.Count >= maxSessions)
            {
                return false;
            }
            do
            {
                _lastTsih = unchecked((ushort)(_lastTsih + 1));
            }
            while (_lastTsih == 0 || _byTsih.ContainsKey(_lastTsih));
            session.Tsih = _lastTsih;
            _byTsih[session.Tsih] = session;
            if (session.Type == SessionType.Normal && session.Target is { } target)
            {
                _byName[(session.InitiatorName.ToLowerInvariant(), session.Isid, target.Name.ToLowerInvariant())] = session;
            }
            return true;
        }
    }

    public void Remove(IscsiSession session)
    {
        lock (_lock)
        {
            if (_byTsih.TryGetValue(session.Tsih, out IscsiSession? s) && ReferenceEquals(s, session))
            {
                _byTsih.Remove(session.Tsih);
            }
            if (session.Target is { } target)
            {
                var key = (session.InitiatorName.ToLowerInvariant(), session.Isid, target.Name.ToLowerInvariant());
                if (_byName.TryGetValue(key, out IscsiSession? n) && ReferenceEquals(n, session))
                {
                    _byName.Remove(key);
                }
            }
        }
    }
}

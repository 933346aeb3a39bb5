namespace CtlHa.Initiator.Login;

/// <summary>The outcome of login negotiation (RFC 7143 §13); defaults are the standard's defaults.</summary>
public sealed record NegotiatedParameters
{
    public bool HeaderDigest { get; init; }

    public bool DataDigest { get; init; }

    /// <summary>What the target declared it can receive: our Data-Out and immediate data segments stay at or under it.</summary>
    public int TargetMaxRecvDataSegmentLength { get; init; } = 8192;

    /// <summary>What we declared: the target's Data-In segments stay at or under it.</summary>
    public int InitiatorMaxRecvDataSegmentLength { get; init; } = 8192;

    public int MaxBurstLength { get; init; } = 262144;

    public int FirstBurstLength { get; init; } = 65536;

    public bool ImmediateData { get; init; } = true;

    public bool InitialR2T { get; init; } = true;

    public int MaxOutstandingR2T { get; init; } = 1;

    public int ErrorRecoveryLevel { get; init; }

    public bool DataPduInOrder { get; init; } = true;

    public bool DataSequenceInOrder { get; init; } = true;

    public int MaxConnections { get; init; } = 1;

    public int DefaultTime2Wait { get; init; } = 2;

    public int DefaultTime2Retain { get; init; } = 20;

    public string? TargetAlias { get; init; }

    public int? TargetPortalGroupTag { get; init; }

    /// <summary>Every key the target sent during login, last value wins.</summary>
    public IReadOnlyDictionary<string, string> TargetKeys { get; init; } = new Dictionary<string, string>();
}

/// <summary>What a successful login returns: the nexus identity and the sequence numbers to continue with.</summary>
public sealed record LoginResult(
    ulong Isid,
    ushort Tsih,
    ushort Cid,
    uint CmdSN,
    uint ExpStatSN,
    uint ExpCmdSN,
    uint MaxCmdSN,
    NegotiatedParameters Parameters);

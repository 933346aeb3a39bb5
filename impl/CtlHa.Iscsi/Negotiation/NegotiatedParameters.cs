namespace CtlHa.Iscsi.Negotiation;

/// <summary>The operational parameters in force for a session / connection (RFC 7143 §13), starting at their defaults.</summary>
public sealed class NegotiatedParameters
{
    public bool HeaderDigest { get; set; }

    public bool DataDigest { get; set; }

    /// <summary>The initiator's MaxRecvDataSegmentLength: the largest data segment we may send (default 8192, §13.12).</summary>
    public int InitiatorMaxRecvDataSegmentLength { get; set; } = 8192;

    /// <summary>Our declared MaxRecvDataSegmentLength: the largest data segment we accept.</summary>
    public int TargetMaxRecvDataSegmentLength { get; set; } = 8192;

    public bool ImmediateData { get; set; } = true;

    public bool InitialR2T { get; set; } = true;

    public int FirstBurstLength { get; set; } = 65536;

    public int MaxBurstLength { get; set; } = 262144;

    public int MaxOutstandingR2T { get; set; } = 1;

    public bool DataPduInOrder { get; set; } = true;

    public bool DataSequenceInOrder { get; set; } = true;

    public int DefaultTime2Wait { get; set; } = 2;

    public int DefaultTime2Retain { get; set; } = 20;

    public int ErrorRecoveryLevel { get; set; }

    public int MaxConnections { get; set; } = 1;

    public override string ToString() =>
        $"HeaderDigest={(HeaderDigest ? "CRC32C" : "None")} DataDigest={(DataDigest ? "CRC32C" : "None")} " +
        $"MRDSL(i/t)={InitiatorMaxRecvDataSegmentLength}/{TargetMaxRecvDataSegmentLength} ImmediateData={ImmediateData} " +
        $"InitialR2T={InitialR2T} FirstBurst={FirstBurstLength} MaxBurst={MaxBurstLength} MaxOutstandingR2T={MaxOutstandingR2T}";
}

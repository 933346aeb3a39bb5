using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CtlHa.Initiator;

/// <summary>Digest choices, RFC 7143 §13.1 (HeaderDigest / DataDigest values).</summary>
public enum DigestKind
{
    None,
    Crc32C,
}

/// <summary>One-way CHAP: the name and secret the initiator proves to the target.</summary>
public sealed record ChapCredentials(string UserName, string Secret);

/// <summary>
/// Mutual CHAP: the secret the target must prove to us, and optionally the name it must present
/// (RFC 7143 §12.1.3: the initiator sends CHAP_I and CHAP_C with its response).
/// </summary>
public sealed record MutualChapCredentials(string Secret, string? TargetUserName = null);

/// <summary>What an initiator session offers at login, and how long it waits for anything.</summary>
public sealed record InitiatorOptions
{
    public string InitiatorName { get; init; } = "iqn.2026-11.org.ctlha:conformance-initiator";

    public string? InitiatorAlias { get; init; }

    /// <summary>
    /// The 6-byte ISID (low 48 bits). Same InitiatorName and ISID as a live session means session reinstatement
    /// (RFC 7143 §6.3.5); a different ISID means a second I_T nexus. Null picks a random-format ISID (type 10b).
    /// </summary>
    public ulong? Isid { get; init; }

    /// <summary>CmdSN of the login request and so of the first command (RFC 7143 §4.2.2.1); set near 2^32 to test wrap-around.</summary>
    public uint InitialCmdSN { get; init; } = 1;

    /// <summary>Connection ID sent at login (RFC 7143 §11.12.7).</summary>
    public ushort Cid { get; init; }

    public ChapCredentials? Chap { get; init; }

    public MutualChapCredentials? MutualChap { get; init; }

    /// <summary>Offered in order of preference.</summary>
    public IReadOnlyList<DigestKind> HeaderDigest { get; init; } = [DigestKind.None];

    public IReadOnlyList<DigestKind> DataDigest { get; init; } = [DigestKind.None];

    /// <summary>Declared to the target: the largest data segment we accept (RFC 7143 §13.12).</summary>
    public int MaxRecvDataSegmentLength { get; init; } = 262144;

    public int MaxBurstLength { get; init; } = 262144;

    public int FirstBurstLength { get; init; } = 65536;

    public bool ImmediateData { get; init; } = true;

    public bool InitialR2T { get; init; }

    public int MaxOutstandingR2T { get; init; } = 1;

    public int DefaultTime2Wait { get; init; } = 2;

    public int DefaultTime2Retain { get; init; } = 20;

    /// <summary>Extra keys appended to the operational-stage request verbatim (for conformance probes).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ExtraOperationalKeys { get; init; } = [];

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan LoginTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Deadline for one SCSI command, including waiting for the CmdSN window.</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan TaskManagementTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan LogoutTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>A random-format ISID: T=10b in the top two bits, 46 random bits (RFC 7143 §11.12.5).</summary>
    public static ulong RandomIsid()
    {
        Span<byte> bytes = stackalloc byte[8];
        RandomNumberGenerator.Fill(bytes);
        var value = BitConverter.ToUInt64(bytes) & 0x0000_3FFF_FFFF_FFFFUL;
        return value | 0x0000_8000_0000_0000UL;
    }
}

using System.Net;

namespace CtlHa.Iscsi;

/// <summary>One iSCSI target (RFC 7143 §4.2.7.1 TargetName, §13.6 TargetAlias).</summary>
public sealed record IscsiTargetDefinition(string Name, string? Alias = null);

/// <summary>CHAP credentials (RFC 7143 §12.1.3). Mutual CHAP when <see cref="MutualUsername"/> and <see cref="MutualSecret"/> are set.</summary>
/// <param name="Username">The CHAP_N the initiator must present.</param>
/// <param name="Secret">The secret the initiator proves (RFC 7143 §12.1.3 asks for at least 12 bytes; not enforced).</param>
public sealed record ChapOptions(string Username, string Secret, string? MutualUsername = null, string? MutualSecret = null);

/// <summary>Configuration of the iSCSI frontend.</summary>
public sealed class IscsiTargetOptions
{
    /// <summary>Where to listen. Port 0 binds an ephemeral port (see <see cref="IscsiTargetServer.BoundEndpoints"/>).</summary>
    public IList<IPEndPoint> Portals { get; init; } = [new IPEndPoint(IPAddress.Any, 3260)];

    public IList<IscsiTargetDefinition> Targets { get; init; } = [];

    /// <summary>TargetPortalGroupTag (RFC 7143 §13.9) reported at login and in SendTargets.</summary>
    public ushort TargetPortGroupTag { get; init; } = 1;

    /// <summary>SPC-5 relative target port identifier given to every <see cref="CtlHa.Core.ITNexus"/>; never 0.</summary>
    public ushort RelativeTargetPortId { get; init; } = 1;

    /// <summary>CHAP credentials; null means AuthMethod=None.</summary>
    public ChapOptions? Chap { get; init; }

    /// <summary>
    /// Addresses advertised as TargetAddress in SendTargets ("host:port" or "[v6]:port"). Empty: the local address the
    /// initiator connected to.
    /// </summary>
    public IList<string> AdvertisedPortals { get; init; } = [];

    public int MaxSessions { get; init; } = 256;

    /// <summary>Commands a session may have outstanding: the CmdSN window (MaxCmdSN - ExpCmdSN + 1).</summary>
    public int MaxOutstandingCommands { get; init; } = 128;

    /// <summary>MaxRecvDataSegmentLength we declare (RFC 7143 §13.12); also the largest data segment we accept.</summary>
    public int MaxRecvDataSegmentLength { get; init; } = 262144;

    /// <summary>Our MaxBurstLength offer (RFC 7143 §13.14, minimum of both sides).</summary>
    public int MaxBurstLength { get; init; } = 1048576;

    /// <summary>Our FirstBurstLength offer (RFC 7143 §13.15, minimum of both sides).</summary>
    public int FirstBurstLength { get; init; } = 65536;

    /// <summary>
    /// Whether we allow immediate data (RFC 7143 §13.11, AND of both sides). Yes saves a PDU per small write; No makes
    /// every write's data travel in Data-Out PDUs (some test tools and old initiators expect to be able to force that).
    /// </summary>
    public bool ImmediateData { get; init; } = true;

    /// <summary>Our MaxOutstandingR2T offer (RFC 7143 §13.17).</summary>
    public int MaxOutstandingR2T { get; init; } = 4;

    /// <summary>Largest Expected Data Transfer Length accepted for a write (the frontend buffers write data).</summary>
    public int MaxWriteTransferLength { get; init; } = 16 * 1024 * 1024;

    /// <summary>A login that does not reach full feature phase within this time is dropped.</summary>
    public TimeSpan LoginTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Idle time after which the target pings with a NOP-In (RFC 7143 §11.19); zero disables.</summary>
    public TimeSpan NopInInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a target ping may go unanswered before the connection is dropped.</summary>
    public TimeSpan NopInTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long logout and shutdown wait for outstanding commands.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

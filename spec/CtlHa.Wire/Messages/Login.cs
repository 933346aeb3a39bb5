using MessagePack;

namespace CtlHa.Wire;

/// <summary>
/// Each node's parameters, sent once after authentication (CTL_MSG_LOGIN, ctl-ha.md §4.2). Union key 2.
/// The receiver compares in the order of <see cref="LoginField"/> and on the first mismatch sends
/// <see cref="Goodbye"/>(LoginMismatch) naming the field and both values, then closes.
/// </summary>
/// <param name="ProtocolVersion">Must equal <see cref="WireLimits.ProtocolVersion"/> on both sides.</param>
/// <param name="Mode">HA mode; must be equal.</param>
/// <param name="NodeId">1 or 2; must differ.</param>
/// <param name="ClusterName">1..64 of [A-Za-z0-9._-]; must be equal (guards against cross-wired pairs).</param>
/// <param name="MaxLuns">1..16384; must be equal.</param>
/// <param name="MaxPorts">2..4096 and even (each node owns half the port space); must be equal.</param>
/// <param name="MaxInitiatorsPerPort">1..2048; must be equal.</param>
/// <param name="MaxFrameLength">Largest frame payload the sender accepts, MinFrameLength..MaxFrameLength;
/// the receiver must never send a larger frame. Not compared.</param>
/// <param name="SoftwareVersion">Free printable ASCII ≤ 64 characters, for logs only. Not compared.</param>
[MessagePackObject]
public sealed record Login(
    [property: Key(0)] uint ProtocolVersion,
    [property: Key(1)] HaMode Mode,
    [property: Key(2)] byte NodeId,
    [property: Key(3)] string ClusterName,
    [property: Key(4)] uint MaxLuns,
    [property: Key(5)] uint MaxPorts,
    [property: Key(6)] uint MaxInitiatorsPerPort,
    [property: Key(7)] uint MaxFrameLength,
    [property: Key(8)] string SoftwareVersion) : InterlinkMessage
{
    /// <summary>Version is not range-checked here: a different version is a LoginMismatch, not a bad frame.</summary>
    public override void Validate()
    {
        WireCheck.Defined(Mode, "Login.Mode");
        WireCheck.Range(NodeId, WireLimits.MinNodeId, WireLimits.MaxNodeId, "Login.NodeId");
        WireCheck.NotNull(ClusterName, "Login.ClusterName");
        if (!IsValidClusterName(ClusterName))
        {
            WireCheck.Fail(InterlinkErrorKind.OutOfRange, $"Login.ClusterName must be 1..{WireLimits.MaxClusterNameLength} of [A-Za-z0-9._-]");
        }

        WireCheck.Range(MaxLuns, 1, WireLimits.MaxLunsLimit, "Login.MaxLuns");
        WireCheck.Range(MaxPorts, 2, WireLimits.MaxPortsLimit, "Login.MaxPorts");
        if (MaxPorts % 2 != 0)
        {
            WireCheck.Fail(InterlinkErrorKind.OutOfRange, $"Login.MaxPorts={MaxPorts} must be even");
        }

        WireCheck.Range(MaxInitiatorsPerPort, 1, WireLimits.MaxInitiatorsPerPortLimit, "Login.MaxInitiatorsPerPort");
        WireCheck.Range(MaxFrameLength, WireLimits.MinFrameLength, WireLimits.MaxFrameLength, "Login.MaxFrameLength");
        WireCheck.Printable(SoftwareVersion, 0, WireLimits.MaxSoftwareVersionLength, "Login.SoftwareVersion");
    }

    /// <summary>True for 1..64 characters of [A-Za-z0-9._-].</summary>
    public static bool IsValidClusterName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > WireLimits.MaxClusterNameLength)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }
}

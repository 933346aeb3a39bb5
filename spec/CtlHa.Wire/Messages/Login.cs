using MessagePack;

namespace CtlHa.Wire;

/// <summary>
/// Each node's parameters, sent once after authentication (CTL_MSG_LOGIN, ctl-ha.md §4.2). Union key 2.
/// The receiver compares with <see cref="LoginCheck.Compare"/> (order of <see cref="LoginField"/>) and on the
/// first mismatch sends <see cref="Goodbye"/>(LoginMismatch) naming the field and both values, then closes.
/// </summary>
/// <param name="ProtocolVersion">Must equal <see cref="WireLimits.ProtocolVersion"/> on both sides.</param>
/// <param name="Mode">HA mode; must be equal.</param>
/// <param name="NodeId">1 or 2; must differ.</param>
/// <param name="ClusterName">1..64 of [A-Za-z0-9._-] (≤ 64 printable ASCII accepted on receipt); must be equal (guards against cross-wired pairs).</param>
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
    /// <summary>
    /// Only what the receiver needs to parse and log safely is checked here. Version, mode, node id and the
    /// limits are <em>compared</em> (<see cref="LoginCheck.Compare"/>), not range-checked: a misconfigured
    /// peer gets a precise LoginMismatch naming the field and both values, not an anonymous protocol error.
    /// </summary>
    public override void Validate()
    {
        WireCheck.Printable(ClusterName, 0, WireLimits.MaxClusterNameLength, "Login.ClusterName");
        WireCheck.Range(MaxFrameLength, WireLimits.MinFrameLength, WireLimits.MaxFrameLength, "Login.MaxFrameLength");
        WireCheck.Printable(SoftwareVersion, 0, WireLimits.MaxSoftwareVersionLength, "Login.SoftwareVersion");
    }

    /// <summary>
    /// What a node may announce about itself (checked on its own configuration before it connects):
    /// version = ProtocolVersion, a defined mode, node id 1 or 2, a valid cluster name, MaxLuns 1..16384,
    /// MaxPorts even in 2..4096, MaxInitiatorsPerPort 1..2048. Returns null or the first problem.
    /// </summary>
    public string? CheckOwnConfiguration()
    {
        if (ProtocolVersion != WireLimits.ProtocolVersion)
        {
            return $"protocol version {ProtocolVersion} is not {WireLimits.ProtocolVersion}";
        }

        if (!Enum.IsDefined(Mode))
        {
            return $"HA mode {(byte)Mode} is not standby, shared or proxy";
        }

        if (NodeId is < WireLimits.MinNodeId or > WireLimits.MaxNodeId)
        {
            return $"node id {NodeId} is not 1 or 2";
        }

        if (!IsValidClusterName(ClusterName))
        {
            return $"cluster name '{ClusterName}' must be 1..{WireLimits.MaxClusterNameLength} of [A-Za-z0-9._-]";
        }

        if (MaxLuns is < 1 or > WireLimits.MaxLunsLimit)
        {
            return $"max LUNs {MaxLuns} outside 1..{WireLimits.MaxLunsLimit}";
        }

        if (MaxPorts is < 2 or > WireLimits.MaxPortsLimit || MaxPorts % 2 != 0)
        {
            return $"max ports {MaxPorts} must be even in 2..{WireLimits.MaxPortsLimit}";
        }

        if (MaxInitiatorsPerPort is < 1 or > WireLimits.MaxInitiatorsPerPortLimit)
        {
            return $"max initiators per port {MaxInitiatorsPerPort} outside 1..{WireLimits.MaxInitiatorsPerPortLimit}";
        }

        try
        {
            Validate();
        }
        catch (InterlinkProtocolException ex)
        {
            return ex.Message;
        }

        return null;
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

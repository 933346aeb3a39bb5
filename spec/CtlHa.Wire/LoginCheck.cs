namespace CtlHa.Wire;

/// <summary>The first Login mismatch, with both values as text (for Goodbye, logs and status).</summary>
/// <param name="Field">Which check failed.</param>
/// <param name="LocalValue">This node's value.</param>
/// <param name="PeerValue">The peer's value.</param>
public sealed record LoginMismatch(LoginField Field, string LocalValue, string PeerValue)
{
    /// <summary>One log line naming the field and both values.</summary>
    public override string ToString() => Field switch
    {
        LoginField.NodeIdSame => $"node id is the same on both sides: local {LocalValue}, peer {PeerValue}",
        LoginField.NodeIdInvalid => $"node id must be 1 or 2: local {LocalValue}, peer {PeerValue}",
        _ => $"{LoginCheck.FieldName(Field)} differs: local {LocalValue}, peer {PeerValue}",
    };
}

/// <summary>
/// The Login comparison both nodes run (PROTOCOL.md §4.3; the wire twin of CtlHa.Spec LoginValidation.Compare,
/// which conformance tests check it against). Symmetric: Compare(a, b) names the same field as Compare(b, a).
/// </summary>
public static class LoginCheck
{
    /// <summary>Null when the peers may link; else the first mismatch in <see cref="LoginField"/> order.</summary>
    public static LoginMismatch? Compare(Login local, Login peer)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(peer);
        if (local.ProtocolVersion != peer.ProtocolVersion)
        {
            return new(LoginField.ProtocolVersion, Text(local.ProtocolVersion), Text(peer.ProtocolVersion));
        }

        if (local.Mode != peer.Mode)
        {
            return new(LoginField.HaMode, ModeName(local.Mode), ModeName(peer.Mode));
        }

        if (local.NodeId == peer.NodeId)
        {
            return new(LoginField.NodeIdSame, Text(local.NodeId), Text(peer.NodeId));
        }

        if (local.NodeId is not (1 or 2) || peer.NodeId is not (1 or 2))
        {
            return new(LoginField.NodeIdInvalid, Text(local.NodeId), Text(peer.NodeId));
        }

        if (!string.Equals(local.ClusterName, peer.ClusterName, StringComparison.Ordinal))
        {
            return new(LoginField.ClusterName, local.ClusterName, peer.ClusterName);
        }

        if (local.MaxLuns != peer.MaxLuns)
        {
            return new(LoginField.MaxLuns, Text(local.MaxLuns), Text(peer.MaxLuns));
        }

        if (local.MaxPorts != peer.MaxPorts)
        {
            return new(LoginField.MaxPorts, Text(local.MaxPorts), Text(peer.MaxPorts));
        }

        return local.MaxInitiatorsPerPort != peer.MaxInitiatorsPerPort
            ? new(LoginField.MaxInitiatorsPerPort, Text(local.MaxInitiatorsPerPort), Text(peer.MaxInitiatorsPerPort))
            : null;
    }

    /// <summary>The Goodbye a node sends for <paramref name="mismatch"/> (SenderValue = its own value).</summary>
    public static Goodbye ToGoodbye(LoginMismatch mismatch)
    {
        ArgumentNullException.ThrowIfNull(mismatch);
        return new Goodbye(GoodbyeReason.LoginMismatch, mismatch.Field, Clip(mismatch.LocalValue), Clip(mismatch.PeerValue), Clip(mismatch.ToString()));
    }

    /// <summary>Human name of a field, as in logs and <c>ctlha status</c>.</summary>
    public static string FieldName(LoginField field) => field switch
    {
        LoginField.ProtocolVersion => "protocol version",
        LoginField.HaMode => "HA mode",
        LoginField.NodeIdSame or LoginField.NodeIdInvalid => "node id",
        LoginField.ClusterName => "cluster",
        LoginField.MaxLuns => "max LUNs",
        LoginField.MaxPorts => "max ports",
        LoginField.MaxInitiatorsPerPort => "max initiators per port",
        _ => "none",
    };

    /// <summary>Lower-case mode name as on the command line, or the number for an undefined value.</summary>
    public static string ModeName(HaMode mode) =>
        Enum.IsDefined(mode) ? mode.ToString().ToLowerInvariant() : ((byte)mode).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string Text<T>(T value)
        where T : IFormattable => value.ToString(null, System.Globalization.CultureInfo.InvariantCulture);

    private static string Clip(string text)
    {
        var printable = new string(text.Select(c => c is >= ' ' and <= '~' ? c : '?').ToArray());
        return printable.Length <= WireLimits.MaxGoodbyeTextLength ? printable : printable[..WireLimits.MaxGoodbyeTextLength];
    }
}

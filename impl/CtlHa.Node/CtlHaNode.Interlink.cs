using CtlHa.Interlink;
using CtlHa.Wire;
using Microsoft.Extensions.Logging;

namespace CtlHa.Node;

/// <summary>The node's interlink: built from --ha-id, --mode, --peer, --psk-file, --cluster.</summary>
public sealed partial class CtlHaNode
{
    /// <summary>Builds the interlink options from the settings, or null when this node has no peer.</summary>
    internal static InterlinkOptions? BuildInterlinkOptions(NodeSettings s)
    {
        if (s.Peer is not { } peer)
        {
            return null;
        }
        var options = new InterlinkOptions
        {
            NodeId = (byte)s.HaId,
            Mode = s.Mode switch
            {
                HaModeSetting.Standby => HaMode.Standby,
                HaModeSetting.Shared => HaMode.Shared,
                _ => HaMode.Proxy,
            },
            ClusterName = s.Cluster,
            Peer = peer,
            Psk = s.PskFile is { } f ? ReadPsk(f) : null,
            AllowUnauthenticated = s.AllowUnauthenticated,
            DeadAfter = s.PeerDeadAfter,
        };
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new SettingsException($"interlink: {e.Message}");
        }
        return options;
    }

    /// <summary>Reads --psk-file with the wire contract's rule (hex text or raw bytes), as ctlha-conform does.</summary>
    internal static byte[] ReadPsk(string path)
    {
        try
        {
            return InterlinkAuth.ReadKeyFile(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            throw new SettingsException($"--psk-file '{path}': {e.Message}");
        }
    }
}

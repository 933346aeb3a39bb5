using System.Text;
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
            Peer = new InterlinkEndpoint(peer.Listen ? InterlinkSide.Listen : InterlinkSide.Connect, peer.EndPoint),
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

    /// <summary>
    /// Reads a pre-shared key file: hex text (as `ctlha pair` writes it) or any other text/bytes taken as is.
    /// At least 16 bytes of key material.
    /// </summary>
    internal static byte[] ReadPsk(string path)
    {
        byte[] raw;
        try
        {
            raw = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SettingsException($"--psk-file '{path}': {e.Message}");
        }
        string text = Encoding.UTF8.GetString(raw).Trim();
        byte[] key = text.Length >= 32 && text.Length % 2 == 0 && text.All(Uri.IsHexDigit)
            ? Convert.FromHexString(text)
            : raw;
        return key.Length >= 16 ? key : throw new SettingsException($"--psk-file '{path}' holds {key.Length} bytes; a key needs at least 16");
    }
}

using System.Net;
using System.Security.Cryptography;
using CtlHa.Interlink;

namespace CtlHa.Node;

/// <summary>
/// `ctlha pair` defaults (DESIGN.md): node A iSCSI P, node B P+1, interlink P+2 (A listens, B connects),
/// control A P+3, control B P+4; one target iqn.2026-11.org.ctlha:pair; LUN 0 backed by DIR/lun0.img; A primary.
/// </summary>
public sealed record PairSettings(NodeSettings A, NodeSettings B)
{
    public const string PairTarget = "iqn.2026-11.org.ctlha:pair";

    public static PairSettings Create(HaModeSetting mode, string dir, long sizeBytes, int basePort)
    {
        if (basePort is < 1 or > 65535 - 4)
        {
            throw new SettingsException($"--base-port {basePort} leaves no room for P..P+4 (1..65531)");
        }
        Directory.CreateDirectory(dir);
        string lun = Path.Combine(dir, "lun0.img");
        string? psk = null;
        if (mode != HaModeSetting.Unavailable)
        {
            psk = Path.Combine(dir, "interlink.psk");
            if (!File.Exists(psk))
            {
                File.WriteAllText(psk, Convert.ToHexString(RandomNumberGenerator.GetBytes(32)) + "\n");
                if (!OperatingSystem.IsWindows())
                {
                    File.SetUnixFileMode(psk, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                }
            }
        }
        var loopback = IPAddress.Loopback;
        NodeSettings Node(int id, RoleSetting role)
        {
            var s = new NodeSettings
            {
                Name = id == 1 ? "A" : "B",
                Target = PairTarget,
                HaId = id,
                Mode = mode,
                Role = role,
                PskFile = psk,
                Control = new IPEndPoint(loopback, basePort + 2 + id),
            };
            s.Portals.Add(new IPEndPoint(loopback, basePort + id - 1));
            s.Luns.Add(new LunSetting(lun, sizeBytes));
            if (mode != HaModeSetting.Unavailable)
            {
                s.Peer = new InterlinkEndpoint(id == 1 ? InterlinkSide.Listen : InterlinkSide.Connect, new IPEndPoint(loopback, basePort + 2));
            }
            return s;
        }
        return new PairSettings(Node(1, RoleSetting.Primary), Node(2, RoleSetting.Secondary));
    }
}

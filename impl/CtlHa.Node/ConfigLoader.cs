using Microsoft.Extensions.Configuration;

namespace CtlHa.Node;

/// <summary>
/// Reads `ctlha node --config FILE` JSON into <see cref="NodeSettings"/>. Keys match the flags:
/// <c>{ "Portals": ["127.0.0.1:3260"], "Target": "iqn...", "Luns": ["a.img:1G"], "HaId": 1, "Mode": "proxy",
/// "Peer": "listen:127.0.0.1:3262", "Role": "primary", "PskFile": "psk", "Control": "127.0.0.1:3263",
/// "SerSeq": "read", "Cluster": "ctlha", "Chap": { "User": "u", "Secret": "s", "MutualUser": "t", "MutualSecret": "m" } }</c>.
/// Unknown keys are an error, so a typo is not silently ignored.
/// </summary>
internal static class ConfigLoader
{
    private static readonly HashSet<string> Known = new(StringComparer.OrdinalIgnoreCase)
    {
        "Name", "Portals", "Target", "Luns", "HaId", "Mode", "Peer", "Role", "PskFile", "AllowUnauthenticated",
        "Cluster", "Control", "SerSeq", "ReadOnly", "PhysicalBlockSize", "ImmediateData", "Chap", "PeerDeadAfterMs", "PromotionTimeMs", "InlineIo",
    };

    public static void Apply(NodeSettings s, IConfiguration cfg)
    {
        foreach (var child in cfg.GetChildren())
        {
            if (!Known.Contains(child.Key))
            {
                throw new SettingsException($"--config: unknown key '{child.Key}' (known: {string.Join(", ", Known.Order())})");
            }
        }
        if (cfg["Name"] is { } name)
        {
            s.Name = name;
        }
        foreach (var p in cfg.GetSection("Portals").GetChildren())
        {
            s.Portals.Add(NodeSettings.ParseEndPoint(p.Value ?? "", "config Portals"));
        }
        foreach (var l in cfg.GetSection("Luns").GetChildren())
        {
            s.Luns.Add(NodeSettings.ParseLun(l.Value ?? ""));
        }
        s.Target = cfg["Target"] ?? s.Target;
        if (cfg["HaId"] is { } haId)
        {
            s.HaId = int.TryParse(haId, out int id) ? id : throw new SettingsException($"config HaId '{haId}' is not a number");
        }
        if (cfg["Mode"] is { } mode)
        {
            s.Mode = ParseEnum<HaModeSetting>(mode, "Mode");
        }
        if (cfg["Peer"] is { } peer)
        {
            s.Peer = NodeSettings.ParsePeer(peer);
        }
        if (cfg["Role"] is { } role)
        {
            s.Role = ParseEnum<RoleSetting>(role, "Role");
        }
        s.PskFile = cfg["PskFile"] ?? s.PskFile;
        s.AllowUnauthenticated = ParseBool(cfg["AllowUnauthenticated"], "AllowUnauthenticated") ?? s.AllowUnauthenticated;
        s.Cluster = cfg["Cluster"] ?? s.Cluster;
        if (cfg["Control"] is { } control)
        {
            s.Control = NodeSettings.ParseEndPoint(control, "config Control");
        }
        if (cfg["SerSeq"] is { } serseq)
        {
            s.SerSeq = ParseEnum<SerSeqSetting>(serseq, "SerSeq");
        }
        s.ReadOnly = ParseBool(cfg["ReadOnly"], "ReadOnly") ?? s.ReadOnly;
        s.InlineIo = ParseBool(cfg["InlineIo"], "InlineIo") ?? s.InlineIo;
        s.ImmediateData = ParseBool(cfg["ImmediateData"], "ImmediateData") ?? s.ImmediateData;
        if (cfg["PhysicalBlockSize"] is { } physical)
        {
            s.PhysicalBlockSize = int.TryParse(physical, out int bytes)
                ? bytes
                : throw new SettingsException($"config PhysicalBlockSize '{physical}' is not a number of bytes");
        }
        if (cfg["PromotionTimeMs"] is { } promotion)
        {
            s.PromotionTime = int.TryParse(promotion, out int pms) && pms is >= 0 and <= 250_000
                ? TimeSpan.FromMilliseconds(pms)
                : throw new SettingsException($"config PromotionTimeMs '{promotion}' must be 0..250000");
        }
        if (cfg["PeerDeadAfterMs"] is { } dead)
        {
            s.PeerDeadAfter = int.TryParse(dead, out int ms) && ms is >= 100 and <= 60_000
                ? TimeSpan.FromMilliseconds(ms)
                : throw new SettingsException($"config PeerDeadAfterMs '{dead}' must be 100..60000");
        }
        var chap = cfg.GetSection("Chap");
        s.ChapUser = chap["User"] ?? s.ChapUser;
        s.ChapSecret = chap["Secret"] ?? s.ChapSecret;
        s.MutualChapUser = chap["MutualUser"] ?? s.MutualChapUser;
        s.MutualChapSecret = chap["MutualSecret"] ?? s.MutualChapSecret;
    }

    private static T ParseEnum<T>(string text, string key) where T : struct, Enum =>
        Enum.TryParse<T>(text, ignoreCase: true, out var v) && Enum.IsDefined(v)
            ? v
            : throw new SettingsException($"config {key} '{text}' must be one of {string.Join(", ", Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))}");

    private static bool? ParseBool(string? text, string key) =>
        text is null ? null : bool.TryParse(text, out bool b) ? b : throw new SettingsException($"config {key} '{text}' must be true or false");
}

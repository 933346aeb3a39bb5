namespace CtlHa.Node;

/// <summary>What `ctlha status` shows (and `--json` prints): the node, its interlink and every LUN's HA view.</summary>
public sealed record NodeStatus(
    string Name,
    int HaId,
    string Mode,
    LinkStatus Link,
    IReadOnlyList<LunStatus> Luns,
    IReadOnlyList<string> Portals,
    int Sessions);

/// <param name="State">offline | connecting | authenticating | logging-in | online | rejected</param>
/// <param name="LastRejection">the last mismatch or failure, naming the field and both values</param>
public sealed record LinkStatus(string State, string? Peer, string? LastRejection, DateTimeOffset? Since);

/// <param name="Groups">ALUA target port groups as RTPG reports them through this node.</param>
public sealed record LunStatus(int Lun, string Role, string PeerRole, string Path, long SizeBytes, IReadOnlyList<GroupStatus> Groups, string? Conflict);

public sealed record GroupStatus(int Id, string State, IReadOnlyList<int> RelativePorts);

public sealed record RoleRequest(string Role, int? Lun);

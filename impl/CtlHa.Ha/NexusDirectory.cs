using System.Text;
using CtlHa.Core;
using CtlHa.Scsi.Reservations;
using W = CtlHa.Wire;

namespace CtlHa.Ha;

/// <summary>
/// Initiator indexes shared by both nodes (ctl-ha.md §4.3 IID_SYNC): every I_T nexus is (relative target port,
/// initiator id), index = port · 2048 + id. The node owning the port assigns the id and announces it (InitiatorSync);
/// the other node learns it and builds a stand-in <see cref="ITNexus"/> for the peer's initiator (negative Id, so it never
/// collides with a frontend's). Ids are never reused, so a registration made by a gone nexus keeps its index.
/// </summary>
internal sealed class NexusDirectory
{
    /// <summary>Ids the owner assigns stay below this; ids synthesized for unknown foreign identities start here.</summary>
    private const uint SynthesizedBase = 1024;

    private readonly Lock _lock = new();
    private readonly Dictionary<(ushort Port, string InitiatorPort), uint> _byIdentity = [];
    private readonly Dictionary<uint, PrNexus> _byIndex = [];
    private readonly Dictionary<uint, ITNexus> _remote = [];
    private readonly Dictionary<ushort, uint> _nextId = [];
    private readonly Dictionary<ushort, uint> _nextSynthesized = [];
    private readonly Dictionary<ushort, string> _peerTargetNames = [];

    /// <summary>The index of a nexus of this node's own ports, assigning one on first sight.</summary>
    public uint IndexOfLocal(ITNexus nexus) => IndexOf(PrNexus.From(nexus), synthesize: false);

    /// <summary>The index of any identity; unknown ones get a synthesized id (for snapshots of old registrations).</summary>
    public uint IndexOf(PrNexus nexus) => IndexOf(nexus, synthesize: true);

    private uint IndexOf(PrNexus nexus, bool synthesize)
    {
        var key = (nexus.RelativeTargetPortId, nexus.InitiatorPortName);
        lock (_lock)
        {
            if (_byIdentity.TryGetValue(key, out uint index))
            {
                return index;
            }
            var counters = synthesize ? _nextSynthesized : _nextId;
            counters.TryGetValue(nexus.RelativeTargetPortId, out uint next);
            uint id = (synthesize ? SynthesizedBase : 0) + next;
            counters[nexus.RelativeTargetPortId] = next + 1;
            index = Index(nexus.RelativeTargetPortId, id);
            _byIdentity[key] = index;
            _byIndex[index] = nexus;
            return index;
        }
    }

    public static uint Index(uint port, uint initiatorId) => (port * W.WireLimits.MaxInitiatorsPerPortLimit) + initiatorId;

    public static W.Nexus WireNexus(uint index, int lun) =>
        new(index / W.WireLimits.MaxInitiatorsPerPortLimit, index % W.WireLimits.MaxInitiatorsPerPortLimit, (uint)lun);

    public PrNexus? Identity(uint index)
    {
        lock (_lock)
        {
            return _byIndex.TryGetValue(index, out var n) ? n : null;
        }
    }

    /// <summary>The peer announced (or retired) one of its initiators.</summary>
    public void Learn(W.InitiatorSync sync)
    {
        uint index = Index(sync.PortNumber, sync.InitiatorId);
        if (!sync.InUse)
        {
            return; // the id stays reserved: registrations may still name it
        }
        ulong isid = 0;
        foreach (byte b in sync.Isid)
        {
            isid = (isid << 8) | b;
        }
        var identity = new PrNexus(sync.Name, isid, (ushort)sync.PortNumber);
        lock (_lock)
        {
            // A restarted peer numbers its initiators afresh: forget whoever held this index before.
            if (_byIndex.TryGetValue(index, out var previous) && previous != identity)
            {
                _byIdentity.Remove((previous.RelativeTargetPortId, previous.InitiatorPortName));
            }
            _byIndex[index] = identity;
            _byIdentity[(identity.RelativeTargetPortId, identity.InitiatorPortName)] = index;
            _remote.Remove(index);
        }
    }

    public void LearnPort(W.PortSync port)
    {
        lock (_lock)
        {
            _peerTargetNames[(ushort)port.PortNumber] = port.TargetName;
        }
    }

    /// <summary>The stand-in nexus for the peer's initiator <paramref name="index"/>, or null if never announced.</summary>
    public ITNexus? RemoteNexus(uint index)
    {
        lock (_lock)
        {
            if (_remote.TryGetValue(index, out var nexus))
            {
                return nexus;
            }
            if (!_byIndex.TryGetValue(index, out var identity))
            {
                return null;
            }
            _peerTargetNames.TryGetValue(identity.RelativeTargetPortId, out var targetName);
            nexus = new ITNexus(-1 - (long)index, identity.InitiatorName, identity.Isid, targetName ?? string.Empty, identity.RelativeTargetPortId);
            _remote[index] = nexus;
            return nexus;
        }
    }

    /// <summary>InitiatorSync for a local nexus (ISID as 6 big-endian bytes).</summary>
    public static W.InitiatorSync Announce(uint index, ITNexus nexus, bool inUse)
    {
        var isid = new byte[W.WireLimits.IsidLength];
        for (int i = 0; i < isid.Length; i++)
        {
            isid[i] = (byte)(nexus.Isid >> (8 * (isid.Length - 1 - i)));
        }
        return new W.InitiatorSync(index / W.WireLimits.MaxInitiatorsPerPortLimit, index % W.WireLimits.MaxInitiatorsPerPortLimit,
            inUse, inUse ? nexus.InitiatorName : string.Empty, inUse ? isid : []);
    }

    /// <summary>Parses an iSCSI TransportID format 01b ("name,i,0x&lt;ISID&gt;", SPC-5 §7.6.4.6) into name and ISID.</summary>
    public static (string Name, ulong Isid)? ParseTransportId(ReadOnlySpan<byte> transportId)
    {
        if (transportId.Length < 5 || (transportId[0] & 0x0F) != 0x05)
        {
            return null;
        }
        var text = Encoding.UTF8.GetString(transportId[4..]).TrimEnd('\0');
        int marker = text.LastIndexOf(",i,0x", StringComparison.OrdinalIgnoreCase);
        if (marker < 0 || !ulong.TryParse(text.AsSpan(marker + 5), System.Globalization.NumberStyles.HexNumber, null, out ulong isid))
        {
            return null;
        }
        return (text[..marker], isid);
    }
}

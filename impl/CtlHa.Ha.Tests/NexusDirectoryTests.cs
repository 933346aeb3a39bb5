using CtlHa.Core;
using CtlHa.Scsi.Reservations;
using W = CtlHa.Wire;

namespace CtlHa.Ha.Tests;

public sealed class NexusDirectoryTests
{
    [Fact]
    public void Local_nexuses_get_stable_indexes_per_port_and_the_peer_learns_them()
    {
        var local = new NexusDirectory();
        var n1 = new ITNexus(1, "iqn.a", 0x11, "t", 257);
        var n2 = new ITNexus(2, "iqn.b", 0x22, "t", 257);
        uint i1 = local.IndexOfLocal(n1);
        uint i2 = local.IndexOfLocal(n2);
        Assert.Equal(257u * 2048, i1);
        Assert.Equal(i1 + 1, i2);
        Assert.Equal(i1, local.IndexOfLocal(n1 with { Id = 99 })); // a reinstated session keeps its index

        var peer = new NexusDirectory();
        peer.Learn(NexusDirectory.Announce(i2, n2, inUse: true));
        var remote = peer.RemoteNexus(i2)!;
        Assert.True(remote.Id < 0);
        Assert.Equal(("iqn.b", 0x22UL, (ushort)257), (remote.InitiatorName, remote.Isid, remote.RelativeTargetPortId));
        Assert.Null(peer.RemoteNexus(i1));
    }

    [Fact]
    public void A_restarted_peer_reusing_an_index_replaces_the_old_identity()
    {
        var peer = new NexusDirectory();
        peer.Learn(new W.InitiatorSync(257, 0, true, "iqn.old", [0, 0, 0, 0, 0, 1]));
        peer.Learn(new W.InitiatorSync(257, 0, true, "iqn.new", [0, 0, 0, 0, 0, 2]));
        Assert.Equal("iqn.new", peer.Identity(257 * 2048)!.Value.InitiatorName);
        uint old = peer.IndexOf(new PrNexus("iqn.old", 1, 257));
        Assert.NotEqual(257u * 2048, old); // synthesized, not the reused index
    }

    [Fact]
    public void Iscsi_transport_ids_round_trip()
    {
        var nexus = new PrNexus("iqn.2026-01.org.example:host", 0x23D000000001, 1);
        var parsed = NexusDirectory.ParseTransportId(PrInData.IscsiTransportId(nexus));
        Assert.Equal(("iqn.2026-01.org.example:host", 0x23D000000001UL), parsed);
        Assert.Null(NexusDirectory.ParseTransportId([0x00, 0, 0, 4, 1, 2, 3, 4]));
    }

    [Fact]
    public void Sense_bytes_round_trip_in_both_formats()
    {
        var sense = new Sense(SenseKey.HardwareError, 0x44, 0x00).WithSks(0x807A69).WithInformation(0x1234);
        foreach (bool descriptor in new[] { false, true })
        {
            var (parsed, isDescriptor) = SenseBytes.Parse(sense.ToArray(descriptor))!.Value;
            Assert.Equal(descriptor, isDescriptor);
            Assert.Equal(sense, parsed);
        }
        var outcome = SenseBytes.Decode(0x02, sense.ToArray(false), reportTaskAborted: false);
        Assert.Equal(ScsiStatus.CheckCondition, outcome.Status);
        Assert.True(SenseBytes.Decode(0x40, [], reportTaskAborted: true).ReportTaskAborted);
    }
}

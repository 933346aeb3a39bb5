using System.Buffers.Binary;
using System.Net.Http.Json;
using CtlHa.Conformance.Node;
using CtlHa.Initiator;
using CtlHa.Initiator.Scsi;

namespace CtlHa.Conformance.Tests.Node;

/// <summary>
/// Online resize through the control API of a real <c>ctlha node</c> process (POST /lun/resize): the initiator's
/// next command gets 06/2A/09 CAPACITY DATA HAS CHANGED, READ CAPACITY shows the new size; shrinking is refused.
/// </summary>
[Collection(NodeCollection.Name)]
public sealed class ResizeControlTests
{
    private const int Blocks = 64;

    [Fact(Timeout = 180_000)]
    public async Task Resize_through_the_control_API_raises_capacity_changed_and_refuses_to_shrink()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await using var node = await NodeProcess.StartAsync(new NodeProcessOptions { LunSizes = [Blocks * 512], Control = true }, cts.Token);
        await using var session = await IscsiInitiatorSession.ConnectAsync(node.Host, node.Port, node.TargetName,
            new InitiatorOptions { InitiatorName = "iqn.2026-11.org.ctlha:resize-test" }, cts.Token);
        for (int i = 0; i < 10 && !(await session.ExecuteAsync(0, Cdb.TestUnitReady(), default, 0, TaskAttribute.Simple, cts.Token)).IsGood; i++)
        {
            // POWER ON / reset UAs of a new nexus: drained, at most a few.
        }
        Assert.Equal(Blocks - 1, await LastLbaAsync(session, cts.Token));

        // Black box, as the fixture treats the node: plain HTTP to the control API (DESIGN.md / ControlServer).
        using var control = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{node.ControlPort!.Value}/") };
        using (var grown = await control.PostAsJsonAsync("lun/resize", new { lun = 0, sizeBytes = 2 * Blocks * 512 }, cts.Token))
        {
            Assert.True(grown.IsSuccessStatusCode, await grown.Content.ReadAsStringAsync(cts.Token));
        }

        var next = await session.ExecuteAsync(0, Cdb.TestUnitReady(), default, 0, TaskAttribute.Simple, cts.Token);
        Assert.Equal(ScsiStatus.CheckCondition, next.Status);
        Assert.Equal((SenseKey.UnitAttention, (byte)0x2A, (byte)0x09), (next.SenseData!.Key, next.SenseData.Asc, next.SenseData.Ascq));
        Assert.Equal(2 * Blocks - 1, await LastLbaAsync(session, cts.Token));

        using (var shrunk = await control.PostAsJsonAsync("lun/resize", new { lun = 0, sizeBytes = Blocks * 512 }, cts.Token))
        {
            Assert.False(shrunk.IsSuccessStatusCode);
            Assert.Contains("shrink", await shrunk.Content.ReadAsStringAsync(cts.Token), StringComparison.OrdinalIgnoreCase);
        }
        Assert.Equal(2 * Blocks - 1, await LastLbaAsync(session, cts.Token));
        Assert.True((await session.ExecuteAsync(0, Cdb.TestUnitReady(), default, 0, TaskAttribute.Simple, cts.Token)).IsGood); // no UA for a refusal
    }

    private static async Task<long> LastLbaAsync(IscsiInitiatorSession session, CancellationToken ct)
    {
        var r = await session.ExecuteAsync(0, Cdb.ReadCapacity16(32), default, 32, TaskAttribute.Simple, ct);
        Assert.True(r.IsGood, r.ToString());
        return (long)BinaryPrimitives.ReadUInt64BigEndian(r.DataIn.Span);
    }
}

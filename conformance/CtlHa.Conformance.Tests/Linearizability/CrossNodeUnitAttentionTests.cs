using CtlHa.Conformance.Differential;
using CtlHa.Conformance.Ha;
using CtlHa.Conformance.Linearizability;
using CtlHa.Conformance.Tests.Node;
using CtlHa.Initiator.Scsi;
using CtlHa.Spec;
using Xunit.Abstractions;

namespace CtlHa.Conformance.Tests.Linearizability;

/// <summary>
/// The sequential core of the PR linearizability failures, without any concurrency: a PR OUT through one node that
/// releases an all-registrants reservation gives the other registrant RESERVATIONS RELEASED (SPC-5 5.14.11.2); that
/// registrant's next command — sent after the RELEASE completed, through the other node — must report it.
/// </summary>
[Collection(NodeCollection.Name)]
public sealed class CrossNodeUnitAttentionTests(ITestOutputHelper output)
{
    private const int Rounds = 60;

    // Found 2026-11-24 by the linearizability suite: shared 4/60 both directions; proxy 0/60 (B releases) and 4-5/60
    // (A releases, B's nexus) missed the UA, because the peer applied the replicated PR action after the PR OUT had
    // completed. Fixed by interlink protocol 2's sync fence (PROTOCOL.md §6.5): 0/60 in both modes since.

    [Theory(Timeout = 300_000)]
    [InlineData(HaMode.Shared)]
    [InlineData(HaMode.Proxy)]
    public async Task A_UA_from_a_PR_OUT_through_one_node_is_reported_by_the_next_command_through_the_other(HaMode mode)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await using var pair = await EmbeddedPair.StartAsync(new EmbeddedPairOptions { Mode = mode, LunBlocks = 64 }, cts.Token);
        await using var clients = await LinClients.ConnectAsync(pair, 1, TimeSpan.FromSeconds(15), cts.Token);
        await clients.SettleAsync(TimeSpan.FromSeconds(15), cts.Token);
        var (a, b) = (clients.All[0], clients.All[1]);
        var misses = new Dictionary<string, int> { ["B releases, A's next command"] = 0, ["A releases, B's next command"] = 0 };
        var examples = new List<string>();

        for (var i = 0; i < Rounds; i++)
        {
            foreach (var (releaser, other, name) in new[] { (b, a, "B releases, A's next command"), (a, b, "A releases, B's next command") })
            {
                await Good(a, LinCommands.RegisterAndIgnore(0xE0), cts.Token);
                await Good(a, LinCommands.Clear(0xE0), cts.Token);
                await Good(b, LinCommands.TestUnitReady(), cts.Token);
                await Good(a, LinCommands.TestUnitReady(), cts.Token);
                await Good(other, LinCommands.RegisterAndIgnore(0xA0), cts.Token);
                await Good(releaser, LinCommands.RegisterAndIgnore(0xA1), cts.Token);
                await Good(releaser, LinCommands.Reserve(0xA1, PersistentReservationType.ExclusiveAccessAllRegistrants), cts.Token);
                await Good(releaser, LinCommands.Release(0xA1, PersistentReservationType.ExclusiveAccessAllRegistrants), cts.Token);
                var next = await other.ExecuteAsync(LinCommands.TestUnitReady(), cts.Token);
                if (LinCommands.Text(next) != "CHECK 06/2A/04")
                {
                    misses[name]++;
                    var after = await other.ExecuteAsync(LinCommands.TestUnitReady(), cts.Token);
                    if (examples.Count < 4)
                    {
                        examples.Add($"{name}: TUR → {LinCommands.Text(next)}, the TUR after it → {LinCommands.Text(after)}");
                    }
                }
            }
        }

        output.WriteLine($"{mode}: {Rounds} rounds per direction; missed RESERVATIONS RELEASED: " + string.Join(", ", misses.Select(kv => $"{kv.Key} {kv.Value}")));
        examples.ForEach(output.WriteLine);
        Assert.All(misses, kv => Assert.True(kv.Value == 0, $"{kv.Key}: {kv.Value}/{Rounds} missed the UA\n" + string.Join("\n", examples)));
    }

    private static async Task Good(LinSession session, LinCommand command, CancellationToken cancellationToken)
    {
        var outcome = DiffOutcome.Skipped;
        for (var attempt = 0; attempt < 8; attempt++)
        {
            outcome = await session.ExecuteAsync(command, cancellationToken);
            if (outcome is not { Status: 0x02, Sense.Key: 0x06 })
            {
                break;
            }
        }

        Assert.True(outcome is { Status: 0, Failure: null }, $"{session.Client} {command.Label} → {LinCommands.Text(outcome)}");
    }
}

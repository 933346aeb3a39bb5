using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using CtlHa.Wire;

namespace CtlHa.Interlink.Tests;

/// <summary>For random pairs of configurations, two real links go Online iff the Login comparison says so;
/// otherwise both report the same field with mirrored values.</summary>
[Collection("loopback")]
public sealed class LoginPairProperties
{
    public sealed record Config(HaMode Mode, byte NodeId, string Cluster, uint MaxLuns, uint MaxPorts, uint MaxInitiators)
    {
        public void Apply(InterlinkOptions options)
        {
            options.Mode = Mode;
            options.NodeId = NodeId;
            options.ClusterName = Cluster;
            options.MaxLuns = MaxLuns;
            options.MaxPorts = MaxPorts;
            options.MaxInitiatorsPerPort = MaxInitiators;
        }
    }

    public static class Arbs
    {
        private static readonly Gen<Config> ConfigGen =
            from mode in Gen.Elements(HaMode.Standby, HaMode.Shared, HaMode.Proxy)
            from id in Gen.Elements<byte>(1, 2)
            from cluster in Gen.Elements("a", "b")
            from luns in Gen.Elements(256u, 1024u)
            from ports in Gen.Elements(256u, 1024u)
            from inits in Gen.Elements(1024u, 2048u)
            select new Config(mode, id, cluster, luns, ports, inits);

        /// <summary>Pairs biased towards agreeing on most fields so every mismatch kind and success occur.</summary>
        public static Arbitrary<(Config A, Config B)> Pair() =>
            (from a in ConfigGen
             from b in ConfigGen
             from keep in Gen.ArrayOf(Gen.Frequency((3, Gen.Constant(true)), (1, Gen.Constant(false))), 6)
             select (a, new Config(
                 keep[0] ? a.Mode : b.Mode,
                 keep[1] ? (byte)(3 - a.NodeId) : b.NodeId,
                 keep[2] ? a.Cluster : b.Cluster,
                 keep[3] ? a.MaxLuns : b.MaxLuns,
                 keep[4] ? a.MaxPorts : b.MaxPorts,
                 keep[5] ? a.MaxInitiators : b.MaxInitiators))).ToArbitrary();
    }

    [Property(Arbitrary = [typeof(Arbs)], MaxTest = 25)]
    public bool Two_links_go_online_iff_their_logins_match_and_otherwise_report_the_same_mismatch((Config A, Config B) pair)
    {
        return RunAsync(pair.A, pair.B).GetAwaiter().GetResult();
    }

    private static async Task<bool> RunAsync(Config a, Config b)
    {
        var expected = LoginCheck.Compare(ToLogin(a), ToLogin(b));
        await using var links = new LinkPair(configureA: a.Apply, configureB: b.Apply);
        await links.StartAsync();
        var timeout = TimeSpan.FromSeconds(10);
        if (expected is null)
        {
            await links.HandlerA.Up.WaitAsync(timeout);
            await links.HandlerB.Up.WaitAsync(timeout);
            return links.A.LastRejection is null && links.B!.LastRejection is null;
        }

        await Eventually.TrueAsync(() => links.A.LastRejection is not null && links.B!.LastRejection is not null, timeout, "both rejections");
        var atA = links.A.LastRejection!;
        var atB = links.B!.LastRejection!;
        return atA.Mismatch == expected
            && atB.Mismatch == new LoginMismatch(expected.Field, expected.PeerValue, expected.LocalValue)
            && atA.Trigger == LinkRejection.TriggerFor(expected.Field)
            && atB.Trigger == atA.Trigger
            && links.HandlerA.UpCount == 0
            && links.HandlerB.UpCount == 0;
    }

    private static Login ToLogin(Config config)
    {
        var options = new InterlinkOptions { AllowUnauthenticated = true };
        config.Apply(options);
        return options.ToLogin();
    }
}

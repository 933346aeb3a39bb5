using System.Globalization;

namespace CtlHa.Conformance.Tests.Differential;

/// <summary>
/// Run counts of the differential suites. CI keeps them small (each sequence starts a fresh node);
/// <c>CTLHA_DIFF_RUNS=N</c> runs N sequences instead, <c>CTLHA_DIFF_LENGTH=L</c> allows up to L steps each, and
/// <c>CTLHA_DIFF_REPLAY=s1,s2</c> replays the seed pair a failure printed.
/// </summary>
internal static class DiffSettings
{
    public static int Runs => Int("CTLHA_DIFF_RUNS", 30);

    public static int MaxLength => Int("CTLHA_DIFF_LENGTH", 25);

    public static FsCheck.Config Config(int runs)
    {
        var config = FsCheck.Config.QuickThrowOnFailure.WithMaxTest(runs).WithQuietOnSuccess(true);
        if (Environment.GetEnvironmentVariable("CTLHA_DIFF_REPLAY") is { Length: > 0 } replay)
        {
            var parts = replay.Trim('(', ')', ' ').Split(',', StringSplitOptions.TrimEntries);
            var rnd = new FsCheck.Rnd(ulong.Parse(parts[0], CultureInfo.InvariantCulture), ulong.Parse(parts[1], CultureInfo.InvariantCulture));
            config = config.WithReplay(Microsoft.FSharp.Core.FSharpOption<FsCheck.Replay>.Some(
                new FsCheck.Replay(rnd, Microsoft.FSharp.Core.FSharpOption<int>.None)));
        }

        return config;
    }

    private static int Int(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : fallback;
}

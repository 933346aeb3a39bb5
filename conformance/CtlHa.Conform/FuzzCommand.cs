using System.CommandLine;
using System.Net;
using CtlHa.Conformance.Fuzz;
using CtlHa.Wire;

namespace CtlHa.Conform;

/// <summary>`ctlha-conform fuzz --connect ADDR:PORT [--psk-file F] [--frames N]`: hostile-frame run against a listening node (issue 4).</summary>
public static class FuzzCommand
{
    public static Command Build()
    {
        var connect = new Option<string>("--connect") { Description = "ADDR:PORT of a node that listens (--peer listen:...)", Required = true };
        var psk = new Option<string?>("--psk-file") { Description = "the pair's pre-shared key file (post-login rounds need it)" };
        var frames = new Option<long>("--frames") { Description = "hostile frames to send", DefaultValueFactory = _ => 100_000 };
        var maxSeconds = new Option<int>("--max-seconds") { Description = "stop after this long whatever the count", DefaultValueFactory = _ => 600 };
        var seed = new Option<int?>("--seed") { Description = "random seed (printed; reuse it to reproduce)" };
        var cmd = new Command("fuzz", "send bounded hostile interlink frames to a node, then check it still completes a good handshake")
        {
            connect, psk, frames, maxSeconds, seed,
        };
        cmd.SetAction(async (parse, ct) =>
        {
            if (!IPEndPoint.TryParse(parse.GetValue(connect)!, out var ep) || ep.Port == 0)
            {
                Console.Error.WriteLine($"ctlha-conform fuzz: '{parse.GetValue(connect)}' is not ADDR:PORT");
                return 2;
            }

            byte[]? key = null;
            if (parse.GetValue(psk) is { } pskFile)
            {
                try
                {
                    key = InterlinkAuth.ReadKeyFile(pskFile);
                }
                catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
                {
                    Console.Error.WriteLine($"ctlha-conform fuzz: {e.Message}");
                    return 2;
                }
            }

            var runSeed = parse.GetValue(seed) ?? Environment.TickCount;
            Console.WriteLine($"fuzz: seed {runSeed}");
            var fuzzer = new InterlinkFuzzer(new InterlinkFuzzOptions
            {
                EndPoint = ep,
                Psk = key,
                Frames = parse.GetValue(frames),
                MaxDuration = TimeSpan.FromSeconds(parse.GetValue(maxSeconds)),
                Seed = runSeed,
            });
            var nextReport = 10_000L;
            fuzzer.Progress = n =>
            {
                if (n >= nextReport)
                {
                    Console.WriteLine($"fuzz: {n} frames");
                    nextReport += 10_000;
                }
            };
            var result = await fuzzer.RunAsync(ct).ConfigureAwait(false);
            Console.WriteLine($"fuzz: {result}");
            return result.Healthy ? 0 : 1;
        });
        return cmd;
    }
}

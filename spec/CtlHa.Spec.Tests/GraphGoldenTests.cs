using CtlHa.Spec;

namespace CtlHa.Spec.Tests;

/// <summary>
/// The committed diagrams in spec/graphs equal what the machines draw today. Regenerate with
/// <c>CTLHA_UPDATE_GOLDEN=1 dotnet test spec/CtlHa.Spec.Tests</c> (see spec/README.md).
/// </summary>
public sealed class GraphGoldenTests
{
    public static TheoryData<string, string> Files()
    {
        var data = new TheoryData<string, string>();
        foreach (var g in SpecGraphs.All())
        {
            data.Add(g.Name + ".mmd", g.Mermaid);
            data.Add(g.Name + ".dot", g.Dot);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Committed_diagram_matches_the_machine(string fileName, string generated)
    {
        var path = Path.Combine(GraphsDirectory(), fileName);
        var expected = Normalize(generated);
        if (Environment.GetEnvironmentVariable("CTLHA_UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(path, expected);
        }

        Assert.True(File.Exists(path), $"{path} is missing: run with CTLHA_UPDATE_GOLDEN=1 to create it.");
        Assert.Equal(expected, Normalize(File.ReadAllText(path)));
    }

    [Fact]
    public void Diagrams_show_every_state_of_each_machine()
    {
        var graphs = SpecGraphs.All().ToDictionary(g => g.Name);
        Assert.All(Enum.GetNames<LinkPhase>(), s => Assert.Contains(s, graphs["link-lifecycle"].Mermaid, StringComparison.Ordinal));
        Assert.All(Enum.GetNames<LunHaPhase>(), s => Assert.Contains(s, graphs["lun-role"].Dot, StringComparison.Ordinal));
        Assert.Contains("peer not primary", graphs["lun-role"].Mermaid, StringComparison.Ordinal);
    }

    private static string Normalize(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd('\n') + "\n";

    private static string GraphsDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "spec", "graphs");
            if (Directory.Exists(Path.Combine(dir.FullName, "spec", "CtlHa.Spec")))
            {
                Directory.CreateDirectory(candidate);
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("Cannot find the repository's spec/ folder above " + AppContext.BaseDirectory);
    }
}

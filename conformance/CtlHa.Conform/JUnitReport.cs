using System.Xml.Linq;

namespace CtlHa.Conform;

/// <summary>One JUnit test case: suite, name, pass/fail, detail, duration.</summary>
public sealed record JUnitCase(string Suite, string Name, bool Passed, string Detail, TimeSpan Duration)
{
    /// <summary>Not run (the detail says why): written as &lt;skipped&gt;, counted in the suite's "skipped".</summary>
    public bool Skipped { get; init; }
}

/// <summary>Writes the JUnit XML that CI systems read (testsuites/testsuite/testcase/failure).</summary>
public static class JUnitReport
{
    public static void Write(string path, IEnumerable<JUnitCase> cases)
    {
        var suites = cases.GroupBy(c => c.Suite).Select(g => new XElement("testsuite",
            new XAttribute("name", g.Key),
            new XAttribute("tests", g.Count()),
            new XAttribute("failures", g.Count(c => !c.Passed)),
            new XAttribute("skipped", g.Count(c => c.Skipped)),
            new XAttribute("time", g.Sum(c => c.Duration.TotalSeconds).ToString("F3", System.Globalization.CultureInfo.InvariantCulture)),
            g.Select(c => new XElement("testcase",
                new XAttribute("classname", c.Suite),
                new XAttribute("name", c.Name),
                new XAttribute("time", c.Duration.TotalSeconds.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)),
                c.Skipped ? new XElement("skipped", new XAttribute("message", c.Detail))
                    : c.Passed ? null : new XElement("failure", new XAttribute("message", FirstLine(c.Detail)), c.Detail)))));
        new XDocument(new XElement("testsuites", suites)).Save(path);
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0];
}

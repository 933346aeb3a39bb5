using CtlHa.Conformance.Suites;

namespace CtlHa.Conformance.Tests.Suites;

public sealed class BudgetTests
{
    [Theory]
    [InlineData("60s", 60)]
    [InlineData("2m", 120)]
    [InlineData("90", 90)]
    [InlineData("1.5m", 90)]
    [InlineData("1h", 3600)]
    [InlineData(" 10M ", 600)]
    [InlineData("1", 1)]
    public void Durations_in_seconds_minutes_hours_or_bare_seconds_parse(string text, double seconds)
    {
        Assert.True(Budget.TryParse(text, out var budget, out var error), error);
        Assert.Equal(TimeSpan.FromSeconds(seconds), budget);
        Assert.Null(error);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData(null, "empty")]
    [InlineData("abc", "not a duration")]
    [InlineData("10x", "not a duration")]
    [InlineData("-5s", "not a duration")]
    [InlineData("s", "not a duration")]
    [InlineData("0", "too short")]
    [InlineData("0.5s", "too short")]
    [InlineData("25h", "longer than 24h")]
    public void Bad_budgets_are_refused_with_a_message_that_says_why(string? text, string why)
    {
        Assert.False(Budget.TryParse(text, out _, out var error));
        Assert.Contains(why, error, StringComparison.Ordinal);
        Assert.Contains("--budget", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(90, "90s")]
    [InlineData(600, "10m")]
    [InlineData(60, "1m")]
    [InlineData(61, "61s")]
    public void A_budget_formats_back_to_a_value_the_parser_accepts(int seconds, string text)
    {
        Assert.Equal(text, Budget.Format(TimeSpan.FromSeconds(seconds)));
        Assert.True(Budget.TryParse(text, out var back, out _));
        Assert.Equal(TimeSpan.FromSeconds(seconds), back);
    }
}

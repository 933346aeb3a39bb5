using System.Globalization;

namespace CtlHa.Conformance.Suites;

/// <summary>
/// The <c>--budget</c> value of <c>ctlha-conform self|pair</c>: <c>60s</c>, <c>2m</c>, <c>1h</c> or a bare number of
/// seconds (<c>90</c>). Parsed here, not in the CLI, so the rule is tested once and every verb shares it.
/// </summary>
public static class Budget
{
    /// <summary>A budget above this is a typo, not a plan (a day).</summary>
    public static TimeSpan Maximum { get; } = TimeSpan.FromHours(24);

    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="error"/> says what is wrong and shows the accepted forms.</summary>
    public static bool TryParse(string? text, out TimeSpan budget, out string? error)
    {
        budget = default;
        error = null;
        var t = text?.Trim() ?? string.Empty;
        if (t.Length == 0)
        {
            error = "--budget is empty: give a duration such as 60s, 2m or 90 (seconds)";
            return false;
        }

        var unit = char.ToLowerInvariant(t[^1]);
        var (number, scale) = unit switch
        {
            's' => (t[..^1], 1.0),
            'm' => (t[..^1], 60.0),
            'h' => (t[..^1], 3600.0),
            _ => (t, 1.0),
        };
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || double.IsNaN(value))
        {
            error = $"--budget '{text}' is not a duration: use 60s, 2m, 1h or a number of seconds such as 90";
            return false;
        }

        var seconds = value * scale;
        if (seconds < 1)
        {
            error = $"--budget '{text}' is too short: at least 1s";
            return false;
        }

        if (seconds > Maximum.TotalSeconds)
        {
            error = $"--budget '{text}' is longer than {Maximum.TotalHours:F0}h";
            return false;
        }

        budget = TimeSpan.FromSeconds(seconds);
        return true;
    }

    /// <summary>The budget as the user would type it back (<c>90s</c>, <c>10m</c>).</summary>
    public static string Format(TimeSpan budget) =>
        budget.TotalSeconds % 60 == 0 && budget.TotalSeconds >= 60
            ? $"{budget.TotalMinutes.ToString("0", CultureInfo.InvariantCulture)}m"
            : $"{Math.Ceiling(budget.TotalSeconds).ToString("0", CultureInfo.InvariantCulture)}s";
}

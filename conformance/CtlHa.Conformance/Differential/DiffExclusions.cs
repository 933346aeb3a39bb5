namespace CtlHa.Conformance.Differential;

/// <summary>
/// Steps whose comparison is skipped on purpose. Each entry is narrowly scoped and has its reason and the finding it
/// belongs to in conformance/DIFFERENTIAL-FINDINGS.md; a skipped step still runs on both sides (state keeps evolving).
/// The list is empty unless a disagreement would otherwise hide every later step.
/// </summary>
public static class DiffExclusions
{
    /// <summary>(name, reason, predicate) — the reason is printed in the trace and must cite the finding.</summary>
    public static IReadOnlyList<(string Name, string Reason, Func<DiffStep, bool> Applies)> All { get; } = [];

    public static bool IsExcluded(DiffStep step, out string? reason)
    {
        foreach (var (name, why, applies) in All)
        {
            if (applies(step))
            {
                reason = $"{name}: {why}";
                return true;
            }
        }

        reason = null;
        return false;
    }
}

namespace CtlHa.Conformance.Differential;

/// <summary>
/// One command of a differential sequence: which initiator sends it, the CDB, the data-out buffer and the data-in
/// length the initiator expects (the iSCSI Expected Data Transfer Length for reads). <see cref="Label"/> is the
/// readable part of the trace line (<c>init2 WRITE(10) lba=8 len=1</c>).
/// </summary>
public sealed record DiffStep(int Initiator, string Label, byte[] Cdb, byte[] DataOut, int ExpectedLength)
{
    public override string ToString() => $"init{Initiator} {Label}";
}

/// <summary>One executed step: what the target answered and what the model predicted, and how they differ (null = equal).</summary>
public sealed record DiffTraceLine(DiffStep Step, DiffOutcome Target, DiffOutcome Model, string? Difference)
{
    public override string ToString() => Difference is null
        ? $"{Step} → {Target}"
        : $"{Step} → target {Target} | model {Model}   <<< {Difference}";
}

/// <summary>The result of a differential run: every executed step, stopping at the first disagreement.</summary>
public sealed record DiffRun(IReadOnlyList<DiffTraceLine> Lines)
{
    public DiffTraceLine? FirstMismatch => Lines.FirstOrDefault(l => l.Difference is not null);

    public bool Agreed => FirstMismatch is null;

    public override string ToString() => string.Join("\n", Lines.Select(l => "  " + l));
}

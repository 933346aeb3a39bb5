using CtlHa.Initiator.Scsi;
using CtlHa.Model;

namespace CtlHa.Conformance.Differential;

/// <summary>
/// Status, decoded sense and data-in of one command, from either side, in a form both can be compared in.
/// Sense is compared decoded (<see cref="SenseInfo"/>), never byte for byte (model/README.md "What it leaves out":
/// descriptor order may differ between implementations).
/// </summary>
public sealed record DiffOutcome(byte Status, SenseInfo? Sense, byte[] DataIn, bool Modeled = true, string? Failure = null)
{
    public static DiffOutcome FromTarget(ScsiResponse response)
    {
        if (response.IscsiResponse != 0)
        {
            return new DiffOutcome(0xFF, null, [], Failure: $"iSCSI response {response.IscsiResponse:X2}h (target failure)");
        }

        SenseInfo? sense = null;
        string? failure = null;
        if (response.Sense.Length > 0)
        {
            try
            {
                sense = SenseInfo.Decode(response.Sense.Span);
            }
            catch (ArgumentException e)
            {
                failure = "undecodable sense: " + e.Message;
            }
        }

        return new DiffOutcome((byte)response.Status, sense, response.DataIn.ToArray(), Failure: failure);
    }

    public static DiffOutcome FromModel(ModelResult result) =>
        new(result.Status, result.DecodedSense, result.DataIn, result.Modeled);

    /// <summary>A step not sent to either side (<see cref="DiffExclusions.SkipReason"/>).</summary>
    public static DiffOutcome Skipped { get; } = new(0x00, null, [], Modeled: false);

    public static DiffOutcome FromException(Exception e) => new(0xFF, null, [], Failure: $"{e.GetType().Name}: {e.Message}");

    /// <summary><see cref="Compare"/> after the documented <see cref="DiffExclusions"/> normalise both sides.</summary>
    public static string? CompareWithExclusions(DiffStep step, DiffOutcome target, DiffOutcome model)
    {
        DiffExclusions.Normalize(step, ref target, ref model);
        return Compare(target, model);
    }

    /// <summary>
    /// How <paramref name="target"/> differs from <paramref name="model"/>, or null when they agree. Compared: status;
    /// sense key/ASC/ASCQ and format (fixed/descriptor follows D_SENSE); INFORMATION and the sense-key-specific field
    /// pointer when the model gives them; data-in bytes. An unmodeled answer (model/README.md) is not compared.
    /// </summary>
    public static string? Compare(DiffOutcome target, DiffOutcome model)
    {
        if (!model.Modeled)
        {
            return null;
        }

        if (target.Failure is { } failure)
        {
            return failure;
        }

        if (target.Status != model.Status)
        {
            return $"status {StatusName(target.Status)} ≠ {StatusName(model.Status)}";
        }

        if ((target.Sense is null) != (model.Sense is null))
        {
            return target.Sense is null ? "target gave no sense" : "target gave sense the model does not";
        }

        if (target.Sense is { } t && model.Sense is { } m)
        {
            if (t.Code != m.Code)
            {
                return $"sense {t.Code} ≠ {m.Code}";
            }

            if (t.Descriptor != m.Descriptor)
            {
                return $"sense format {(t.Descriptor ? "descriptor" : "fixed")} ≠ {(m.Descriptor ? "descriptor" : "fixed")}";
            }

            if (m.Information is { } info && t.Information != info)
            {
                return $"INFORMATION {t.Information?.ToString() ?? "none"} ≠ {info}";
            }

            if (m.Pointer is { } pointer && t.Pointer != pointer)
            {
                return $"sense-key-specific {t.Pointer?.ToString() ?? "none"} ≠ {pointer}";
            }
        }

        if (!target.DataIn.AsSpan().SequenceEqual(model.DataIn))
        {
            var at = FirstDifference(target.DataIn, model.DataIn);
            var detail = target.DataIn.Length <= 128 && model.DataIn.Length <= 128
                ? $"\n      target {Convert.ToHexString(target.DataIn)}\n      model  {Convert.ToHexString(model.DataIn)}"
                : string.Empty;
            return $"data-in differs at byte {at} (target {target.DataIn.Length}B {Hex(target.DataIn, at)} | model {model.DataIn.Length}B {Hex(model.DataIn, at)}){detail}";
        }

        return null;
    }

    public override string ToString()
    {
        if (!Modeled)
        {
            return "unmodeled";
        }

        if (Failure is { } f && Status == 0xFF)
        {
            return f;
        }

        var text = StatusName(Status);
        if (Sense is { } s)
        {
            text += $" {s}{(s.Descriptor ? " (desc)" : string.Empty)}";
        }

        return DataIn.Length > 0 ? $"{text} +{DataIn.Length}B" : text;
    }

    private static string StatusName(byte status) => status switch
    {
        0x00 => "GOOD",
        0x02 => "CHECK CONDITION",
        0x04 => "CONDITION MET",
        0x08 => "BUSY",
        0x18 => "RESERVATION CONFLICT",
        0x28 => "TASK SET FULL",
        0x40 => "TASK ABORTED",
        0xFF => "no status",
        _ => $"status {status:X2}h",
    };

    private static int FirstDifference(byte[] a, byte[] b)
    {
        var n = Math.Min(a.Length, b.Length);
        for (var i = 0; i < n; i++)
        {
            if (a[i] != b[i])
            {
                return i;
            }
        }

        return n;
    }

    private static string Hex(byte[] data, int at)
    {
        var from = Math.Max(0, at - 2);
        var to = Math.Min(data.Length, at + 6);
        return from >= to ? "[]" : "[" + Convert.ToHexString(data, from, to - from) + $"@{from}]";
    }
}

using System.Buffers.Binary;
using CtlHa.Model;

namespace CtlHa.Conformance.Differential;

/// <summary>
/// Narrow, documented relaxations of the differential comparison. Each one names the finding in
/// conformance/DIFFERENTIAL-FINDINGS.md that it stands for; nothing else is relaxed. A relaxed step still runs on both
/// sides and its status and sense key/ASC/ASCQ are still compared; only the named field is normalised on both sides.
/// </summary>
public static class DiffExclusions
{
    /// <summary>Names and reasons, for the trace and the findings file.</summary>
    public static IReadOnlyList<(string Name, string Reason)> All { get; } =
    [
        ("E1 LBA-out-of-range INFORMATION", "F1: the target sends 05/21/00 without INFORMATION; CTL (and the model) put max(LBA, capacity) there. SBC-4 does not require it."),
        ("E2 VPD 83h designator order", "F2: SPC-5 7.7.6 does not order designation descriptors; the target's order differs from CTL's. Compared as a set (complete pages) or by header (truncated pages)."),
        ("E3 VPD 00h page list", "F3: the target and the model list different VPD pages; status/sense still compared."),
        ("E4 standard INQUIRY version descriptors", "F4: VERSION DESCRIPTOR 1-8 (bytes 58-73) differ (SAM-5 vs SAM-6, order); the rest of the page is compared."),
        ("E5 VPD 83h target port group", "F5: a standalone node reports TPG 1 (ctl-ha.md §5.5, non-HA); the model has no non-HA configuration and says 2. The group number of the type-5h designator is not compared."),
        ("E8 standard INQUIRY VERSION byte", "F8: the model is moving VERSION from 07h (SPC-5) to 06h (SPC-4, libiscsi compatibility); the target says 07h. Byte 2 is not compared until the two are aligned."),
        ("E9 write protection before reservation conflict", "F9: with SWP set and another nexus's reservation, the model (ctl-ha.md §5.2 order) says 07/27/0x, the target RESERVATION CONFLICT; both reject, no state differs, so that one pairing is accepted."),
        ("E7 SYNCHRONIZE CACHE under SWP", "F7: the model (spec command table, CTL) rejects it with 07/27/02, the target completes it; no state differs, so a GOOD from the target is accepted for that one answer."),
        ("E6 RESERVE/RELEASE(6) while PR registrations exist", "F6: the target conflicts, CTL and the model do not; such steps are skipped on both sides (not sent) so the two states stay comparable."),
    ];

    /// <summary>
    /// A step that is not executed at all (on either side) in the state <paramref name="before"/>, or null to run it.
    /// Only E6 does this: its disagreement changes state (a SCSI-2 reservation exists on one side only).
    /// </summary>
    public static string? SkipReason(DiffStep step, LogicalUnitModel before) =>
        !Disabled && step.Cdb is [0x16 or 0x17, ..] && before.Registrations.Count > 0 ? "E6" : null;

    /// <summary><c>CTLHA_DIFF_NO_EXCLUSIONS=1</c> compares everything, to see the raw disagreements again.</summary>
    public static bool Disabled { get; } = Environment.GetEnvironmentVariable("CTLHA_DIFF_NO_EXCLUSIONS") == "1";

    /// <summary>Normalises both outcomes for the exclusions that apply to <paramref name="step"/>; returns their names.</summary>
    public static IReadOnlyList<string> Normalize(DiffStep step, ref DiffOutcome target, ref DiffOutcome model)
    {
        var applied = new List<string>();
        if (Disabled)
        {
            return applied;
        }

        var cdb = step.Cdb;

        if (model.Sense is { Key: 0x05, Asc: 0x21, Ascq: 0x00, Information: not null } s)
        {
            model = model with { Sense = s with { Information = null } };
            applied.Add("E1");
        }

        if (model.Sense is { Key: 0x07, Asc: 0x27, Ascq: 0x01 or 0x02 } && target.Status == 0x18)
        {
            model = target;
            applied.Add("E9");
        }

        if (cdb is [0x35, ..] && model.Sense is { Key: 0x07, Asc: 0x27, Ascq: 0x02 } && target.Status == 0x00)
        {
            model = target;
            applied.Add("E7");
        }

        if (cdb.Length >= 6 && cdb[0] == 0x12)
        {
            var evpd = (cdb[1] & 0x01) != 0;
            if (evpd && cdb[2] == 0x83)
            {
                target = target with { DataIn = CanonicalDeviceIdPage(target.DataIn) };
                model = model with { DataIn = CanonicalDeviceIdPage(model.DataIn) };
                applied.Add("E2");
            }
            else if (evpd && cdb[2] == 0x00)
            {
                target = target with { DataIn = [] };
                model = model with { DataIn = [] };
                applied.Add("E3");
            }
            else if (!evpd)
            {
                target = target with { DataIn = Masked(Masked(target.DataIn, 58, 74), 2, 3) };
                model = model with { DataIn = Masked(Masked(model.DataIn, 58, 74), 2, 3) };
                applied.Add("E4");
                applied.Add("E8");
            }
        }

        return applied;
    }

    /// <summary>
    /// VPD 83h (SPC-5 7.7.6): 4-byte header (PAGE LENGTH at 2-3) then designation descriptors of 4 + length bytes.
    /// A complete page becomes header + descriptors sorted bytewise; a truncated one becomes its header alone.
    /// </summary>
    private static byte[] CanonicalDeviceIdPage(byte[] page)
    {
        if (page.Length < 4)
        {
            return page;
        }

        var total = 4 + BinaryPrimitives.ReadUInt16BigEndian(page.AsSpan(2));
        if (page.Length < total)
        {
            return page[..4];
        }

        var descriptors = new List<byte[]>();
        for (var i = 4; i + 4 <= total;)
        {
            var length = Math.Min(4 + page[i + 3], total - i);
            var descriptor = page[i..(i + length)];
            if ((descriptor[1] & 0x0F) == 0x5 && descriptor.Length == 8)
            {
                // E5: TARGET PORT GROUP (SPC-5 7.7.6.7), bytes 6-7 of the designator.
                descriptor[6] = 0;
                descriptor[7] = 0;
            }

            descriptors.Add(descriptor);
            i += length;
        }

        descriptors.Sort((a, b) => a.AsSpan().SequenceCompareTo(b));
        return [.. page[..4], .. descriptors.SelectMany(d => d)];
    }

    private static byte[] Masked(byte[] data, int from, int to)
    {
        var copy = (byte[])data.Clone();
        for (var i = from; i < Math.Min(to, copy.Length); i++)
        {
            copy[i] = 0;
        }

        return copy;
    }
}

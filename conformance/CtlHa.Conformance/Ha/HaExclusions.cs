using System.Buffers.Binary;
using CtlHa.Conformance.Differential;
using CtlHa.Model;

namespace CtlHa.Conformance.Ha;

/// <summary>
/// Narrow, documented relaxations of the HA machine's comparison, each standing for a known deviation of the target
/// (CtlHa.Ha README "Differences from the brief"). Only the named field is normalised, on both sides; status, sense and
/// everything else are still compared. <c>CTLHA_HA_NO_EXCLUSIONS=1</c> turns them off to see the raw disagreement.
/// </summary>
public static class HaExclusions
{
    public static IReadOnlyList<(string Name, string Reason)> All { get; } =
    [
        ("H1 RTPG peer ports with the link down",
         "The target keeps listing the peer node's relative port in the peer's group after link loss (CtlHa.Ha README: 'a peer port going offline is not tracked'); CTL lists only online ports (§7.1 step 2, §5.5) and so does the model. The group states are still compared; the peer group's port list is not, while the link is down."),
    ];

    public static bool Disabled { get; } = Environment.GetEnvironmentVariable("CTLHA_HA_NO_EXCLUSIONS") == "1";

    /// <summary>How often H1 changed an answer (for the suite's log).</summary>
    public static int H1Applied => _h1;

    private static int _h1;

    public static (DiffOutcome Target, DiffOutcome Model) Normalize(DiffStep step, Nexus nexus, HaPairState state, DiffOutcome target, DiffOutcome model)
    {
        if (Disabled || state.Linked || step.Cdb is not [0xA3, var sa, ..] || (sa & 0x1F) != 0x0A || target.Status != 0 || model.Status != 0)
        {
            return (target, model);
        }

        var peerGroup = nexus.Node == 1 ? 3 : 2;
        var t = WithoutPorts(target.DataIn, peerGroup);
        if (!t.AsSpan().SequenceEqual(target.DataIn))
        {
            Interlocked.Increment(ref _h1);
        }

        return (target with { DataIn = t }, model with { DataIn = WithoutPorts(model.DataIn, peerGroup) });
    }

    /// <summary>
    /// RTPG parameter data (SPC-5 6.36): 4-byte RETURN DATA LENGTH, then (extended format, byte 4 = 10h) 4 more header
    /// bytes; descriptors of 8 bytes + 4 per port (count at byte 7). The group's ports are dropped and lengths fixed.
    /// Truncated data is returned unchanged.
    /// </summary>
    private static byte[] WithoutPorts(byte[] data, int group)
    {
        if (data.Length < 4)
        {
            return data;
        }

        var total = 4 + (int)BinaryPrimitives.ReadUInt32BigEndian(data);
        if (data.Length < total)
        {
            return data;
        }

        var header = data.Length >= 8 && (data[4] & 0x70) == 0x10 ? 8 : 4;
        var output = new List<byte>(data[..header]);
        for (var i = header; i + 8 <= total;)
        {
            var count = data[i + 7];
            var length = 8 + (4 * count);
            if (i + length > total)
            {
                return data;
            }

            var id = BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(i + 2));
            if (id == group)
            {
                output.AddRange(data[i..(i + 7)]);
                output.Add(0);
            }
            else
            {
                output.AddRange(data[i..(i + length)]);
            }

            i += length;
        }

        var result = output.ToArray();
        BinaryPrimitives.WriteUInt32BigEndian(result, (uint)(result.Length - 4));
        return result;
    }
}

using System.Buffers;
using CtlHa.Iscsi.Pdus;
using FsCheck;
using FsCheck.Fluent;

namespace CtlHa.Iscsi.Tests.Unit;

/// <summary>FsCheck: a stream of PDUs cut into arbitrary segments frames exactly like the unsegmented stream.</summary>
public sealed class PduReaderProperties
{
    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }

    private static ReadOnlySequence<byte> Cut(byte[] bytes, IEnumerable<int> cuts)
    {
        int[] bounds = [0, .. cuts.Select(c => Math.Abs(c % Math.Max(1, bytes.Length))).Where(c => c > 0).Distinct().Order(), bytes.Length];
        var first = new Segment(bytes.AsMemory(0, bounds[1]), 0);
        Segment last = first;
        for (int i = 1; i < bounds.Length - 1; i++)
        {
            last = last.Append(bytes.AsMemory(bounds[i], bounds[i + 1] - bounds[i]));
        }
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    [FsCheck.Xunit.Property(MaxTest = 200)]
    public Property Any_segmentation_of_a_PDU_stream_frames_the_same_PDUs(bool headerDigest, bool dataDigest, byte[] cutsSeed)
    {
        Gen<(int Ahs, int Data)> shape = from ahs in Gen.Choose(0, 3) from data in Gen.Choose(0, 70) select (ahs * 4, data);
        return Prop.ForAll(shape.ArrayOf().Where(a => a.Length is > 0 and < 6).ToArbitrary(), shapes =>
        {
            var settings = new PduReaderSettings(8192, headerDigest, dataDigest);
            var stream = new List<byte>();
            foreach ((int ahs, int data) in shapes)
            {
                stream.AddRange(PduReaderTests.BuildPdu(IscsiOpcode.ScsiCommand, new byte[ahs], Enumerable.Range(0, data).Select(i => (byte)i).ToArray(), headerDigest, dataDigest));
            }
            byte[] bytes = [.. stream];
            ReadOnlySequence<byte> buffer = Cut(bytes, cutsSeed.Select(b => b * 7 + 1));
            foreach ((int ahs, int data) in shapes)
            {
                if (!PduReader.TryRead(ref buffer, settings, out IscsiFrame frame) || frame.Ahs.Length != ahs || frame.Data.Length != data)
                {
                    return false;
                }
            }
            return buffer.IsEmpty;
        });
    }
}

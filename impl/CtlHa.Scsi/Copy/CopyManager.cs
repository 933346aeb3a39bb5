using System.Buffers;
using System.Buffers.Binary;
using CtlHa.Core;

namespace CtlHa.Scsi.Copy;

/// <summary>A logical unit as the copy manager sees it: a block device it can read and write.</summary>
public interface ICopyTarget
{
    int BlockSize { get; }

    long BlockCount { get; }

    bool ReadOnly { get; }

    /// <summary>
    /// True when the requesting I_T nexus may not read (or, with <paramref name="write"/>, write) this target because
    /// of a reservation: the copy manager acts for that nexus, as CTL's third-party-copy sub-I/Os do.
    /// </summary>
    bool ReservationConflict(bool write);

    ValueTask ReadAsync(long lba, Memory<byte> destination, CancellationToken cancellationToken);

    ValueTask WriteAsync(long lba, ReadOnlyMemory<byte> source, CancellationToken cancellationToken);
}

/// <summary>Finds the copy target a CSCD descriptor names, or null when it is not reachable from this node.</summary>
public delegate ICopyTarget? CopyTargetResolver(CscdDescriptor descriptor);

/// <summary>SPC-4 §6.18.3 COPY MANAGER STATUS values.</summary>
public enum CopyManagerStatus : byte
{
    InProgress = 0x00,
    CompletedWithoutErrors = 0x01,
    CompletedWithErrors = 0x02,
}

/// <summary>What RECEIVE COPY RESULTS can report about one finished EXTENDED COPY.</summary>
/// <param name="FailedSense">Sense data of the failure (FAILED SEGMENT DETAILS), in fixed format.</param>
public sealed record CopyResult(byte ListId, CopyManagerStatus Status, ushort SegmentsProcessed, ulong BytesTransferred, byte[]? FailedSense);

/// <summary>
/// Performs EXTENDED COPY (LID1) segment by segment, synchronously, and holds results per I_T nexus and list
/// identifier for RECEIVE COPY RESULTS (SPC-4 §5.16.4.3, §6.18). One instance per logical unit (the copy manager
/// is the LU that received the command). Thread-safe.
/// </summary>
public sealed class CopyManager
{
    /// <summary>Most held results per LU; the oldest is dropped beyond it.</summary>
    public const int MaxHeldResults = 64;

    /// <summary>Copy chunk: bounded memory per copy.</summary>
    public const int ChunkBytes = 1 << 20;

    private readonly Lock _lock = new();
    private readonly List<(long NexusKey, CopyResult Result)> _held = [];

    /// <summary>
    /// Validates the segments (every index resolvable, every range inside its target) before moving any block, then
    /// copies. Returns GOOD or CHECK CONDITION with COPY ABORTED (SPC-4 §6.4.3.4): 0D/02 COPY TARGET DEVICE NOT REACHABLE
    /// for a CSCD index that does not exist or names no LU of this node, 00/00 with the segment number in INFORMATION
    /// for a range outside a target or a write to a read-only LU.
    /// </summary>
    public async ValueTask<ScsiOutcome> ExecuteAsync(long nexusKey, ExtendedCopyList list, CopyTargetResolver resolve, bool descriptorSense, CancellationToken cancellationToken)
    {
        var targets = new ICopyTarget?[list.Cscds.Count];
        for (int i = 0; i < targets.Length; i++)
        {
            targets[i] = resolve(list.Cscds[i]);
        }

        for (int i = 0; i < list.Segments.Count; i++)
        {
            var seg = list.Segments[i];
            var src = seg.SourceIndex < targets.Length ? targets[seg.SourceIndex] : null;
            var dst = seg.DestinationIndex < targets.Length ? targets[seg.DestinationIndex] : null;
            Sense? failure = null;
            if (src is null || dst is null)
            {
                failure = new Sense(SenseKey.CopyAborted, 0x0D, 0x02);
            }
            else if (src.ReservationConflict(write: false) || dst.ReservationConflict(write: true))
            {
                // The copy target answered RESERVATION CONFLICT: COPY TARGET DEVICE NOT REACHABLE.
                failure = new Sense(SenseKey.CopyAborted, 0x0D, 0x02).WithInformation((ulong)i);
            }
            else if (src.BlockSize != dst.BlockSize
                || seg.SourceLba + seg.Blocks > (ulong)src.BlockCount
                || seg.DestinationLba + seg.Blocks > (ulong)dst.BlockCount
                || dst.ReadOnly)
            {
                failure = new Sense(SenseKey.CopyAborted, 0x00, 0x00).WithInformation((ulong)i);
            }
            if (failure is { } f)
            {
                Hold(nexusKey, list, new CopyResult(list.ListId, CopyManagerStatus.CompletedWithErrors, (ushort)i, 0, f.ToArray(false)));
                return ScsiOutcome.Check(f, descriptorSense);
            }
        }

        ulong bytes = 0;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            for (int i = 0; i < list.Segments.Count; i++)
            {
                var seg = list.Segments[i];
                var src = targets[seg.SourceIndex]!;
                var dst = targets[seg.DestinationIndex]!;
                int blockSize = src.BlockSize;
                int chunkBlocks = Math.Max(1, ChunkBytes / blockSize);
                long remaining = seg.Blocks;
                long srcLba = (long)seg.SourceLba;
                long dstLba = (long)seg.DestinationLba;
                while (remaining > 0)
                {
                    int n = (int)Math.Min(remaining, chunkBlocks);
                    var chunk = buffer.AsMemory(0, n * blockSize);
                    await src.ReadAsync(srcLba, chunk, cancellationToken).ConfigureAwait(false);
                    await dst.WriteAsync(dstLba, chunk, cancellationToken).ConfigureAwait(false);
                    srcLba += n;
                    dstLba += n;
                    remaining -= n;
                    bytes += (ulong)chunk.Length;
                }
            }
        }
        catch (IOException)
        {
            var f = new Sense(SenseKey.CopyAborted, 0x0D, 0x01); // THIRD PARTY DEVICE FAILURE
            Hold(nexusKey, list, new CopyResult(list.ListId, CopyManagerStatus.CompletedWithErrors, 0, bytes, f.ToArray(false)));
            return ScsiOutcome.Check(f, descriptorSense);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        Hold(nexusKey, list, new CopyResult(list.ListId, CopyManagerStatus.CompletedWithoutErrors, (ushort)list.Segments.Count, bytes, null));
        return ScsiOutcome.Good;
    }

    /// <summary>The held result of a list identifier for an I_T nexus, or null.</summary>
    public CopyResult? Find(long nexusKey, byte listId)
    {
        lock (_lock)
        {
            foreach (var (key, result) in _held)
            {
                if (key == nexusKey && result.ListId == listId)
                {
                    return result;
                }
            }
            return null;
        }
    }

    /// <summary>I_T nexus loss: the nexus's held results go (SPC-4 §5.16.4.3).</summary>
    public void NexusLost(long nexusKey)
    {
        lock (_lock)
        {
            _held.RemoveAll(h => h.NexusKey == nexusKey);
        }
    }

    /// <summary>LOGICAL UNIT RESET: all held results go.</summary>
    public void Reset()
    {
        lock (_lock)
        {
            _held.Clear();
        }
    }

    private void Hold(long nexusKey, ExtendedCopyList list, CopyResult result)
    {
        if (!list.HoldsResults)
        {
            return;
        }
        lock (_lock)
        {
            _held.RemoveAll(h => h.NexusKey == nexusKey && h.Result.ListId == result.ListId);
            if (_held.Count >= MaxHeldResults)
            {
                _held.RemoveAt(0);
            }
            _held.Add((nexusKey, result));
        }
    }
}

/// <summary>RECEIVE COPY RESULTS (84h) parameter data builders, SPC-4 §6.18.</summary>
public static class CopyResultsData
{
    public const byte ReceiveCopyResultsOpCode = 0x84;
    public const byte ExtendedCopyOpCode = 0x83;

    /// <summary>CDB: byte 1 SERVICE ACTION (4..0), byte 2 LIST IDENTIFIER, bytes 10..13 ALLOCATION LENGTH.</summary>
    public static uint AllocationLength(ReadOnlySpan<byte> cdb) =>
        cdb.Length >= 14 ? BinaryPrimitives.ReadUInt32BigEndian(cdb[10..]) : 0;

    /// <summary>
    /// COPY STATUS (SPC-4 §6.18.3 Table 154): 0..3 AVAILABLE DATA (8); 4 HDD (7), COPY MANAGER STATUS (6..0);
    /// 5..6 SEGMENTS PROCESSED; 7 TRANSFER COUNT UNITS (00h bytes, 01h KiB, 02h MiB); 8..11 TRANSFER COUNT.
    /// </summary>
    public static byte[] CopyStatus(CopyResult result)
    {
        var data = new byte[12];
        BinaryPrimitives.WriteUInt32BigEndian(data, 8);
        data[4] = (byte)result.Status;
        BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(5), result.SegmentsProcessed);
        ulong count = result.BytesTransferred;
        byte units = 0;
        while (count > uint.MaxValue)
        {
            count >>= 10;
            units++;
        }
        data[7] = units;
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(8), (uint)count);
        return data;
    }

    /// <summary>
    /// OPERATING PARAMETERS (SPC-4 §6.18.4 Table 157): 0..3 AVAILABLE DATA; 4 SNLID (0); 8..9 MAXIMUM CSCD DESCRIPTOR COUNT;
    /// 10..11 MAXIMUM SEGMENT DESCRIPTOR COUNT; 12..15 MAXIMUM DESCRIPTOR LIST LENGTH; 16..19 MAXIMUM SEGMENT LENGTH;
    /// 20..23 MAXIMUM INLINE DATA LENGTH; 24..27 HELD DATA LIMIT; 28..31 MAXIMUM STREAM DEVICE TRANSFER SIZE;
    /// 34..35 TOTAL CONCURRENT COPIES; 36 MAXIMUM CONCURRENT COPIES; 37 DATA SEGMENT GRANULARITY (log2);
    /// 38 INLINE DATA GRANULARITY; 39 HELD DATA GRANULARITY; 43 IMPLEMENTED DESCRIPTOR LIST LENGTH; 44.. type codes.
    /// </summary>
    public static byte[] OperatingParameters(int blockSize)
    {
        var types = CopyLimits.ImplementedDescriptorTypes;
        var data = new byte[44 + types.Length];
        BinaryPrimitives.WriteUInt32BigEndian(data, (uint)(data.Length - 4));
        data[4] = 0x01; // SNLID: LIST ID USAGE 11b (no list identifier) is supported.
        BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(8), CopyLimits.MaxCscdDescriptors);
        BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(10), CopyLimits.MaxSegmentDescriptors);
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(12), CopyLimits.MaxDescriptorListLength);
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(16), CopyLimits.MaxSegmentLength);
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(20), CopyLimits.MaxInlineDataLength);
        BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(34), CopyLimits.TotalConcurrentCopies);
        data[36] = CopyLimits.MaxConcurrentCopies;
        data[37] = (byte)System.Numerics.BitOperations.Log2((uint)blockSize);
        data[43] = (byte)types.Length;
        types.CopyTo(data.AsSpan(44));
        return data;
    }

    /// <summary>
    /// FAILED SEGMENT DETAILS (SPC-4 §6.18.5 Table 159): 0..3 AVAILABLE DATA; 56 HDD (7), COPY MANAGER STATUS (6..0);
    /// 58..59 SENSE DATA LENGTH; 60.. sense data (none when the copy succeeded).
    /// </summary>
    public static byte[] FailedSegmentDetails(CopyResult result)
    {
        byte[] sense = result.FailedSense ?? [];
        var data = new byte[60 + sense.Length];
        BinaryPrimitives.WriteUInt32BigEndian(data, (uint)(data.Length - 4));
        data[56] = (byte)result.Status;
        BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(58), (ushort)sense.Length);
        sense.CopyTo(data, 60);
        return data;
    }

    /// <summary>
    /// Third-party Copy VPD page 8Fh (SPC-4 §7.8.17): header (peripheral byte, 8Fh, PAGE LENGTH) then third-party copy
    /// descriptors (2-byte type, 2-byte length, data padded to 4 bytes): Supported Commands (0001h, Table 645: 4 list
    /// length, then opcode, service action count, service actions) and Supported Descriptors (000Ch: 4 list length,
    /// then descriptor type codes).
    /// </summary>
    public static byte[] ThirdPartyCopyVpdPage(byte peripheral)
    {
        byte[] commands = [ExtendedCopyOpCode, 1, 0x00, ReceiveCopyResultsOpCode, 3, 0x00, 0x03, 0x04];
        byte[] supportedCommands = Descriptor(0x0001, [(byte)commands.Length, .. commands]);
        var types = CopyLimits.ImplementedDescriptorTypes.ToArray();
        byte[] supportedDescriptors = Descriptor(0x000C, [(byte)types.Length, .. types]);
        var page = new byte[4 + supportedCommands.Length + supportedDescriptors.Length];
        page[0] = peripheral;
        page[1] = 0x8F;
        BinaryPrimitives.WriteUInt16BigEndian(page.AsSpan(2), (ushort)(page.Length - 4));
        supportedCommands.CopyTo(page, 4);
        supportedDescriptors.CopyTo(page, 4 + supportedCommands.Length);
        return page;
    }

    private static byte[] Descriptor(ushort type, byte[] body)
    {
        int padded = (body.Length + 3) & ~3;
        var d = new byte[4 + padded];
        BinaryPrimitives.WriteUInt16BigEndian(d, type);
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(2), (ushort)padded);
        body.CopyTo(d, 4);
        return d;
    }
}

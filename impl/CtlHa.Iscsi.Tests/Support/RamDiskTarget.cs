using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using CtlHa.Core;

namespace CtlHa.Iscsi.Tests.Support;

/// <summary>
/// A minimal in-memory SCSI block device behind <see cref="IScsiTarget"/> for protocol tests (the real engine is
/// CtlHa.Scsi). One LUN (0), 512-byte blocks. Vendor opcode 0xC1 ("hang") parks a task until a TMF aborts it.
/// </summary>
public sealed class RamDiskTarget : IScsiTarget
{
    public const byte HangOpcode = 0xC1;
    public const int BlockSize = 512;

    private readonly byte[] _disk;
    private readonly ConcurrentDictionary<(long Nexus, uint Tag), TaskCompletionSource<ScsiOutcome>> _hanging = new();

    public RamDiskTarget(int blocks = 32768)
    {
        _disk = new byte[blocks * BlockSize];
        Blocks = blocks;
    }

    public int Blocks { get; }

    public ConcurrentQueue<string> Events { get; } = new();

    public int HangingCount => _hanging.Count;

    /// <summary>The CDB of the last VARIABLE LENGTH (7Fh) command, to check extended-CDB AHS handling.</summary>
    public byte[]? LastVariableLengthCdb { get; private set; }

    public Span<byte> Disk => _disk;

    public void NexusCreated(ITNexus nexus) => Events.Enqueue($"created {nexus.InitiatorName} {nexus.Isid:x12} port {nexus.RelativeTargetPortId}");

    public void NexusLost(ITNexus nexus)
    {
        Events.Enqueue($"lost {nexus.InitiatorName} {nexus.Isid:x12}");
        foreach (var key in _hanging.Keys.Where(k => k.Nexus == nexus.Id))
        {
            if (_hanging.TryRemove(key, out var tcs))
            {
                tcs.TrySetResult(ScsiOutcome.Aborted(report: false));
            }
        }
    }

    public ValueTask<TaskManagementResponse> TaskManagementAsync(TaskManagementRequest request, CancellationToken cancellationToken)
    {
        Events.Enqueue($"tmf {request.Function} tag 0x{request.ReferencedTag:x8}");
        switch (request.Function)
        {
            case TaskManagementFunction.AbortTask:
                if (_hanging.TryRemove((request.Nexus.Id, request.ReferencedTag), out var tcs))
                {
                    tcs.TrySetResult(ScsiOutcome.Aborted(report: false));
                    return ValueTask.FromResult(TaskManagementResponse.FunctionComplete);
                }
                return ValueTask.FromResult(TaskManagementResponse.TaskDoesNotExist);
            case TaskManagementFunction.AbortTaskSet or TaskManagementFunction.ClearTaskSet or TaskManagementFunction.LogicalUnitReset
                or TaskManagementFunction.TargetWarmReset or TaskManagementFunction.TargetColdReset:
                foreach (var key in _hanging.Keys)
                {
                    if (_hanging.TryRemove(key, out var t))
                    {
                        t.TrySetResult(ScsiOutcome.Aborted(report: false));
                    }
                }
                return ValueTask.FromResult(TaskManagementResponse.FunctionComplete);
            case TaskManagementFunction.QueryTask:
                return ValueTask.FromResult(_hanging.ContainsKey((request.Nexus.Id, request.ReferencedTag))
                    ? TaskManagementResponse.FunctionSucceeded : TaskManagementResponse.FunctionComplete);
            default:
                return ValueTask.FromResult(TaskManagementResponse.NotSupported);
        }
    }

    public async ValueTask<ScsiOutcome> ExecuteAsync(ScsiTask task, CancellationToken cancellationToken)
    {
        ReadOnlySpan<byte> cdb = task.Cdb.Span;
        if (LunAddress.Decode(task.Lun) != 0 && cdb[0] is not (0x12 or 0xA0))
        {
            return ScsiOutcome.Check(new Sense(SenseKey.IllegalRequest, 0x25, 0x00));
        }
        switch (cdb[0])
        {
            case 0x00: // TEST UNIT READY
            case 0x35: // SYNCHRONIZE CACHE(10)
            case 0x91: // SYNCHRONIZE CACHE(16)
                return ScsiOutcome.Good;
            case 0x12:
                return await InquiryAsync(task).ConfigureAwait(false);
            case 0xA0: // REPORT LUNS
            {
                byte[] data = new byte[16];
                data[3] = 8;
                await task.Channel.SendDataInAsync(data.AsMemory(0, Math.Min(16, BinaryPrimitives.ReadInt32BigEndian(cdb[6..]))), 0, true, cancellationToken).ConfigureAwait(false);
                return ScsiOutcome.Good;
            }
            case 0x25: // READ CAPACITY(10)
            {
                byte[] data = new byte[8];
                BinaryPrimitives.WriteUInt32BigEndian(data, (uint)Blocks - 1);
                BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(4), BlockSize);
                await task.Channel.SendDataInAsync(data, 0, true, cancellationToken).ConfigureAwait(false);
                return ScsiOutcome.Good;
            }
            case 0x9E when (cdb[1] & 0x1F) == 0x10: // READ CAPACITY(16)
            {
                byte[] data = new byte[32];
                BinaryPrimitives.WriteUInt64BigEndian(data, (ulong)Blocks - 1);
                BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(8), BlockSize);
                int alloc = BinaryPrimitives.ReadInt32BigEndian(cdb[10..]);
                await task.Channel.SendDataInAsync(data.AsMemory(0, Math.Min(32, alloc)), 0, true, cancellationToken).ConfigureAwait(false);
                return ScsiOutcome.Good;
            }
            case 0x1A: // MODE SENSE(6): header only
            {
                byte[] data = [3, 0, 0, 0];
                await task.Channel.SendDataInAsync(data.AsMemory(0, Math.Min(4, (int)cdb[4])), 0, true, cancellationToken).ConfigureAwait(false);
                return ScsiOutcome.Good;
            }
            case 0x28 or 0x88: // READ(10) / READ(16)
            case 0x2A or 0x8A: // WRITE(10) / WRITE(16)
            {
                bool is16 = cdb[0] is 0x88 or 0x8A;
                ulong lba = is16 ? BinaryPrimitives.ReadUInt64BigEndian(cdb[2..]) : BinaryPrimitives.ReadUInt32BigEndian(cdb[2..]);
                uint count = is16 ? BinaryPrimitives.ReadUInt32BigEndian(cdb[10..]) : BinaryPrimitives.ReadUInt16BigEndian(cdb[7..]);
                if (lba + count > (ulong)Blocks)
                {
                    return ScsiOutcome.Check(new Sense(SenseKey.IllegalRequest, 0x21, 0x00));
                }
                Memory<byte> region = _disk.AsMemory((int)lba * BlockSize, (int)count * BlockSize);
                if (cdb[0] is 0x28 or 0x88)
                {
                    if (count > 0)
                    {
                        await task.Channel.SendDataInAsync(region, 0, true, cancellationToken).ConfigureAwait(false);
                    }
                }
                else if (count > 0 && task.ExpectedDataTransferLength >= (uint)region.Length)
                {
                    await task.Channel.ReceiveDataOutAsync(region, 0, cancellationToken).ConfigureAwait(false);
                }
                else if (count > 0)
                {
                    // Never write bytes the initiator did not send (EDTL below the transfer length): stage, then copy what came.
                    byte[] staged = new byte[region.Length];
                    await task.Channel.ReceiveDataOutAsync(staged, 0, cancellationToken).ConfigureAwait(false);
                    int sent = (int)Math.Min(task.ExpectedDataTransferLength, (uint)staged.Length);
                    staged.AsSpan(0, sent).CopyTo(region.Span);
                }
                return ScsiOutcome.Good;
            }
            case 0x7F: // VARIABLE LENGTH CDB: recorded, then GOOD
                LastVariableLengthCdb = cdb.ToArray();
                return ScsiOutcome.Good;
            case HangOpcode:
            {
                var tcs = new TaskCompletionSource<ScsiOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
                _hanging[(task.Nexus.Id, task.Tag)] = tcs;
                return await tcs.Task.ConfigureAwait(false);
            }
            default:
                return ScsiOutcome.Check(new Sense(SenseKey.IllegalRequest, 0x20, 0x00));
        }
    }

    private static async ValueTask<ScsiOutcome> InquiryAsync(ScsiTask task)
    {
        ReadOnlySpan<byte> cdb = task.Cdb.Span;
        int alloc = BinaryPrimitives.ReadUInt16BigEndian(cdb[3..]);
        byte[] data;
        if ((cdb[1] & 1) == 0)
        {
            data = new byte[36];
            data[0] = LunAddress.Decode(task.Lun) == 0 ? (byte)0x00 : (byte)0x7F;
            data[2] = 0x06;
            data[3] = 0x02;
            data[4] = 31;
            data[7] = 0x02; // CMDQUE
            Encoding.ASCII.GetBytes("CTLHA   RAMDISK         0001").CopyTo(data, 8);
        }
        else if (cdb[2] == 0x00)
        {
            data = [0, 0x00, 0, 2, 0x00, 0x80];
        }
        else if (cdb[2] == 0x80)
        {
            data = [0, 0x80, 0, 4, (byte)'0', (byte)'0', (byte)'0', (byte)'1'];
        }
        else
        {
            return ScsiOutcome.Check(new Sense(SenseKey.IllegalRequest, 0x24, 0x00).WithSks(Sense.FieldPointer(true, 2)));
        }
        await task.Channel.SendDataInAsync(data.AsMemory(0, Math.Min(alloc, data.Length)), 0, true, CancellationToken.None).ConfigureAwait(false);
        return ScsiOutcome.Good;
    }
}

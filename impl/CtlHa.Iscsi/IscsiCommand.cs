using System.Buffers;
using CtlHa.Core;

namespace CtlHa.Iscsi;

/// <summary>
/// Connection-side state of one SCSI command (RFC 7143 task): the executor's data channel. Write data is staged in a
/// pooled buffer as Data-Out arrives (immediate, unsolicited, then R2T-solicited) and copied out when the executor asks;
/// Data-In is handed to the connection's writer without copying and the call completes once it is flushed.
/// </summary>
internal sealed class IscsiCommand : IScsiDataChannel
{
    private readonly IscsiConnection _connection;
    private readonly Lock _lock = new();
    private AsyncSignal? _dataOutSignal;
    private AsyncSignal? _dataInSignal;
    private byte[]? _buffer;
    private int _received;
    private long _waitingFor = -1;
    private bool _dataInArmed;
    private Exception? _failure;
    private bool _completed;
    private TaskCompletionSource? _done;
    private int _finished;

    public IscsiCommand(IscsiConnection connection, ulong lun, uint tag, uint expectedDataTransferLength, DataDirection direction, uint cmdSN)
    {
        _connection = connection;
        Lun = lun;
        Tag = tag;
        ExpectedDataTransferLength = expectedDataTransferLength;
        Direction = direction;
        CmdSN = cmdSN;
        WriteLength = (direction & DataDirection.Write) != 0 ? (int)expectedDataTransferLength : 0;
        ReadLength = (direction & DataDirection.Read) != 0 ? expectedDataTransferLength : 0;
        if (WriteLength > 0)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(WriteLength);
        }
    }

    public ulong Lun { get; }

    public uint Tag { get; }

    public uint ExpectedDataTransferLength { get; }

    public DataDirection Direction { get; }

    public uint CmdSN { get; }

    /// <summary>Data-Out bytes the initiator will send (EDTL for writes, else 0).</summary>
    public int WriteLength { get; }

    /// <summary>Data-In bytes the initiator can take (EDTL for reads, else 0).</summary>
    public uint ReadLength { get; }

    public ScsiTask Task { get; set; } = null!;

    /// <summary>Guards the R2T state below: the read loop (Data-Out ends a burst) and the executor (first data request) both issue R2Ts.</summary>
    public Lock R2TGate => _lock;

    /// <summary>
    /// Set once the executor first asks for data beyond what the initiator sends unsolicited. R2Ts wait for it: a command
    /// that ends early (CHECK CONDITION from the CDB checks) must not solicit data, or the initiator may still be sending
    /// it after the status completed its task (libiscsi then writes from a buffer its caller already freed).
    /// </summary>
    public bool Soliciting { get; set; }

    public int UnsolicitedEnd { get; set; }

    public int NextR2TOffset { get; set; }

    public int OutstandingR2T { get; set; }

    public uint NextR2TSN { get; set; }

    public uint TargetTransferTag { get; set; }

    /// <summary>DataSN the next Data-Out must carry: 0 at the start of each sequence (unsolicited, then each R2T), RFC 7143 §11.7.5.</summary>
    public uint ExpectedDataOutSN { get; set; }

    // Data-In state: executor side (calls are sequential per the IScsiDataChannel contract).
    public uint NextDataSN { get; set; }

    public int BurstBytes { get; set; }

    public long DataInWanted { get; set; }

    public long DataOutWanted { get; private set; }

    public bool StatusSent { get; set; }

    /// <summary>
    /// The executor finished the command with a real status (not aborted): an ABORT TASK that raced it answers "Task does
    /// not exist" (RFC 7143 §11.6.1), since the initiator gets the command's response.
    /// </summary>
    public bool CompletedUnaborted { get; set; }

    /// <summary>Non-immediate commands hold a CmdSN window slot until their status is on its way.</summary>
    public bool HoldsSlot { get; init; }

    public ValueTask ReceiveDataOutAsync(Memory<byte> destination, uint bufferOffset, CancellationToken cancellationToken)
    {
        long end = (long)bufferOffset + destination.Length;
        long needed;
        ValueTask wait;
        lock (_lock)
        {
            if (_failure is not null || _completed)
            {
                return ValueTask.FromException(new OperationCanceledException("the command's transport is gone", _failure));
            }
            DataOutWanted = Math.Max(DataOutWanted, end);
            needed = Math.Min(end, WriteLength);
            if (_received >= needed)
            {
                CopyOut(destination.Span, bufferOffset);
                return default;
            }
            _waitingFor = needed;
            _dataOutSignal ??= new AsyncSignal();
            wait = _dataOutSignal.Arm();
        }
        if (needed > UnsolicitedEnd)
        {
            _connection.StartSoliciting(this);
        }
        return WaitThenCopyAsync(wait, destination, bufferOffset, cancellationToken);
    }

    private async ValueTask WaitThenCopyAsync(ValueTask wait, Memory<byte> destination, uint bufferOffset, CancellationToken cancellationToken)
    {
        using (cancellationToken.CanBeCanceled
            ? cancellationToken.Register(static s => ((IscsiCommand)s!).Fail(new OperationCanceledException("data transfer cancelled")), this)
            : default)
        {
            await wait.ConfigureAwait(false);
        }
        lock (_lock)
        {
            if (_failure is not null || _completed)
            {
                throw new OperationCanceledException("the command's transport is gone", _failure);
            }
            CopyOut(destination.Span, bufferOffset);
        }
    }

    private void CopyOut(Span<byte> destination, uint bufferOffset)
    {
        int available = (int)Math.Clamp(WriteLength - (long)bufferOffset, 0, destination.Length);
        if (available > 0)
        {
            _buffer.AsSpan((int)bufferOffset, available).CopyTo(destination);
        }
        destination[available..].Clear(); // beyond EDTL reads as zero (IScsiDataChannel contract)
    }

    public ValueTask SendDataInAsync(ReadOnlyMemory<byte> source, uint bufferOffset, bool finalWithGoodStatus, CancellationToken cancellationToken) =>
        _connection.SendDataIn(this, source, bufferOffset, finalWithGoodStatus);

    /// <summary>Arms the Data-In hand-off; the writer calls <see cref="OnDataInFlushed"/> after the last PDU is flushed.</summary>
    public ValueTask ArmDataIn()
    {
        lock (_lock)
        {
            if (_failure is not null)
            {
                return ValueTask.FromException(new OperationCanceledException("the command's transport is gone", _failure));
            }
            _dataInArmed = true;
            _dataInSignal ??= new AsyncSignal();
            return _dataInSignal.Arm();
        }
    }

    public void OnDataInFlushed()
    {
        lock (_lock)
        {
            if (_dataInArmed)
            {
                _dataInArmed = false;
                _dataInSignal!.Set();
            }
        }
    }

    public bool IsFailed
    {
        get
        {
            lock (_lock)
            {
                return _failure is not null;
            }
        }
    }

    /// <summary>
    /// Stores Data-Out bytes at <paramref name="bufferOffset"/> (RFC 7143 §11.7). DataPDUInOrder and DataSequenceInOrder are
    /// Yes, so data arrives at increasing offsets; bytes beyond the EDTL are dropped. Read loop only.
    /// </summary>
    /// <returns>null, or why the PDU violates the protocol.</returns>
    public string? AcceptData(uint bufferOffset, in ReadOnlySequence<byte> data)
    {
        lock (_lock)
        {
            if (_completed || _failure is not null)
            {
                return null; // the command ended early; the initiator still owes the data it was asked for
            }
            if (bufferOffset != (uint)_received && !(bufferOffset >= WriteLength && _received == WriteLength))
            {
                return $"Data-Out at buffer offset {bufferOffset} for tag 0x{Tag:x8}, expected {_received} (DataPDUInOrder=Yes)";
            }
            long length = Math.Clamp(WriteLength - (long)bufferOffset, 0, data.Length);
            if (length > 0)
            {
                data.Slice(0, length).CopyTo(_buffer.AsSpan((int)bufferOffset));
                _received += (int)length;
            }
            if (_waitingFor >= 0 && _received >= _waitingFor)
            {
                _waitingFor = -1;
                _dataOutSignal!.Set();
            }
            return null;
        }
    }

    /// <summary>Fails any wait: the transport broke, the task was aborted, or the executor cancelled.</summary>
    public void Fail(Exception exception)
    {
        lock (_lock)
        {
            _failure ??= exception;
            if (_waitingFor >= 0)
            {
                _waitingFor = -1;
                _dataOutSignal!.Fail(exception);
            }
            if (_dataInArmed)
            {
                _dataInArmed = false;
                _dataInSignal!.Fail(exception);
            }
        }
    }

    /// <summary>Once per command: status is on its way, so the tag and the CmdSN slot are free again.</summary>
    public bool TryFinish() => Interlocked.Exchange(ref _finished, 1) == 0;

    /// <summary>The executor is done: return the buffer and release waiters of <see cref="Completion"/>.</summary>
    public void Complete()
    {
        TaskCompletionSource? done;
        lock (_lock)
        {
            _completed = true;
            if (_buffer is { } buffer)
            {
                _buffer = null;
                ArrayPool<byte>.Shared.Return(buffer);
            }
            done = _done;
        }
        done?.TrySetResult();
    }

    /// <summary>Completes when the executor finished the command.</summary>
    public Task Completion
    {
        get
        {
            lock (_lock)
            {
                if (_completed)
                {
                    return System.Threading.Tasks.Task.CompletedTask;
                }
                _done ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                return _done.Task;
            }
        }
    }

    public override string ToString() => Task?.ToString() ?? $"tag 0x{Tag:x8}";
}

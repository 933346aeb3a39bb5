using CtlHa.Initiator.Pdus;
using CtlHa.Initiator.Scsi;

namespace CtlHa.Initiator;

/// <summary>A SCSI command in flight: its tag (for ABORT TASK) and its eventual response.</summary>
public sealed record RunningCommand(uint Itt, ulong Lun, Task<ScsiResponse> Response);

public sealed partial class IscsiInitiatorSession
{
    /// <summary>Anything waiting for a target PDU with a given ITT.</summary>
    private abstract class PendingTask(uint itt, ulong lun)
    {
        public uint Itt { get; } = itt;

        public ulong Lun { get; } = lun;

        public abstract void Fail(Exception cause);
    }

    /// <summary>An immediate or text task answered by exactly one PDU of <see cref="ExpectedOpcode"/>.</summary>
    private sealed class PendingPdu(uint itt, ulong lun, IscsiOpcode expectedOpcode) : PendingTask(itt, lun)
    {
        private readonly TaskCompletionSource<IscsiPdu> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public IscsiOpcode ExpectedOpcode { get; } = expectedOpcode;

        public Task<IscsiPdu> Completion => _completion.Task;

        public void Complete(IscsiPdu pdu) => _completion.TrySetResult(pdu);

        public override void Fail(Exception cause) => _completion.TrySetException(cause);
    }

    /// <summary>A SCSI command: its Data-In buffer, its Data-Out source, and the chain of Data-Out bursts.</summary>
    private sealed class PendingCommand(uint itt, ulong lun, byte[] dataIn, ReadOnlyMemory<byte> dataOut) : PendingTask(itt, lun)
    {
        private readonly TaskCompletionSource<ScsiResponse> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public byte[] DataIn { get; } = dataIn;

        public ReadOnlyMemory<byte> DataOut { get; } = dataOut;

        /// <summary>Bytes of Data-In received up to (highest BufferOffset + length).</summary>
        public int DataInLength { get; set; }

        public uint CmdSN { get; set; }

        /// <summary>Data-Out bursts run one after another so buffer offsets rise on the wire (DataSequenceInOrder=Yes).</summary>
        public Task OutChain { get; set; } = Task.CompletedTask;

        public Task<ScsiResponse> Completion => _completion.Task;

        public void Complete(ScsiResponse response) => _completion.TrySetResult(response);

        public override void Fail(Exception cause) => _completion.TrySetException(cause);
    }

    /// <summary>Sends an immediate PDU (CmdSN not advanced) and waits for its answer under <paramref name="deadline"/>.</summary>
    private async Task<IscsiPdu> SendImmediateAndWaitAsync(IscsiPdu pdu, PendingPdu waiter, string what, CancellationToken deadline, CancellationToken caller,
        bool duringLogout = false)
    {
        if (!duringLogout)
        {
            ThrowIfNotUsable();
        }

        _pending[waiter.Itt] = waiter;
        try
        {
            await _connection.SendAsync(pdu, p =>
            {
                lock (_sn)
                {
                    p.CmdSN = _cmdSN;
                    p.ExpStatSN = _expStatSN;
                }
            }, deadline);
            return await waiter.Completion.WaitAsync(deadline);
        }
        catch (OperationCanceledException) when (!caller.IsCancellationRequested)
        {
            throw new IscsiTimeoutException($"{what} got no answer in time.");
        }
        catch (IscsiConnectionLostException)
        {
            _pending.TryRemove(waiter.Itt, out _);
            throw;
        }
    }

    /// <summary>Sends a non-immediate task (advancing CmdSN within the window) and waits for its one-PDU answer.</summary>
    private async Task<IscsiPdu> SendCommandAndWaitAsync(IscsiPdu pdu, PendingPdu waiter, CancellationToken deadline, CancellationToken caller)
    {
        ThrowIfNotUsable();
        _pending[waiter.Itt] = waiter;
        try
        {
            await SendWithinWindowAsync(pdu, deadline);
            return await waiter.Completion.WaitAsync(deadline);
        }
        catch (OperationCanceledException) when (!caller.IsCancellationRequested)
        {
            throw new IscsiTimeoutException($"{pdu.Opcode} got no answer in time.");
        }
    }

    /// <summary>
    /// Sends a non-immediate PDU once CmdSN &lt;= MaxCmdSN (RFC 7143 §3.2.2.1), assigning CmdSN under the write lock
    /// so CmdSN order is wire order; while the window is closed it waits for a target PDU that moves MaxCmdSN.
    /// </summary>
    private async Task SendWithinWindowAsync(IscsiPdu pdu, CancellationToken cancellationToken)
    {
        while (true)
        {
            ThrowIfNotUsable();
            Task windowChanged;
            lock (_sn)
            {
                windowChanged = _windowChanged.Task;
            }

            var sent = await _connection.TrySendAsync(pdu, p =>
            {
                lock (_sn)
                {
                    if (!Serial.LessOrEqual(_cmdSN, _maxCmdSN))
                    {
                        return false;
                    }

                    p.CmdSN = _cmdSN++;
                    p.ExpStatSN = _expStatSN;
                    return true;
                }
            }, cancellationToken);
            if (sent)
            {
                return;
            }

            await windowChanged.WaitAsync(cancellationToken);
        }
    }
}

using Microsoft.Extensions.Logging;

namespace CtlHa.Scsi;

// The thin-provisioning threshold timer (CTL's ctl_thresh_thread).
public sealed partial class ScsiEngine : IDisposable
{
    private readonly Lock _provisioningLock = new();
    private Timer? _provisioningTimer;
    private int _provisioningBusy;
    private bool _disposed;

    /// <summary>
    /// Starts the periodic threshold check (every <see cref="ScsiEngineOptions.ProvisioningCheckInterval"/>) if it does
    /// not run yet. Called when a threshold descriptor becomes enabled; a tick that finds the previous one still running
    /// is skipped, so at most one pass over the LUNs runs at a time.
    /// </summary>
    internal void EnsureProvisioningMonitor()
    {
        var period = Options.ProvisioningCheckInterval;
        if (period <= TimeSpan.Zero)
        {
            return;
        }
        lock (_provisioningLock)
        {
            if (_disposed || _provisioningTimer is not null)
            {
                return;
            }
            _provisioningTimer = new Timer(static s => ((ScsiEngine)s!).ProvisioningTick(), this, period, period);
        }
    }

    /// <summary>Runs one threshold check of every LUN now (the timer does the same; tests and tools call it directly).</summary>
    public async Task CheckProvisioningThresholdsAsync(CancellationToken cancellationToken = default)
    {
        foreach (var lun in _luns)
        {
            try
            {
                await lun.CheckProvisioningThresholdsAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException)
            {
                Log.ThresholdCheckFailed(_logger, lun.LunId, e.Message);
            }
        }
    }

    private void ProvisioningTick()
    {
        if (Interlocked.Exchange(ref _provisioningBusy, 1) != 0)
        {
            return;
        }
        _ = RunTickAsync();

        async Task RunTickAsync()
        {
            try
            {
                await CheckProvisioningThresholdsAsync(CancellationToken.None).ConfigureAwait(false);
            }
            finally
            {
                Volatile.Write(ref _provisioningBusy, 0);
            }
        }
    }

    /// <summary>Stops the threshold timer (nothing else in the engine holds resources; LUN backends belong to the host).</summary>
    public void Dispose()
    {
        Timer? timer;
        lock (_provisioningLock)
        {
            _disposed = true;
            timer = _provisioningTimer;
            _provisioningTimer = null;
        }
        timer?.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 90, Level = LogLevel.Warning, Message = "LUN {Lun}: thin-provisioning threshold check failed: {Reason}")]
        public static partial void ThresholdCheckFailed(ILogger logger, int lun, string reason);
    }
}

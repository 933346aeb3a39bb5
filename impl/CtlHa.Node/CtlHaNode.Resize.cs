using CtlHa.Scsi;

namespace CtlHa.Node;

// Online LUN resize for the control API (POST /lun/resize, `ctlha lun resize`).
public sealed partial class CtlHaNode
{
    /// <summary>
    /// Grows LUN <paramref name="lun"/> to <paramref name="sizeBytes"/>. On an HA node the HA layer decides (only the
    /// LUN's primary while linked; the peer adopts the size through LunSync); otherwise the engine's LUN grows directly.
    /// Every I_T nexus of the LUN, on both nodes, gets 2A/09.
    /// </summary>
    public async Task<(bool Ok, string Message)> ResizeLunAsync(int lun, long sizeBytes, CancellationToken ct)
    {
        if (lun < 0 || lun >= _settings.Luns.Count)
        {
            return (false, $"LUN {lun} does not exist (this node has LUNs 0..{_settings.Luns.Count - 1})");
        }
        try
        {
            bool changed;
            long blockSize;
            if (_ha is { } ha)
            {
                changed = await ha.ResizeLunAsync(lun, sizeBytes, ct);
                blockSize = ha.Engine.FindLogicalUnit(lun)!.BlockSize;
            }
            else if (_engine?.FindLogicalUnit(lun) is LogicalUnit lu)
            {
                if (sizeBytes <= 0 || sizeBytes % lu.BlockSize != 0)
                {
                    return (false, $"size {sizeBytes} is not a positive multiple of the block size {lu.BlockSize}");
                }
                changed = await lu.ResizeAsync(sizeBytes / lu.BlockSize, ct);
                blockSize = lu.BlockSize;
            }
            else
            {
                return (false, "the node is not serving yet");
            }
            return (true, changed
                ? $"LUN {lun}: capacity is now {sizeBytes} bytes ({sizeBytes / blockSize} blocks)"
                : $"LUN {lun}: capacity is already {sizeBytes} bytes (unchanged)");
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or NotSupportedException or IOException or UnauthorizedAccessException)
        {
            return (false, e.Message);
        }
    }
}

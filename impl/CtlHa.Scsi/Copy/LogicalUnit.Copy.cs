using CtlHa.Scsi.Copy;

// The Copy/ half of the partial LogicalUnit (engine README "Plug-in contract").
namespace CtlHa.Scsi;

public sealed partial class LogicalUnit
{
    /// <summary>This LU's copy manager: runs EXTENDED COPY and holds results for RECEIVE COPY RESULTS.</summary>
    public CopyManager CopyState { get; } = new();
}

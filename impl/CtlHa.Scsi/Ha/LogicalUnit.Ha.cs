// The namespace is the engine's, not the folder's: this file is the HA half of the partial LogicalUnit.
namespace CtlHa.Scsi;

public sealed partial class LogicalUnit
{
    /// <summary>The current image of every mode page (header included) for MODE_SYNC (ctl-ha.md §8.3; CtlHa sends whole pages).</summary>
    public IReadOnlyList<(byte Code, byte Subpage, byte[] Current)> ExportModePages()
    {
        var list = new List<(byte, byte, byte[])>();
        lock (Mode.SyncRoot)
        {
            foreach (var page in Mode.Pages)
            {
                list.Add((page.Code, page.Subpage, (byte[])page.Current.Clone()));
            }
        }
        return list;
    }

    /// <summary>
    /// Overwrites the current image of one page with the peer's (MODE_SYNC receive side): the header stays ours and
    /// min(our length, theirs) bytes are copied, as recent CTL does. False when the page does not exist here.
    /// </summary>
    public bool ApplyPeerModePage(byte code, byte subpage, ReadOnlySpan<byte> pageData)
    {
        var page = Mode.Find(code, subpage);
        if (page is null)
        {
            return false;
        }
        lock (Mode.SyncRoot)
        {
            int header = page.HeaderLength;
            int n = Math.Min(page.Current.Length, pageData.Length);
            if (n > header)
            {
                pageData[header..n].CopyTo(page.Current.AsSpan(header));
            }
        }
        if (code == 0x1C && subpage == 0x02 && HasEnabledThreshold())
        {
            Engine?.EnsureProvisioningMonitor(); // checks only while the gate (HA: primary) allows
        }
        return true;
    }
}

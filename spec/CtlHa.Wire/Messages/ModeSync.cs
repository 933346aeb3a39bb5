using MessagePack;

namespace CtlHa.Wire;

/// <summary>
/// The full current image of one mode page (CTL_MSG_MODE_SYNC with the data CTL 12.1 forgot, §12.2.1).
/// Union key 13. Sent by the executing node after MODE SELECT changed a page (Originator = requester),
/// and by a primary for every page at LUN announce or after RTD (Originator = NoInitiator: no UA).
/// The receiver overwrites its current page; if Originator ≠ NoInitiator it sets 2A/01 MODE PARAMETERS
/// CHANGED for all its initiators except Originator.
/// </summary>
/// <param name="Lun">Global LUN number, &lt; MaxLunsLimit.</param>
/// <param name="PageCode">Page code 0x00..0x3E (without PS/SPF bits).</param>
/// <param name="Subpage">Subpage code; 0 for page_0 format.</param>
/// <param name="PageData">The page as MODE SENSE returns it (SPC-5 §7.5.7): page_0 format
/// <c>[PS|0|code, len, …]</c> of 2+len bytes, or sub_page format <c>[PS|SPF|code, sub, lenHi, lenLo, …]</c> of 4+len bytes; ≤ 4096.</param>
/// <param name="Originator">Initiator index that caused the change, or NoInitiator.</param>
[MessagePackObject]
public sealed record ModeSync(
    [property: Key(0)] uint Lun,
    [property: Key(1)] byte PageCode,
    [property: Key(2)] byte Subpage,
    [property: Key(3)] byte[] PageData,
    [property: Key(4)] uint Originator) : InterlinkMessage
{
    public override void Validate()
    {
        WireCheck.Range(Lun, 0, WireLimits.MaxLunsLimit - 1, "ModeSync.Lun");
        WireCheck.Range(PageCode, 0, 0x3E, "ModeSync.PageCode");
        WireCheck.Bytes(PageData, 2, WireLimits.MaxModePageLength, "ModeSync.PageData");
        if ((PageData[0] & 0x3F) != PageCode)
        {
            WireCheck.Fail(InterlinkErrorKind.OutOfRange, $"ModeSync.PageData[0] page code 0x{PageData[0] & 0x3F:X2} differs from PageCode 0x{PageCode:X2}");
        }

        var subpageFormat = (PageData[0] & 0x40) != 0;
        int declared;
        if (subpageFormat)
        {
            WireCheck.Bytes(PageData, 4, WireLimits.MaxModePageLength, "ModeSync.PageData");
            if (PageData[1] != Subpage)
            {
                WireCheck.Fail(InterlinkErrorKind.OutOfRange, $"ModeSync.PageData[1] subpage 0x{PageData[1]:X2} differs from Subpage 0x{Subpage:X2}");
            }

            declared = 4 + ((PageData[2] << 8) | PageData[3]);
        }
        else
        {
            if (Subpage != 0)
            {
                WireCheck.Fail(InterlinkErrorKind.OutOfRange, $"ModeSync.Subpage=0x{Subpage:X2} needs the SPF bit in PageData[0]");
            }

            declared = 2 + PageData[1];
        }

        if (declared != PageData.Length)
        {
            WireCheck.Fail(InterlinkErrorKind.OutOfRange, $"ModeSync.PageData length {PageData.Length} differs from the page's own length {declared}");
        }

        if (Originator != WireLimits.NoInitiator)
        {
            WireCheck.Range(Originator, 0, WireLimits.MaxInitiatorIndex, "ModeSync.Originator");
        }
    }
}

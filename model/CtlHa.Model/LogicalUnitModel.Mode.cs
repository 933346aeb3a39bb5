using CtlHa.Spec;

namespace CtlHa.Model;

/// <summary>MODE SENSE and MODE SELECT (SPC-5 6.11-6.14, 7.5; ctl-ha.md §13).</summary>
public sealed partial class LogicalUnitModel
{
    /// <summary>The current value of a mode page, header included (a copy).</summary>
    public byte[] CurrentModePage(ModePageId id) => (byte[])_modePages[id].Clone();

    /// <summary>
    /// MODE SENSE(6) [1] DBD 08h [2] PC(7..6) | PAGE CODE [3] SUBPAGE [4] ALLOCATION LENGTH;
    /// MODE SENSE(10) [1] LLBAA 10h | DBD 08h, [2], [3], [7..8] ALLOCATION LENGTH.
    /// Header(6): [0] MODE DATA LENGTH [1] medium type [2] WP 80h | DPOFUA 10h [3] BLOCK DESCRIPTOR LENGTH.
    /// Header(10): [0..1] MODE DATA LENGTH [3] device-specific [4] LONGLBA [6..7] BLOCK DESCRIPTOR LENGTH.
    /// </summary>
    private ModelResult ModeSense(ReadOnlySpan<byte> cdb)
    {
        var ten = cdb[0] == 0x5A;
        var dbd = (cdb[1] & 0x08) != 0;
        var llbaa = ten && (cdb[1] & 0x10) != 0;
        var pc = cdb[2] >> 6;
        var pageCode = (byte)(cdb[2] & 0x3F);
        var subpage = cdb[3];
        var alloc = ten ? (long)Be(cdb, 7, 2) : cdb[4];

        List<ModePageId> pages;
        if (pageCode == 0x3F)
        {
            if (subpage is not (0x00 or 0xFF))
            {
                return Check(Senses.InvalidFieldInCdb(3));
            }

            pages = ModePages.All.Where(p => subpage == 0xFF || p.Subpage == 0).ToList();
        }
        else
        {
            pages = ModePages.All.Where(p => p.Page == pageCode && (subpage == 0xFF || p.Subpage == subpage)).ToList();
        }

        if (pages.Count == 0)
        {
            return Check(Senses.InvalidFieldInCdb(2, 5));
        }

        var body = new List<byte>();
        foreach (var id in pages)
        {
            body.AddRange(pc switch
            {
                0 => _modePages[id],
                1 => ModePages.Changeable(id),
                _ => ModePages.Default(id, _config), // saved pages never change (§13.2): saved = default
            });
        }

        var deviceSpecific = (byte)(0x10 | (_config.ReadOnly || SoftwareWriteProtect ? 0x80 : 0));
        byte[] descriptor = dbd ? [] : llbaa ? LongBlockDescriptor() : ShortBlockDescriptor();
        byte[] header;
        if (ten)
        {
            header = new byte[8];
            header[3] = deviceSpecific;
            header[4] = (byte)(llbaa && !dbd ? 0x01 : 0x00);
            WriteBe16(header, 6, descriptor.Length);
            WriteBe16(header, 0, header.Length + descriptor.Length + body.Count - 2);
        }
        else
        {
            header = new byte[4];
            header[2] = deviceSpecific;
            header[3] = (byte)descriptor.Length;
            header[0] = (byte)Math.Min(255, header.Length + descriptor.Length + body.Count - 1);
        }

        return DataIn([.. header, .. descriptor, .. body], alloc);
    }

    // SPC-5 7.5.6.2 short LBA block descriptor: [0..3] NUMBER OF LOGICAL BLOCKS (FFFFFFFFh if larger) [5..7] BLOCK LENGTH.
    private byte[] ShortBlockDescriptor()
    {
        var d = new byte[8];
        WriteBe32(d, 0, Math.Min(_blockCount, uint.MaxValue));
        d[5] = (byte)(_config.BlockSize >> 16);
        d[6] = (byte)(_config.BlockSize >> 8);
        d[7] = (byte)_config.BlockSize;
        return d;
    }

    // SPC-5 7.5.6.3 long LBA block descriptor: [0..7] NUMBER OF LOGICAL BLOCKS [12..15] BLOCK LENGTH.
    private byte[] LongBlockDescriptor()
    {
        var d = new byte[16];
        WriteBe64(d, 0, _blockCount);
        WriteBe32(d, 12, _config.BlockSize);
        return d;
    }

    /// <summary>
    /// MODE SELECT(6)/(10), ctl-ha.md §13.2. CDB [1] PF 10h | RTD 02h | SP 01h; length [4] or [7..8].
    /// Pages are applied one by one, each real change setting 2A/01 for every other I_T nexus on both nodes
    /// (§8.3, requirement 47); an error stops at the failing page.
    /// </summary>
    private ModelResult ModeSelect(Nexus nexus, ReadOnlySpan<byte> cdb, ReadOnlySpan<byte> dataOut)
    {
        var ten = cdb[0] == 0x55;
        var paramLen = ten ? (int)Be(cdb, 7, 2) : cdb[4];
        if ((cdb[1] & 0x02) != 0)
        {
            // RTD: restore every page to its default; the length must be 0.
            if (paramLen != 0)
            {
                // CTL ctl_mode_select: 05/24/00 without a sense-key specific field.
                return Check(new SenseCondition(Senses.IllegalRequest, 0x24, 0x00));
            }

            foreach (var id in ModePages.All)
            {
                _modePages[id] = ModePages.Default(id, _config);
            }

            EstablishForAll(UaCode.ModeParametersChanged, except: nexus, node: null);
            return ModelResult.Good();
        }

        if (paramLen == 0)
        {
            return ModelResult.Good();
        }

        var p = Slice(dataOut, 0, paramLen);
        var headerLength = ten ? 8 : 4;
        if (paramLen < headerLength)
        {
            return Check(Senses.ParameterListLengthError);
        }

        var bdLength = ten ? (int)Be(p, 6, 2) : p[3];
        var offset = headerLength + bdLength;
        if (paramLen < offset)
        {
            return Check(Senses.ParameterListLengthError);
        }

        while (offset < paramLen)
        {
            var left = paramLen - offset;
            if (left < 2)
            {
                return Check(Senses.ParameterListLengthError);
            }

            var spf = (p[offset] & 0x40) != 0;
            if (spf && left < 4)
            {
                return Check(Senses.ParameterListLengthError);
            }

            var id = new ModePageId((byte)(p[offset] & 0x3F), spf ? p[offset + 1] : (byte)0);
            var hdr = spf ? 4 : 2;
            var pageLength = spf ? (int)Be(p, offset + 2, 2) : p[offset + 1];
            if (!ModePages.Exists(id) || !ModePages.IsSelectable(id))
            {
                return Check(Senses.InvalidFieldInParameterList(offset));
            }

            if (pageLength != ModePages.Length(id) - hdr)
            {
                return Check(Senses.InvalidFieldInParameterList(offset + (spf ? 2 : 1)));
            }

            if (left < hdr + pageLength)
            {
                return Check(Senses.ParameterListLengthError);
            }

            // Like CTL, the header takes part in the comparison: its changeable mask is the page code and
            // length themselves, so a PS bit set in MODE SELECT (reserved there) is rejected at byte 0.
            var current = _modePages[id];
            var mask = ModePages.Changeable(id);
            var updated = (byte[])current.Clone();
            for (var i = 0; i < current.Length; i++)
            {
                var wanted = p[offset + i];
                var illegal = (wanted ^ current[i]) & ~mask[i];
                if (illegal != 0)
                {
                    // CTL computes the bit pointer from the byte index (§12.2 item 9); CtlHa points at the bit.
                    return Check(Senses.InvalidFieldInParameterList(offset + i, 31 - int.LeadingZeroCount(illegal)));
                }

                updated[i] = wanted;
            }

            if (!updated.AsSpan().SequenceEqual(current))
            {
                _modePages[id] = updated;
                EstablishForAll(UaCode.ModeParametersChanged, except: nexus, node: null);
            }

            offset += hdr + pageLength;
        }

        return ModelResult.Good();
    }
}

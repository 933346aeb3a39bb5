using System.Text;
using CtlHa.Spec;

namespace CtlHa.Model;

/// <summary>INQUIRY and VPD pages, REQUEST SENSE, REPORT LUNS, REPORT TARGET PORT GROUPS (SPC-5 6.7, 6.29, 6.36, 6.39, 7.7).</summary>
public sealed partial class LogicalUnitModel
{
    // Peripheral device type 00h: direct access block device.
    private const byte DirectAccess = 0x00;

    // Version descriptors (SPC-5 table "Version descriptor values"), in CTL's order for an iSCSI port:
    // SAM-6, SPC-5, iSCSI, SBC-4 (no version claimed); then SPC-4 (0460h) and SBC-3 (04C0h), which match the
    // VERSION field (SPC-4) and which libiscsi 1.19 looks for (it detects SBC-3 only by 04C0h: without it,
    // Inquiry.BlockLimits rejects a 3Ch-long Block Limits page). The engine lists the same six.
    private static readonly ushort[] VersionDescriptors = [0x00C0, 0x05C0, 0x0960, 0x0600, 0x0460, 0x04C0];

    /// <summary>
    /// INQUIRY, SPC-5 6.7. CDB [1] EVPD 01h [2] PAGE CODE [3..4] ALLOCATION LENGTH. EVPD = 0 with a page code → 05/24/00.
    /// </summary>
    private ModelResult Inquiry(Nexus nexus, ReadOnlySpan<byte> cdb, LunHaView view)
    {
        var evpd = (cdb[1] & 0x01) != 0;
        var page = cdb[2];
        var alloc = (long)Be(cdb, 3, 2);
        var pq = (byte)((AluaTable.PeripheralQualifier(view) << 5) | DirectAccess);
        if (!evpd)
        {
            return page != 0 ? Check(Senses.InvalidFieldInCdb(2)) : DataIn(StandardInquiry(pq), alloc);
        }

        if (!_config.VpdPages.Contains(page))
        {
            return Check(Senses.InvalidFieldInCdb(2));
        }

        byte[]? data = page switch
        {
            0x00 => Vpd(pq, 0x00, [.. _config.VpdPages]),
            0x80 => Vpd(pq, 0x80, Encoding.ASCII.GetBytes(_config.SerialNumber)),
            0x83 => Vpd(pq, 0x83, DeviceIdentification(nexus)),
            _ => null,
        };
        return data is null ? ModelResult.Unmodeled : DataIn(data, alloc);
    }

    // SPC-5 6.7.2 standard data, 96 bytes: [0] PQ | type [2] VERSION 06h (SPC-4; libiscsi 1.19 rejects SPC-5's 07h,
    // see README) [3] HISUP 10h | format 2
    // [4] ADDITIONAL LENGTH [5] TPGS 01b (implicit ALUA only, §5.5) | 3PC 08h (EXTENDED COPY is in the command
    // table) [6] MULTIP 10h [7] CMDQUE 02h
    // [8..15] vendor [16..31] product [32..35] revision [58..73] version descriptors.
    private byte[] StandardInquiry(byte pq)
    {
        var d = new byte[96];
        d[0] = pq;
        d[2] = 0x06;
        d[3] = 0x12;
        d[4] = (byte)(d.Length - 5);
        d[5] = 0x18;
        d[6] = 0x10;
        d[7] = 0x02;
        Ascii(d, 8, 8, _config.Vendor);
        Ascii(d, 16, 16, _config.Product);
        Ascii(d, 32, 4, _config.Revision);
        for (var i = 0; i < VersionDescriptors.Length; i++)
        {
            WriteBe16(d, 58 + (2 * i), VersionDescriptors[i]);
        }

        return d;
    }

    // SPC-5 7.7.1 VPD header: [0] PQ | type [1] PAGE CODE [2..3] PAGE LENGTH.
    private static byte[] Vpd(byte pq, byte page, byte[] body)
    {
        var d = new byte[4 + body.Length];
        d[0] = pq;
        d[1] = page;
        WriteBe16(d, 2, body.Length);
        body.CopyTo(d, 4);
        return d;
    }

    /// <summary>
    /// VPD 0x83, SPC-5 7.7.6, in CTL's order (§5.5): T10 vendor ID (LUN), NAA (LUN, if configured), relative target
    /// port (type 4h), target port group (type 5h, 2 for node 1's ports, 3 for node 2's), SCSI name of the target.
    /// Designator header: [0] PROTOCOL IDENTIFIER | CODE SET [1] PIV | ASSOCIATION | TYPE [3] LENGTH.
    /// </summary>
    private byte[] DeviceIdentification(Nexus nexus)
    {
        const byte Iscsi = 0x50; // protocol identifier 5h in the high nibble
        var list = new List<byte>();
        var t10 = new byte[8 + Encoding.ASCII.GetByteCount(_config.DeviceId)];
        Ascii(t10, 0, 8, _config.Vendor);
        Encoding.ASCII.GetBytes(_config.DeviceId).CopyTo(t10, 8);
        Designator(list, 0x02, 0x01, t10);
        if (_config.Naa is { } naa)
        {
            var v = new byte[8];
            WriteBe64(v, 0, naa);
            Designator(list, 0x01, 0x03, v);
        }

        var port = new byte[4];
        WriteBe16(port, 2, nexus.RelativePortId);
        Designator(list, Iscsi | 0x01, 0x94, port);
        var group = new byte[4];
        WriteBe16(group, 2, AluaTable.GroupIdOfNode(nexus.Node));
        Designator(list, Iscsi | 0x01, 0x95, group);
        if (_config.TargetName is { } target)
        {
            var name = Encoding.UTF8.GetBytes(target);
            var padded = new byte[(name.Length + 1 + 3) & ~3];
            name.CopyTo(padded, 0);
            Designator(list, Iscsi | 0x03, 0xA8, padded);
        }

        return [.. list];
    }

    private static void Designator(List<byte> list, int codeSet, int typeByte, byte[] value)
    {
        list.Add((byte)codeSet);
        list.Add((byte)typeByte);
        list.Add(0);
        list.Add((byte)value.Length);
        list.AddRange(value);
    }

    private static void Ascii(byte[] d, int offset, int length, string text)
    {
        d.AsSpan(offset, length).Fill((byte)' ');
        var bytes = Encoding.ASCII.GetBytes(text);
        bytes.AsSpan(0, Math.Min(length, bytes.Length)).CopyTo(d.AsSpan(offset));
    }

    /// <summary>
    /// REQUEST SENSE, SPC-5 6.39 (always on the receiving node, §9): CDB [1] DESC 01h [4] ALLOCATION LENGTH.
    /// Returns, as data with GOOD status: 05/25/00 on a LUN unreachable from this node (§5.5, requirement 29),
    /// else the next pending UA (which it clears, §10), else NO SENSE. The format follows DESC.
    /// </summary>
    private ModelResult RequestSense(Nexus nexus, ReadOnlySpan<byte> cdb, LunHaView receivingView)
    {
        var descriptor = (cdb[1] & 0x01) != 0;
        var alloc = (long)cdb[4];
        SenseCondition condition;
        if (AluaTable.RequestSenseReportsLunNotSupported(receivingView))
        {
            condition = Senses.LunNotSupported;
        }
        else if (TakeUnitAttention(nexus) is { } ua)
        {
            condition = UaTable.Sense(ua);
        }
        else
        {
            condition = Senses.None;
        }

        return DataIn(SenseBuilder.Build(condition, descriptor), alloc);
    }

    /// <summary>
    /// REPORT LUNS, SPC-5 6.33: CDB [2] SELECT REPORT [6..9] ALLOCATION LENGTH. Data: [0..3] LUN LIST LENGTH,
    /// [8..] 8-byte LUNs (peripheral addressing below 256, flat space above). SELECT REPORT 01h/10h/11h list
    /// nothing; other values than 00h/02h → 05/24/00. Clears the requester's 3F/0E (§9, requirement 31).
    /// </summary>
    private ModelResult ReportLuns(Nexus nexus, ReadOnlySpan<byte> cdb)
    {
        var select = cdb[2];
        var alloc = (long)Be(cdb, 6, 4);
        if (select is not (0x00 or 0x01 or 0x02 or 0x10 or 0x11))
        {
            return Check(Senses.InvalidFieldInCdb(2));
        }

        var listed = select is 0x00 or 0x02;
        var data = new byte[listed ? 16 : 8];
        if (listed)
        {
            WriteBe32(data, 0, 8);
            var lun = _config.LunId;
            if (lun < 256)
            {
                data[9] = (byte)lun;
            }
            else
            {
                data[8] = (byte)(0x40 | ((lun >> 8) & 0x3F));
                data[9] = (byte)lun;
            }
        }

        if (_unitAttentions.TryGetValue(nexus, out var pending))
        {
            _unitAttentions[nexus] = pending & ~UaCode.ReportedLunsDataChanged;
        }

        return DataIn(data, alloc);
    }

    /// <summary>
    /// REPORT TARGET PORT GROUPS, SPC-5 6.36 (ctl-ha.md §5.5): CDB [1] PARAMETER DATA FORMAT (7..5): 000b length
    /// header, 001b extended header (format type 10h, implicit transition time from the config); others → 05/24/00.
    /// Groups 2 and 3 with the states of <see cref="AluaTable.Groups(LunHaView)"/>; descriptor [0] state
    /// [1] 8Fh (T_SUP U_SUP S_SUP AN_SUP AO_SUP) [2..3] group [5] status 02h [7] port count, then 4 bytes per port.
    /// A node lists its peer's ports only while the link is up (mirrored ports go offline at link loss, §7.1).
    /// </summary>
    private ModelResult ReportTargetPortGroups(ReadOnlySpan<byte> cdb, LunHaView view)
    {
        var pdf = cdb[1] >> 5;
        var alloc = (long)Be(cdb, 6, 4);
        if (pdf > 1)
        {
            return Check(Senses.InvalidFieldInCdb(1, 7));
        }

        var body = new List<byte>();
        foreach (var (groupId, state) in AluaTable.Groups(view))
        {
            var ports = _config.Ports
                .Where(p => AluaTable.GroupIdOfNode(p.Node) == groupId && (p.Node == view.NodeId || view.Link == LinkState.Online))
                .Select(p => p.RelativePortId)
                .ToList();
            var d = new byte[8 + (4 * ports.Count)];
            d[0] = (byte)state;
            d[1] = 0x8F;
            WriteBe16(d, 2, groupId);
            d[5] = 0x02;
            d[7] = (byte)ports.Count;
            for (var i = 0; i < ports.Count; i++)
            {
                WriteBe16(d, 8 + (4 * i) + 2, ports[i]);
            }

            body.AddRange(d);
        }

        var header = new byte[pdf == 1 ? 8 : 4];
        WriteBe32(header, 0, (ulong)body.Count + (ulong)header.Length - 4);
        if (pdf == 1)
        {
            header[4] = 0x10;
            header[5] = _config.ImplicitTransitionTimeSeconds;
        }

        return DataIn([.. header, .. body], alloc);
    }
}

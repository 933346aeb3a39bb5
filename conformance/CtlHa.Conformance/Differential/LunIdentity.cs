using System.Buffers.Binary;
using System.Text;
using CtlHa.Initiator;
using TaskAttribute = CtlHa.Initiator.Scsi.TaskAttribute;

namespace CtlHa.Conformance.Differential;

/// <summary>
/// A LUN's identity as the target reports it: VPD 80h serial, VPD 83h T10 vendor-specific part and NAA. It is
/// configuration, not behaviour, so suites read it once over iSCSI to configure the model instead of borrowing the
/// implementation's derivation; everything else (layout, other designators, pages) is still compared.
/// </summary>
public sealed record LunIdentity(string? Serial, string? DeviceId, ulong? Naa)
{
    public static async Task<LunIdentity> ProbeAsync(IscsiInitiatorSession session, int lun, CancellationToken cancellationToken)
    {
        var serial = await session.ExecuteAsync(lun, Initiator.Scsi.Cdb.Inquiry(true, 0x80, 255), default, 255, TaskAttribute.Simple, cancellationToken);
        var ids = await session.ExecuteAsync(lun, Initiator.Scsi.Cdb.Inquiry(true, 0x83, 1024), default, 1024, TaskAttribute.Simple, cancellationToken);
        string? serialText = serial.IsGood && serial.DataIn.Length >= 4
            ? Encoding.ASCII.GetString(serial.DataIn.Span.Slice(4, Math.Min(serial.DataIn.Span[3], serial.DataIn.Length - 4))).TrimEnd(' ', '\0')
            : null;
        string? deviceId = null;
        ulong? naa = null;
        if (ids.IsGood && ids.DataIn.Length >= 4)
        {
            var page = ids.DataIn.Span;
            var end = Math.Min(page.Length, 4 + BinaryPrimitives.ReadUInt16BigEndian(page[2..]));
            for (var i = 4; i + 4 <= end;)
            {
                var type = page[i + 1] & 0x0F;
                var length = page[i + 3];
                var body = page.Slice(i + 4, Math.Min(length, end - i - 4));
                if (type == 0x1 && body.Length > 8)
                {
                    deviceId = Encoding.ASCII.GetString(body[8..]).TrimEnd(' ', '\0');
                }
                else if (type == 0x3 && body.Length == 8)
                {
                    naa = BinaryPrimitives.ReadUInt64BigEndian(body);
                }

                i += 4 + length;
            }
        }

        return new LunIdentity(serialText, deviceId, naa);
    }
}

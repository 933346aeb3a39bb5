namespace CtlHa.Scsi;

/// <summary>
/// Pending unit attention conditions as CTL's <c>ctl_ua_type</c> bits (ctl-ha.md §10): the lowest set bit is
/// reported first. The first four clear every pending UA when reported; the others clear only themselves.
/// </summary>
[Flags]
public enum UnitAttention : uint
{
    None = 0,
    PowerOn = 0x1,             // 29/01
    BusReset = 0x2,            // 29/02
    TargetReset = 0x4,         // 29/03
    ITNexusLoss = 0x8,         // 29/07
    LunReset = 0x10,           // 29/00
    LunChange = 0x20,          // 3F/0E REPORTED LUNS DATA HAS CHANGED
    ModeChange = 0x40,         // 2A/01
    LogChange = 0x80,          // 2A/02
    InquiryChange = 0x100,     // 3F/03
    ReservationsPreempted = 0x400, // 2A/03
    ReservationsReleased = 0x800,  // 2A/04
    RegistrationsPreempted = 0x1000, // 2A/05
    AsymmetricAccessChange = 0x2000, // 2A/06
    CapacityChange = 0x4000,   // 2A/09
    ThinProvisioningThreshold = 0x8000, // 38/07
    MediumChange = 0x10000,    // 28/00
}

internal static class UnitAttentionCodes
{
    public const UnitAttention ClearsAll = UnitAttention.PowerOn | UnitAttention.BusReset | UnitAttention.TargetReset | UnitAttention.ITNexusLoss;

    public static (byte Asc, byte Ascq) Codes(UnitAttention ua) => ua switch
    {
        UnitAttention.PowerOn => (0x29, 0x01),
        UnitAttention.BusReset => (0x29, 0x02),
        UnitAttention.TargetReset => (0x29, 0x03),
        UnitAttention.ITNexusLoss => (0x29, 0x07),
        UnitAttention.LunReset => (0x29, 0x00),
        UnitAttention.LunChange => (0x3F, 0x0E),
        UnitAttention.ModeChange => (0x2A, 0x01),
        UnitAttention.LogChange => (0x2A, 0x02),
        UnitAttention.InquiryChange => (0x3F, 0x03),
        UnitAttention.ReservationsPreempted => (0x2A, 0x03),
        UnitAttention.ReservationsReleased => (0x2A, 0x04),
        UnitAttention.RegistrationsPreempted => (0x2A, 0x05),
        UnitAttention.AsymmetricAccessChange => (0x2A, 0x06),
        UnitAttention.CapacityChange => (0x2A, 0x09),
        UnitAttention.ThinProvisioningThreshold => (0x38, 0x07),
        UnitAttention.MediumChange => (0x28, 0x00),
        _ => (0x29, 0x00),
    };
}

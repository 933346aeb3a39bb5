namespace CtlHa.Spec;

/// <summary>
/// Unit attention conditions, with CTL's <c>ctl_ua_type</c> bit values: a node reports the lowest pending
/// bit first (ctl-ha.md §10, requirement 64).
/// </summary>
[Flags]
public enum UaCode
{
    None = 0,
    PowerOn = 0x1,
    BusReset = 0x2,
    TargetReset = 0x4,
    ItNexusLoss = 0x8,
    LunReset = 0x10,
    ReportedLunsDataChanged = 0x20,
    ModeParametersChanged = 0x40,
    LogParametersChanged = 0x80,
    InquiryDataChanged = 0x100,
    ReservationsPreempted = 0x400,
    ReservationsReleased = 0x800,
    RegistrationsPreempted = 0x1000,
    AsymmetricAccessStateChanged = 0x2000,
    CapacityDataChanged = 0x4000,
    ThinProvisioningThreshold = 0x8000,
    MediumChanged = 0x10000,
    InformationalException = 0x20000,
}

/// <summary>How reporting one UA affects the others pending for the same initiator (§10).</summary>
public enum UaClearScope
{
    /// <summary>Reporting it clears every pending UA for that initiator and LUN (the 29/xx resets).</summary>
    AllPending,

    /// <summary>Reporting it clears only itself.</summary>
    Itself,

    /// <summary>Reporting it clears itself on every LUN for that initiator (3F/0E).</summary>
    ItselfOnAllLuns,
}

/// <summary>The §10 table: ASC/ASCQ and clearing rule of each UA, in report order.</summary>
public static class UaTable
{
    /// <summary>
    /// Every UA in report order (lowest bit first). <see cref="UaCode.InformationalException"/> carries the
    /// exception's own ASC/ASCQ; 5D/00 (FAILURE PREDICTION THRESHOLD EXCEEDED) stands for it here.
    /// </summary>
    public static IReadOnlyList<(UaCode Code, byte Asc, byte Ascq, UaClearScope Clears)> Rows { get; } =
    [
        (UaCode.PowerOn, 0x29, 0x01, UaClearScope.AllPending),
        (UaCode.BusReset, 0x29, 0x02, UaClearScope.AllPending),
        (UaCode.TargetReset, 0x29, 0x03, UaClearScope.AllPending),
        (UaCode.ItNexusLoss, 0x29, 0x07, UaClearScope.AllPending),
        (UaCode.LunReset, 0x29, 0x00, UaClearScope.Itself),
        (UaCode.ReportedLunsDataChanged, 0x3F, 0x0E, UaClearScope.ItselfOnAllLuns),
        (UaCode.ModeParametersChanged, 0x2A, 0x01, UaClearScope.Itself),
        (UaCode.LogParametersChanged, 0x2A, 0x02, UaClearScope.Itself),
        (UaCode.InquiryDataChanged, 0x3F, 0x03, UaClearScope.Itself),
        (UaCode.ReservationsPreempted, 0x2A, 0x03, UaClearScope.Itself),
        (UaCode.ReservationsReleased, 0x2A, 0x04, UaClearScope.Itself),
        (UaCode.RegistrationsPreempted, 0x2A, 0x05, UaClearScope.Itself),
        (UaCode.AsymmetricAccessStateChanged, 0x2A, 0x06, UaClearScope.Itself),
        (UaCode.CapacityDataChanged, 0x2A, 0x09, UaClearScope.Itself),
        (UaCode.ThinProvisioningThreshold, 0x38, 0x07, UaClearScope.Itself),
        (UaCode.MediumChanged, 0x28, 0x00, UaClearScope.Itself),
        (UaCode.InformationalException, 0x5D, 0x00, UaClearScope.Itself),
    ];

    /// <summary>UNIT ATTENTION sense (key 06h) for one UA.</summary>
    public static GateSense Sense(UaCode code)
    {
        foreach (var row in Rows)
        {
            if (row.Code == code)
            {
                return new GateSense(0x06, row.Asc, row.Ascq);
            }
        }

        throw new ArgumentOutOfRangeException(nameof(code), code, "Exactly one UA bit expected.");
    }

    /// <summary>The UA reported next from a pending set: the lowest bit (§10), or None.</summary>
    public static UaCode Next(UaCode pending) => (UaCode)((int)pending & -(int)pending);

    /// <summary>Pending set after reporting <paramref name="reported"/> on this LUN (§10 clearing rules).</summary>
    public static UaCode AfterReport(UaCode pending, UaCode reported)
    {
        foreach (var row in Rows)
        {
            if (row.Code == reported)
            {
                return row.Clears == UaClearScope.AllPending ? UaCode.None : pending & ~reported;
            }
        }

        throw new ArgumentOutOfRangeException(nameof(reported), reported, "Exactly one UA bit expected.");
    }
}

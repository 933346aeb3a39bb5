namespace CtlHa.Initiator;

/// <summary>
/// Serial number arithmetic for CmdSN/StatSN/MaxCmdSN, RFC 7143 §4.2.2.1 (RFC 1982 with SERIAL_BITS = 32).
/// </summary>
public static class Serial
{
    /// <summary>True when <paramref name="a"/> is after <paramref name="b"/> in serial order.</summary>
    public static bool Greater(uint a, uint b) => a != b && (int)(a - b) > 0;

    /// <summary>True when <paramref name="a"/> is before <paramref name="b"/> in serial order.</summary>
    public static bool Less(uint a, uint b) => a != b && (int)(a - b) < 0;

    public static bool LessOrEqual(uint a, uint b) => a == b || Less(a, b);
}

using MessagePack;

namespace CtlHa.Wire;

/// <summary>
/// A LUN's identity, role and reservation state (CTL_MSG_LUN_SYNC, ctl-ha.md §4.3, §8.1). Union key 12.
/// Sent at link up for every LUN, on enable/disable, on every primary↔secondary change, and by a primary
/// in reply to a LunSync lacking PeerPrimaryKnown. Unlike CTL it carries the PR reserved flag and the
/// SCSI-2 reservation, so a secondary that adopts the primary's state enforces the same reservation.
/// A receiver ignores (and logs) a LunSync whose identity differs from its own LUN of that number.
/// </summary>
/// <param name="Lun">Global LUN number, &lt; MaxLunsLimit.</param>
/// <param name="DeviceId">LUN device-identification blob (VPD 0x83 designators), 1..1024 bytes; must match byte for byte.</param>
/// <param name="SizeInBlocks">Capacity in logical blocks, 1..2^63−1; the sender's current capacity (may change on resize, not part of the identity).</param>
/// <param name="BlockSize">Logical block size: 512..65536 and a power of two; part of the identity check.</param>
/// <param name="Flags">Sender's role flags (no bits other than Primary, PeerPrimaryKnown, Disabled).</param>
/// <param name="PrGeneration">PR generation (SPC-5 §6.16.2).</param>
/// <param name="PrReserved">A persistent reservation exists (CTL_LUN_PR_RESERVED, which CTL does not sync).</param>
/// <param name="PrHolder">Initiator index of the holder; AllRegistrants (types 7, 8); NoReservation when not reserved.</param>
/// <param name="PrType">Reservation type 1, 3, 5, 6, 7 or 8 when reserved; 0 otherwise.</param>
/// <param name="Registrations">Registered keys, ≤ 2048, initiator indexes distinct.</param>
/// <param name="Scsi2Holder">SCSI-2 RESERVE holder's initiator index, or NoReservation.</param>
[MessagePackObject]
public sealed record LunSync(
    [property: Key(0)] uint Lun,
    [property: Key(1)] byte[] DeviceId,
    [property: Key(2)] ulong SizeInBlocks,
    [property: Key(3)] uint BlockSize,
    [property: Key(4)] LunRoleFlags Flags,
    [property: Key(5)] uint PrGeneration,
    [property: Key(6)] bool PrReserved,
    [property: Key(7)] uint PrHolder,
    [property: Key(8)] byte PrType,
    [property: Key(9)] PrRegistration[] Registrations,
    [property: Key(10)] uint Scsi2Holder) : InterlinkMessage
{
    /// <summary>PERSISTENT RESERVE OUT reservation types (SPC-5 Table 207): WR_EX, EX_AC, WR_EX_RO, EX_AC_RO, WR_EX_AR, EX_AC_AR.</summary>
    public static bool IsValidReservationType(byte type) => type is 1 or 3 or 5 or 6 or 7 or 8;

    /// <summary>All-registrants types (7, 8) whose holder is <see cref="WireLimits.AllRegistrants"/>.</summary>
    public static bool IsAllRegistrantsType(byte type) => type is 7 or 8;

    public override void Validate()
    {
        WireCheck.Range(Lun, 0, WireLimits.MaxLunsLimit - 1, "LunSync.Lun");
        WireCheck.Bytes(DeviceId, 1, WireLimits.MaxDeviceIdLength, "LunSync.DeviceId");
        WireCheck.Range(SizeInBlocks, 1, long.MaxValue, "LunSync.SizeInBlocks");
        WireCheck.Range(BlockSize, 512, 65536, "LunSync.BlockSize");
        if (!uint.IsPow2(BlockSize))
        {
            WireCheck.Fail(InterlinkErrorKind.OutOfRange, $"LunSync.BlockSize={BlockSize} is not a power of two");
        }

        const LunRoleFlags known = LunRoleFlags.Primary | LunRoleFlags.PeerPrimaryKnown | LunRoleFlags.Disabled;
        if ((Flags & ~known) != 0)
        {
            WireCheck.Fail(InterlinkErrorKind.OutOfRange, $"LunSync.Flags=0x{(byte)Flags:X2} has undefined bits");
        }

        WireCheck.NotNull(Registrations, "LunSync.Registrations");
        WireCheck.Range((ulong)Registrations.Length, 0, WireLimits.MaxRegistrations, "LunSync.Registrations.Length");
        var seen = new HashSet<uint>();
        for (var i = 0; i < Registrations.Length; i++)
        {
            PrRegistration.Validate(Registrations[i], $"LunSync.Registrations[{i}]");
            if (!seen.Add(Registrations[i].InitiatorIndex))
            {
                WireCheck.Fail(InterlinkErrorKind.OutOfRange, $"LunSync.Registrations[{i}].InitiatorIndex={Registrations[i].InitiatorIndex} is registered twice");
            }
        }

        if (PrReserved)
        {
            if (!IsValidReservationType(PrType))
            {
                WireCheck.Fail(InterlinkErrorKind.OutOfRange, $"LunSync.PrType={PrType} is not a reservation type");
            }

            if (IsAllRegistrantsType(PrType))
            {
                if (PrHolder != WireLimits.AllRegistrants)
                {
                    WireCheck.Fail(InterlinkErrorKind.OutOfRange, $"LunSync.PrHolder={PrHolder} must be AllRegistrants for type {PrType}");
                }
            }
            else if (!seen.Contains(PrHolder))
            {
                WireCheck.Fail(InterlinkErrorKind.OutOfRange, $"LunSync.PrHolder={PrHolder} is not a registrant");
            }
        }
        else if (PrHolder != WireLimits.NoReservation || PrType != 0)
        {
            WireCheck.Fail(InterlinkErrorKind.OutOfRange, $"LunSync.PrHolder={PrHolder}/PrType={PrType} must be NoReservation/0 when PrReserved is false");
        }

        if (Scsi2Holder != WireLimits.NoReservation)
        {
            WireCheck.Range(Scsi2Holder, 0, WireLimits.MaxInitiatorIndex, "LunSync.Scsi2Holder");
        }
    }
}

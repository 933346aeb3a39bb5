namespace CtlHa.Initiator.Scsi;

/// <summary>Convenience wrappers: a CDB from <see cref="Cdb"/>, sent with a SIMPLE task attribute. Results are values.</summary>
public static class ScsiCommands
{
    public static Task<ScsiResponse> TestUnitReadyAsync(this IscsiInitiatorSession session, int lun, CancellationToken ct) =>
        session.ExecuteAsync(lun, Cdb.TestUnitReady(), default, 0, TaskAttribute.Simple, ct);

    public static Task<ScsiResponse> InquiryAsync(this IscsiInitiatorSession session, int lun, CancellationToken ct,
        bool evpd = false, byte pageCode = 0, ushort allocationLength = 255) =>
        session.ExecuteAsync(lun, Cdb.Inquiry(evpd, pageCode, allocationLength), default, allocationLength, TaskAttribute.Simple, ct);

    public static Task<ScsiResponse> RequestSenseAsync(this IscsiInitiatorSession session, int lun, CancellationToken ct, bool descriptorFormat = false) =>
        session.ExecuteAsync(lun, Cdb.RequestSense(252, descriptorFormat), default, 252, TaskAttribute.Simple, ct);

    public static Task<ScsiResponse> ReadCapacity16Async(this IscsiInitiatorSession session, int lun, CancellationToken ct) =>
        session.ExecuteAsync(lun, Cdb.ReadCapacity16(32), default, 32, TaskAttribute.Simple, ct);

    /// <summary>
    /// READ CAPACITY (16) decoded; null when the command did not return GOOD with 12+ bytes. Pending unit
    /// attentions (a fresh nexus sees power-on/reset ones, SAM-5 §5.14) are consumed by retrying a few times.
    /// </summary>
    public static async Task<Capacity?> GetCapacityAsync(this IscsiInitiatorSession session, int lun, CancellationToken ct)
    {
        const int unitAttentionRetries = 8;
        for (var attempt = 0; ; attempt++)
        {
            var response = await session.ReadCapacity16Async(lun, ct);
            if (response.IsGood)
            {
                return Capacity.TryParse16(response.DataIn.Span, out var capacity) ? capacity : null;
            }

            if (attempt >= unitAttentionRetries || response.SenseData?.Key != SenseKey.UnitAttention)
            {
                return null;
            }
        }
    }

    /// <summary>TEST UNIT READY until GOOD, consuming pending unit attentions; returns the last response.</summary>
    public static async Task<ScsiResponse> ClearUnitAttentionsAsync(this IscsiInitiatorSession session, int lun, CancellationToken ct)
    {
        const int unitAttentionRetries = 8;
        for (var attempt = 0; ; attempt++)
        {
            var response = await session.TestUnitReadyAsync(lun, ct);
            if (response.IsGood || attempt >= unitAttentionRetries || response.SenseData?.Key != SenseKey.UnitAttention)
            {
                return response;
            }
        }
    }

    public static Task<ScsiResponse> Read10Async(this IscsiInitiatorSession session, int lun, uint lba, ushort blocks, int blockLength,
        CancellationToken ct, bool fua = false) =>
        session.ExecuteAsync(lun, Cdb.Read10(lba, blocks, fua), default, blocks * blockLength, TaskAttribute.Simple, ct);

    public static Task<ScsiResponse> Read16Async(this IscsiInitiatorSession session, int lun, ulong lba, uint blocks, int blockLength,
        CancellationToken ct, bool fua = false) =>
        session.ExecuteAsync(lun, Cdb.Read16(lba, blocks, fua), default, checked((int)blocks * blockLength), TaskAttribute.Simple, ct);

    /// <summary>WRITE (10) of <paramref name="data"/>, whose length must be a multiple of <paramref name="blockLength"/>.</summary>
    public static Task<ScsiResponse> Write10Async(this IscsiInitiatorSession session, int lun, uint lba, ReadOnlyMemory<byte> data, int blockLength,
        CancellationToken ct, bool fua = false) =>
        session.ExecuteAsync(lun, Cdb.Write10(lba, checked((ushort)Blocks(data, blockLength)), fua), data, 0, TaskAttribute.Simple, ct);

    public static Task<ScsiResponse> Write16Async(this IscsiInitiatorSession session, int lun, ulong lba, ReadOnlyMemory<byte> data, int blockLength,
        CancellationToken ct, bool fua = false) =>
        session.ExecuteAsync(lun, Cdb.Write16(lba, (uint)Blocks(data, blockLength), fua), data, 0, TaskAttribute.Simple, ct);

    /// <summary>COMPARE AND WRITE: <paramref name="verifyThenWrite"/> holds the compare blocks followed by the write blocks.</summary>
    public static Task<ScsiResponse> CompareAndWriteAsync(this IscsiInitiatorSession session, int lun, ulong lba, ReadOnlyMemory<byte> verifyThenWrite,
        int blockLength, CancellationToken ct) =>
        session.ExecuteAsync(lun, Cdb.CompareAndWrite(lba, checked((byte)(Blocks(verifyThenWrite, blockLength) / 2))), verifyThenWrite, 0,
            TaskAttribute.Simple, ct);

    public static Task<ScsiResponse> SynchronizeCacheAsync(this IscsiInitiatorSession session, int lun, CancellationToken ct) =>
        session.ExecuteAsync(lun, Cdb.SynchronizeCache10(), default, 0, TaskAttribute.Simple, ct);

    public static Task<ScsiResponse> ModeSense6Async(this IscsiInitiatorSession session, int lun, byte pageCode, CancellationToken ct,
        byte subpageCode = 0, byte pageControl = 0) =>
        session.ExecuteAsync(lun, Cdb.ModeSense6(pageCode, subpageCode, pageControl), default, 255, TaskAttribute.Simple, ct);

    public static Task<ScsiResponse> ModeSense10Async(this IscsiInitiatorSession session, int lun, byte pageCode, CancellationToken ct,
        byte subpageCode = 0, byte pageControl = 0) =>
        session.ExecuteAsync(lun, Cdb.ModeSense10(pageCode, subpageCode, pageControl), default, 4096, TaskAttribute.Simple, ct);

    public static Task<ScsiResponse> ModeSelect6Async(this IscsiInitiatorSession session, int lun, ReadOnlyMemory<byte> parameters, CancellationToken ct,
        bool savePages = false) =>
        session.ExecuteAsync(lun, Cdb.ModeSelect6(checked((byte)parameters.Length), true, savePages), parameters, 0, TaskAttribute.Simple, ct);

    public static Task<ScsiResponse> ModeSelect10Async(this IscsiInitiatorSession session, int lun, ReadOnlyMemory<byte> parameters, CancellationToken ct,
        bool savePages = false) =>
        session.ExecuteAsync(lun, Cdb.ModeSelect10(checked((ushort)parameters.Length), true, savePages), parameters, 0, TaskAttribute.Simple, ct);

    public static Task<ScsiResponse> PersistentReserveInAsync(this IscsiInitiatorSession session, int lun, PersistentReserveInAction action,
        CancellationToken ct, ushort allocationLength = 8192) =>
        session.ExecuteAsync(lun, Cdb.PersistentReserveIn(action, allocationLength), default, allocationLength, TaskAttribute.Simple, ct);

    public static Task<ScsiResponse> PersistentReserveOutAsync(this IscsiInitiatorSession session, int lun, PersistentReserveOutAction action,
        PersistentReservationType type, ulong reservationKey, ulong serviceActionReservationKey, CancellationToken ct,
        bool allTargetPorts = false, bool activatePersistThroughPowerLoss = false)
    {
        var parameters = Cdb.PersistentReserveOutParameters(reservationKey, serviceActionReservationKey, false, allTargetPorts,
            activatePersistThroughPowerLoss);
        return session.ExecuteAsync(lun, Cdb.PersistentReserveOut(action, type, (uint)parameters.Length), parameters, 0, TaskAttribute.Simple, ct);
    }

    public static Task<ScsiResponse> Reserve6Async(this IscsiInitiatorSession session, int lun, CancellationToken ct) =>
        session.ExecuteAsync(lun, Cdb.Reserve6(), default, 0, TaskAttribute.Simple, ct);

    public static Task<ScsiResponse> Release6Async(this IscsiInitiatorSession session, int lun, CancellationToken ct) =>
        session.ExecuteAsync(lun, Cdb.Release6(), default, 0, TaskAttribute.Simple, ct);

    /// <summary>REPORT LUNS is addressed to LUN 0 (or the REPORT LUNS well-known LUN); we use LUN 0.</summary>
    public static Task<ScsiResponse> ReportLunsAsync(this IscsiInitiatorSession session, CancellationToken ct, uint allocationLength = 4096) =>
        session.ExecuteAsync(0, Cdb.ReportLuns(allocationLength), default, (int)allocationLength, TaskAttribute.Simple, ct);

    /// <summary>LUN numbers listed in REPORT LUNS parameter data (SPC-5 §6.33.2: 0-3 LUN LIST LENGTH, 8.. 8-byte LUNs).</summary>
    public static IReadOnlyList<ulong> ParseReportLuns(ReadOnlySpan<byte> data)
    {
        if (data.Length < 8)
        {
            return [];
        }

        var listLength = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(data);
        var result = new List<ulong>();
        for (var offset = 8; offset + 8 <= data.Length && offset - 8 + 8 <= listLength; offset += 8)
        {
            result.Add(System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(data[offset..]));
        }

        return result;
    }

    public static Task<ScsiResponse> ReportTargetPortGroupsAsync(this IscsiInitiatorSession session, int lun, CancellationToken ct,
        uint allocationLength = 4096, bool extendedFormat = false) =>
        session.ExecuteAsync(lun, Cdb.ReportTargetPortGroups(allocationLength, extendedFormat), default, (int)allocationLength, TaskAttribute.Simple, ct);

    private static int Blocks(ReadOnlyMemory<byte> data, int blockLength)
    {
        if (blockLength <= 0 || data.Length % blockLength != 0)
        {
            throw new ArgumentException($"Data length {data.Length} is not a multiple of the block length {blockLength}.", nameof(data));
        }

        return data.Length / blockLength;
    }
}

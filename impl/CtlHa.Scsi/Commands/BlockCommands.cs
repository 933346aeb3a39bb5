using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using CtlHa.Core;

namespace CtlHa.Scsi.Commands;

/// <summary>SBC-4 media commands: READ/WRITE/VERIFY/WRITE SAME/UNMAP/COMPARE AND WRITE/SYNCHRONIZE CACHE/PRE-FETCH, capacity.</summary>
internal static class BlockCommands
{
    private const byte C = 0x07; // control byte: NACA | FLAG | LINK as CTL accepts them

    public static void Register(CommandTable t)
    {
        const CommandFlags W = CommandFlags.WritesMedium;
        // READ / WRITE (SBC-4 §5.14-5.16, §5.38-5.41). Byte 1: DPO 0x10, FUA 0x08, RARC 0x04 (reads), FUA_NV 0x02.
        Media(t, 0x08, "READ(6)", ReadAsync, SerializationClass.Read, ReservationAccess.Read, Cdb.Extent6, [0x08, 0x1F, 0xFF, 0xFF, 0xFF, C]);
        Media(t, 0x28, "READ(10)", ReadAsync, SerializationClass.Read, ReservationAccess.Read, Cdb.Extent10, [0x28, 0x1E, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, C]);
        Media(t, 0xA8, "READ(12)", ReadAsync, SerializationClass.Read, ReservationAccess.Read, Cdb.Extent12, [0xA8, 0x1E, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, C]);
        Media(t, 0x88, "READ(16)", ReadAsync, SerializationClass.Read, ReservationAccess.Read, Cdb.Extent16, [0x88, 0x1E, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, C]);
        Media(t, 0x0A, "WRITE(6)", WriteAsync, SerializationClass.Write, ReservationAccess.Write, Cdb.Extent6, [0x0A, 0x1F, 0xFF, 0xFF, 0xFF, C], W);
        Media(t, 0x2A, "WRITE(10)", WriteAsync, SerializationClass.Write, ReservationAccess.Write, Cdb.Extent10, [0x2A, 0x1A, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, C], W);
        Media(t, 0xAA, "WRITE(12)", WriteAsync, SerializationClass.Write, ReservationAccess.Write, Cdb.Extent12, [0xAA, 0x1A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, C], W);
        Media(t, 0x8A, "WRITE(16)", WriteAsync, SerializationClass.Write, ReservationAccess.Write, Cdb.Extent16, [0x8A, 0x1A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, C], W);
        // ORWRITE(16), SBC-4 §5.11: byte 1 ORPROTECT 0xE0 (no protection information: not in the mask, so 05/24/00
        // as WRPROTECT of WRITE), DPO 0x10, FUA 0x08, FUA_NV 0x02; GROUP NUMBER byte 14.
        Media(t, 0x8B, "ORWRITE(16)", OrWriteAsync, SerializationClass.Write, ReservationAccess.Write, Cdb.Extent16, [0x8B, 0x1A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, C], W);
        // WRITE AND VERIFY / VERIFY: byte 1 DPO 0x10, BYTCHK 0x06.
        Media(t, 0x2E, "WRITE AND VERIFY(10)", WriteAsync, SerializationClass.Write, ReservationAccess.Write, Cdb.Extent10, [0x2E, 0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, C], W);
        Media(t, 0xAE, "WRITE AND VERIFY(12)", WriteAsync, SerializationClass.Write, ReservationAccess.Write, Cdb.Extent12, [0xAE, 0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, C], W);
        Media(t, 0x8E, "WRITE AND VERIFY(16)", WriteAsync, SerializationClass.Write, ReservationAccess.Write, Cdb.Extent16, [0x8E, 0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, C], W);
        Media(t, 0x2F, "VERIFY(10)", VerifyAsync, SerializationClass.Read, ReservationAccess.Read, Cdb.Extent10, [0x2F, 0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, C]);
        Media(t, 0xAF, "VERIFY(12)", VerifyAsync, SerializationClass.Read, ReservationAccess.Read, Cdb.Extent12, [0xAF, 0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, C]);
        Media(t, 0x8F, "VERIFY(16)", VerifyAsync, SerializationClass.Read, ReservationAccess.Read, Cdb.Extent16, [0x8F, 0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, C]);
        // WRITE SAME: byte 1 ANCHOR 0x10, UNMAP 0x08, PBDATA 0x04, LBDATA 0x02, NDOB 0x01 (16 only).
        Media(t, 0x41, "WRITE SAME(10)", WriteSameAsync, SerializationClass.Write, ReservationAccess.Write, Cdb.ExtentWriteSame10, [0x41, 0x1E, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, C], W);
        Media(t, 0x93, "WRITE SAME(16)", WriteSameAsync, SerializationClass.Write, ReservationAccess.Write, Cdb.ExtentWriteSame16, [0x93, 0x1F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, C], W);
        Media(t, 0x42, "UNMAP", UnmapAsync, SerializationClass.Unmap, ReservationAccess.Write, null, [0x42, 0x01, 0, 0, 0, 0, 0x1F, 0xFF, 0xFF, C], W);
        Media(t, 0x89, "COMPARE AND WRITE", CompareAndWriteAsync, SerializationClass.Write, ReservationAccess.Write, Cdb.ExtentCompareAndWrite,
            [0x89, 0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0xFF, 0x1F, C], W);
        // SYNCHRONIZE CACHE: byte 1 IMMED 0x02 (SYNC_NV 0x04 obsolete). PRE-FETCH: IMMED 0x02.
        Media(t, 0x35, "SYNCHRONIZE CACHE(10)", SynchronizeCacheAsync, SerializationClass.Sync, ReservationAccess.Write, Cdb.Extent10, [0x35, 0x06, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, C]);
        Media(t, 0x91, "SYNCHRONIZE CACHE(16)", SynchronizeCacheAsync, SerializationClass.Sync, ReservationAccess.Write, Cdb.Extent16, [0x91, 0x06, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, C]);
        Media(t, 0x34, "PRE-FETCH(10)", PreFetchAsync, SerializationClass.Read, ReservationAccess.Read, Cdb.Extent10, [0x34, 0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, C]);
        Media(t, 0x90, "PRE-FETCH(16)", PreFetchAsync, SerializationClass.Read, ReservationAccess.Read, Cdb.Extent16, [0x90, 0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, C]);

        t.Register(new CommandDescriptor
        {
            Opcode = 0x25, Name = "READ CAPACITY(10)", Handler = ReadCapacity10Async, Serialization = SerializationClass.ReadCapacity,
            Reservation = ReservationAccess.Allowed, CdbUsage = [0x25, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0x01, C],
        });
        // SERVICE ACTION IN(16) 9Eh.
        t.Register(new CommandDescriptor
        {
            Opcode = 0x9E, ServiceAction = 0x10, Name = "READ CAPACITY(16)", Handler = ReadCapacity16Async, Serialization = SerializationClass.ReadCapacity,
            Reservation = ReservationAccess.Allowed, CdbUsage = [0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, C],
        });
        t.Register(new CommandDescriptor
        {
            Opcode = 0x9E, ServiceAction = 0x12, Name = "GET LBA STATUS", Handler = GetLbaStatusAsync, Serialization = SerializationClass.Read,
            Reservation = ReservationAccess.Read, Extent = Cdb.ExtentGetLbaStatus,
            CdbUsage = [0x9E, 0x12, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, C],
        });
        t.Register(new CommandDescriptor
        {
            Opcode = 0x37, Name = "READ DEFECT DATA(10)", Handler = ReadDefectDataAsync, Serialization = SerializationClass.Read,
            Reservation = ReservationAccess.Read, CdbUsage = [0x37, 0, 0x1F, 0, 0, 0, 0, 0xFF, 0xFF, C],
        });
        t.Register(new CommandDescriptor
        {
            Opcode = 0xB7, Name = "READ DEFECT DATA(12)", Handler = ReadDefectDataAsync, Serialization = SerializationClass.Read,
            Reservation = ReservationAccess.Read, CdbUsage = [0xB7, 0x1F, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, C],
        });
    }

    private static void Media(CommandTable t, byte opcode, string name, CommandHandler handler, SerializationClass serialization,
        ReservationAccess reservation, ExtentParser? extent, byte[] usage, CommandFlags flags = CommandFlags.None) =>
        t.Register(new CommandDescriptor
        {
            Opcode = opcode, Name = name, Handler = handler, Serialization = serialization, Reservation = reservation,
            Extent = extent, CdbUsage = usage, Flags = flags, NominalTimeoutSeconds = 1, RecommendedTimeoutSeconds = 30,
        });

    /// <summary>Offset of the TRANSFER LENGTH field, for field pointers.</summary>
    private static int LengthOffset(byte opcode) => opcode switch
    {
        0x08 or 0x0A => 4,
        0x28 or 0x2A or 0x2E or 0x2F or 0x41 or 0x35 or 0x34 => 7,
        0xA8 or 0xAA or 0xAE or 0xAF => 6,
        0x89 => 13,
        _ => 10,
    };

    /// <summary>SBC-4 §4.5: LBA + length must stay within capacity (and not wrap).</summary>
    private static bool InRange(LogicalUnit lun, ulong lba, ulong blocks) =>
        lba + blocks >= lba && lba + blocks <= (ulong)lun.BlockCount;

    private static bool IsPlainRead(byte opcode) => opcode is 0x08 or 0x28 or 0xA8 or 0x88;

    // ---- READ ---------------------------------------------------------------------------------------------------

    /// <summary>
    /// The checks every READ/WRITE/ORWRITE makes before touching the medium, in CTL's order: LBA range (05/21/00), an
    /// empty transfer (GOOD at once), the transfer limit (05/24/00 on the length field). Null lets the command go on,
    /// with the byte offset and length of its extent.
    /// </summary>
    private static ScsiOutcome? CheckTransfer(CommandContext ctx, out long offset, out long total)
    {
        var lun = ctx.LogicalUnit;
        ctx.Command.Extent!(ctx.Cdb, out ulong lba, out ulong blocks);
        offset = (long)lba << lun.BlockSizeShift;
        total = (long)blocks << lun.BlockSizeShift;
        if (!InRange(lun, lba, blocks))
        {
            return ctx.LbaOutOfRange();
        }
        if (blocks == 0)
        {
            return ScsiOutcome.Good;
        }
        return total > ctx.Engine.Options.MaxTransferBytes ? ctx.IllegalField(LengthOffset(ctx.Cdb[0])) : null;
    }

    /// <summary>
    /// READ(6/10/12/16). Moves the data in chunks: backend read, then Data-In. After the last media read the command
    /// sets SERSEQ_DONE before sending that data (ctl-ha.md §11.3).
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<ScsiOutcome> ReadAsync(CommandContext ctx)
    {
        var lun = ctx.LogicalUnit;
        if (CheckTransfer(ctx, out long offset, out long total) is { } early)
        {
            return early;
        }
        bool plainRead = IsPlainRead(ctx.Cdb[0]);
        int chunk = (int)Math.Min(total, ctx.Engine.Options.IoChunkBytes);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(chunk);
        try
        {
            long done = 0;
            while (done < total)
            {
                int n = (int)Math.Min(chunk, total - done);
                var piece = buffer.AsMemory(0, n);
                await lun.Backend.ReadAsync(offset + done, piece, ctx.CancellationToken).ConfigureAwait(false);
                bool last = done + n == total;
                if (last && plainRead)
                {
                    ctx.MarkSerSeqDone();
                }
                await ctx.SendDataInAsync(piece, (uint)done, last).ConfigureAwait(false);
                done += n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return ScsiOutcome.Good;
    }

    // ---- WRITE / WRITE AND VERIFY -------------------------------------------------------------------------------

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<ScsiOutcome> WriteAsync(CommandContext ctx)
    {
        var lun = ctx.LogicalUnit;
        var cdb = ctx.Cdb;
        byte opcode = cdb[0];
        bool verify = opcode is 0x2E or 0xAE or 0x8E;
        if (verify && (cdb[1] & 0x04) != 0)
        {
            return ctx.IllegalField(1, 2); // BYTCHK 10b/11b are reserved for WRITE AND VERIFY
        }
        if (CheckTransfer(ctx, out long offset, out long total) is { } early)
        {
            return early;
        }
        // WRITE AND VERIFY has no FUA bit, but the data must be on the medium to be verified.
        bool fua = verify || (opcode != 0x0A && (cdb[1] & 0x08) != 0) || !lun.Mode.WriteCacheEnabled;
        int chunk = (int)Math.Min(total, ctx.Engine.Options.IoChunkBytes);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(chunk);
        try
        {
            // iSCSI residual overflow (RFC 7143 §11.4.5.1, IScsiDataChannel contract): the whole range is asked for, so
            // the frontend sees the overflow, but only the first EDTL bytes are stored (libiscsi iSCSIResiduals.Write*).
            long stored = Math.Min(total, (long)ctx.Task.ExpectedDataTransferLength);
            long done = 0;
            while (done < total)
            {
                int n = (int)Math.Min(chunk, total - done);
                var piece = buffer.AsMemory(0, n);
                await ctx.ReceiveDataOutAsync(piece, (uint)done).ConfigureAwait(false);
                int keep = (int)Math.Clamp(stored - done, 0, n);
                if (keep == n)
                {
                    await lun.Backend.WriteAsync(offset + done, piece, fua, ctx.CancellationToken).ConfigureAwait(false);
                }
                else if (keep > 0)
                {
                    await WritePrefixAsync(lun, offset + done, piece[..keep], fua, ctx.CancellationToken).ConfigureAwait(false);
                }
                done += n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return ScsiOutcome.Good;
    }

    /// <summary>
    /// ORWRITE(16), SBC-4 §5.11 (the single-command form, no BMOP/change generation of ORWRITE(32)): each byte of the
    /// range becomes the medium's byte OR the Data-Out byte. The OOA queue keeps overlapping commands out meanwhile,
    /// so the read-modify-write is atomic to other initiators.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<ScsiOutcome> OrWriteAsync(CommandContext ctx)
    {
        var lun = ctx.LogicalUnit;
        var cdb = ctx.Cdb;
        if (CheckTransfer(ctx, out long offset, out long total) is { } early)
        {
            return early;
        }
        bool fua = (cdb[1] & 0x08) != 0 || !lun.Mode.WriteCacheEnabled;
        int chunk = (int)Math.Min(total, ctx.Engine.Options.IoChunkBytes);
        byte[] data = ArrayPool<byte>.Shared.Rent(chunk);
        byte[] media = ArrayPool<byte>.Shared.Rent(chunk);
        try
        {
            long done = 0;
            while (done < total)
            {
                int n = (int)Math.Min(chunk, total - done);
                await ctx.ReceiveDataOutAsync(data.AsMemory(0, n), (uint)done).ConfigureAwait(false);
                await lun.Backend.ReadAsync(offset + done, media.AsMemory(0, n), ctx.CancellationToken).ConfigureAwait(false);
                OrInto(media.AsSpan(0, n), data.AsSpan(0, n));
                await lun.Backend.WriteAsync(offset + done, media.AsMemory(0, n), fua, ctx.CancellationToken).ConfigureAwait(false);
                done += n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(data);
            ArrayPool<byte>.Shared.Return(media);
        }
        return ScsiOutcome.Good;
    }

    private static void OrInto(Span<byte> destination, ReadOnlySpan<byte> source)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] |= source[i];
        }
    }

    /// <summary>
    /// Stores <paramref name="data"/> at <paramref name="offset"/> (block-aligned) when it ends inside a block: whole
    /// blocks as they are, the last partial block merged with what the medium holds (backends take whole blocks).
    /// </summary>
    private static async ValueTask WritePrefixAsync(LogicalUnit lun, long offset, ReadOnlyMemory<byte> data, bool fua, CancellationToken cancellationToken)
    {
        int bs = lun.BlockSize;
        int whole = data.Length / bs * bs;
        if (whole > 0)
        {
            await lun.Backend.WriteAsync(offset, data[..whole], fua, cancellationToken).ConfigureAwait(false);
        }
        if (whole < data.Length)
        {
            byte[] block = new byte[bs];
            await lun.Backend.ReadAsync(offset + whole, block, cancellationToken).ConfigureAwait(false);
            data[whole..].Span.CopyTo(block);
            await lun.Backend.WriteAsync(offset + whole, block, fua, cancellationToken).ConfigureAwait(false);
        }
    }

    // ---- VERIFY -------------------------------------------------------------------------------------------------

    /// <summary>
    /// VERIFY(10/12/16), SBC-4 §5.44: BYTCHK 00b medium check only, 01b compare the Data-Out with the medium,
    /// 11b compare one block of Data-Out with every block. Miscompare: 0E/1D/00 with INFORMATION = offset of the first
    /// differing byte in the Data-Out buffer.
    /// </summary>
    private static async ValueTask<ScsiOutcome> VerifyAsync(CommandContext ctx)
    {
        var lun = ctx.LogicalUnit;
        var cdb = ctx.Cdb;
        int bytchk = (cdb[1] >> 1) & 0x3;
        ctx.Command.Extent!(cdb, out ulong lba, out ulong blocks);
        if (bytchk == 2)
        {
            return ctx.IllegalField(1, 2);
        }
        if (!InRange(lun, lba, blocks))
        {
            return ctx.LbaOutOfRange();
        }
        if (blocks == 0 || bytchk == 0)
        {
            return ScsiOutcome.Good;
        }
        long total = (long)blocks << lun.BlockSizeShift;
        if (bytchk == 1 && total > ctx.Engine.Options.MaxTransferBytes)
        {
            return ctx.IllegalField(LengthOffset(cdb[0]));
        }
        int bs = lun.BlockSize;
        int chunk = (int)Math.Min(total, ctx.Engine.Options.IoChunkBytes);
        byte[] media = ArrayPool<byte>.Shared.Rent(chunk);
        byte[] data = ArrayPool<byte>.Shared.Rent(bytchk == 3 ? bs : chunk);
        try
        {
            if (bytchk == 3)
            {
                await ctx.ReceiveDataOutAsync(data.AsMemory(0, bs)).ConfigureAwait(false);
            }
            long offset = (long)lba << lun.BlockSizeShift;
            long done = 0;
            while (done < total)
            {
                int n = (int)Math.Min(chunk, total - done);
                await lun.Backend.ReadAsync(offset + done, media.AsMemory(0, n), ctx.CancellationToken).ConfigureAwait(false);
                if (bytchk == 1)
                {
                    await ctx.ReceiveDataOutAsync(data.AsMemory(0, n), (uint)done).ConfigureAwait(false);
                    int diff = media.AsSpan(0, n).CommonPrefixLength(data.AsSpan(0, n));
                    if (diff < n)
                    {
                        return Miscompare(ctx, (ulong)(done + diff));
                    }
                }
                else
                {
                    for (int b = 0; b < n; b += bs)
                    {
                        int diff = media.AsSpan(b, bs).CommonPrefixLength(data.AsSpan(0, bs));
                        if (diff < bs)
                        {
                            return Miscompare(ctx, (ulong)diff);
                        }
                    }
                }
                done += n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(media);
            ArrayPool<byte>.Shared.Return(data);
        }
        return ScsiOutcome.Good;
    }

    private static ScsiOutcome Miscompare(CommandContext ctx, ulong offset) =>
        ctx.Check(new Sense(SenseKey.Miscompare, 0x1D, 0x00).WithInformation(offset));

    // ---- WRITE SAME ---------------------------------------------------------------------------------------------

    /// <summary>
    /// WRITE SAME(10/16), SBC-4 §5.48/5.50. UNMAP=1 (ANCHOR=0) deallocates every LBA whatever the Data-Out block holds:
    /// SBC-4's ANCHOR/UNMAP table says a thin provisioned LU "should deallocate each LBA specified by the command"
    /// (CTL and LIO do; libiscsi WriteSame10.UnmapUntilEnd checks it), and LBPRZ=1 makes them read back as zeros;
    /// ANCHOR is refused (ANC_SUP=0); NDOB=1 writes zeros without a Data-Out buffer;
    /// WSNZ=0: a zero length writes from the LBA to the last block (as the CtlHa model; libiscsi WriteSame10.ZeroBlocks
    /// counts 05/24/00 for it as a skip). The Data-Out buffer is exactly one block: an initiator declaring another
    /// length gets 05/24/00 (libiscsi WriteSame10.InvalidDataOutSize, LIO).
    /// </summary>
    private static async ValueTask<ScsiOutcome> WriteSameAsync(CommandContext ctx)
    {
        var lun = ctx.LogicalUnit;
        var cdb = ctx.Cdb;
        bool is16 = cdb[0] == 0x93;
        byte flags = cdb[1];
        bool anchor = (flags & 0x10) != 0;
        bool unmap = (flags & 0x08) != 0;
        bool pbdata = (flags & 0x04) != 0;
        bool lbdata = (flags & 0x02) != 0;
        bool ndob = is16 && (flags & 0x01) != 0;
        ulong lba = is16 ? Cdb.U64(cdb, 2) : Cdb.U32(cdb, 2);
        ulong blocks = is16 ? Cdb.U32(cdb, 10) : Cdb.U16(cdb, 7);
        int lengthOffset = is16 ? 10 : 7;
        if (anchor)
        {
            return ctx.IllegalField(1, 4);
        }
        if (pbdata && lbdata)
        {
            return ctx.IllegalField(1, 2);
        }
        if (ndob && (pbdata || lbdata))
        {
            return ctx.IllegalField(1, lbdata ? 1 : 2);
        }
        if (!InRange(lun, lba, blocks))
        {
            return ctx.LbaOutOfRange();
        }
        if (blocks == 0)
        {
            blocks = (ulong)lun.BlockCount - lba; // WSNZ=0
        }
        if (blocks > ctx.Engine.Options.MaxWriteSameBlocks)
        {
            return ctx.IllegalField(lengthOffset);
        }
        uint expectedOut = ndob ? 0u : (uint)lun.BlockSize;
        if ((ctx.Task.Direction & DataDirection.Write) != 0 && ctx.Task.ExpectedDataTransferLength != expectedOut)
        {
            return ctx.IllegalField(lengthOffset);
        }
        if (blocks == 0)
        {
            return ScsiOutcome.Good;
        }
        int bs = lun.BlockSize;
        byte[] pattern = new byte[bs];
        if (!ndob)
        {
            await ctx.ReceiveDataOutAsync(pattern).ConfigureAwait(false);
        }
        long offset = (long)lba << lun.BlockSizeShift;
        long total = (long)blocks << lun.BlockSizeShift;
        if (unmap && !pbdata && !lbdata)
        {
            await lun.Backend.UnmapAsync(offset, total, ctx.CancellationToken).ConfigureAwait(false);
            return ScsiOutcome.Good;
        }
        bool fua = !lun.Mode.WriteCacheEnabled;
        int chunkBlocks = (int)Math.Min((long)blocks, Math.Max(1, ctx.Engine.Options.IoChunkBytes / bs));
        byte[] buffer = ArrayPool<byte>.Shared.Rent(chunkBlocks * bs);
        try
        {
            for (int b = 0; b < chunkBlocks; b++)
            {
                pattern.CopyTo(buffer, b * bs);
            }
            ulong done = 0;
            while (done < blocks)
            {
                int n = (int)Math.Min((ulong)chunkBlocks, blocks - done);
                if (lbdata || pbdata)
                {
                    // LBDATA/PBDATA: the first 4 bytes of each block carry its (logical = physical) block address.
                    for (int b = 0; b < n; b++)
                    {
                        BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(b * bs), (uint)(lba + done + (ulong)b));
                    }
                }
                await lun.Backend.WriteAsync(offset + ((long)done << lun.BlockSizeShift), buffer.AsMemory(0, n * bs), fua, ctx.CancellationToken).ConfigureAwait(false);
                done += (ulong)n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return ScsiOutcome.Good;
    }

    // ---- UNMAP --------------------------------------------------------------------------------------------------

    /// <summary>
    /// UNMAP, SBC-4 §5.32. Parameter list: header (UNMAP DATA LENGTH @0, BLOCK DESCRIPTOR DATA LENGTH @2, 8 bytes),
    /// then 16-byte descriptors (LBA @0, NUMBER OF LOGICAL BLOCKS @8).
    /// </summary>
    private static async ValueTask<ScsiOutcome> UnmapAsync(CommandContext ctx)
    {
        var lun = ctx.LogicalUnit;
        var cdb = ctx.Cdb;
        var options = ctx.Engine.Options;
        if ((cdb[1] & 0x01) != 0)
        {
            return ctx.IllegalField(1, 0); // ANCHOR with ANC_SUP=0
        }
        int length = Cdb.U16(cdb, 7);
        if (length == 0)
        {
            ctx.SetUnmapRanges([]);
            return ScsiOutcome.Good;
        }
        if (length < 8)
        {
            return ctx.ParameterListLengthError();
        }
        byte[] data = new byte[length];
        await ctx.ReceiveDataOutAsync(data).ConfigureAwait(false);
        int unmapDataLength = BinaryPrimitives.ReadUInt16BigEndian(data);
        int descriptorLength = BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(2));
        if (unmapDataLength + 2 > length)
        {
            return ctx.InvalidParameter(0);
        }
        if (descriptorLength + 8 > length || descriptorLength % 16 != 0)
        {
            return ctx.InvalidParameter(2);
        }
        int count = descriptorLength / 16;
        if (count > options.MaxUnmapDescriptors)
        {
            return ctx.InvalidParameter(2);
        }
        var ranges = new (ulong Lba, ulong Blocks)[count];
        for (int i = 0; i < count; i++)
        {
            var d = data.AsSpan(8 + i * 16);
            ulong lba = BinaryPrimitives.ReadUInt64BigEndian(d);
            uint blocks = BinaryPrimitives.ReadUInt32BigEndian(d[8..]);
            if (!InRange(lun, lba, blocks))
            {
                return ctx.LbaOutOfRange();
            }
            if (blocks > options.MaxUnmapBlocks)
            {
                return ctx.InvalidParameter(8 + i * 16 + 8);
            }
            ranges[i] = (lba, blocks);
        }
        ctx.SetUnmapRanges(ranges);
        foreach (var (lba, blocks) in ranges)
        {
            if (blocks != 0)
            {
                await lun.Backend.UnmapAsync((long)lba << lun.BlockSizeShift, (long)blocks << lun.BlockSizeShift, ctx.CancellationToken).ConfigureAwait(false);
            }
        }
        return ScsiOutcome.Good;
    }

    // ---- COMPARE AND WRITE --------------------------------------------------------------------------------------

    /// <summary>
    /// COMPARE AND WRITE, SBC-4 §5.3: Data-Out holds n verify blocks then n write blocks. The OOA queue keeps every
    /// overlapping command (WRITE class, extent check) out until this one completes, which makes it atomic.
    /// </summary>
    private static async ValueTask<ScsiOutcome> CompareAndWriteAsync(CommandContext ctx)
    {
        var lun = ctx.LogicalUnit;
        var cdb = ctx.Cdb;
        ctx.Command.Extent!(cdb, out ulong lba, out ulong blocks);
        bool fua = (cdb[1] & 0x08) != 0 || !lun.Mode.WriteCacheEnabled;
        if (blocks > ctx.Engine.Options.MaxCompareAndWriteBlocks)
        {
            return ctx.IllegalField(13);
        }
        // The Data-Out buffer is exactly the verify half then the write half (SBC-4 §5.3): when the initiator declares a
        // Data-Out length other than 2 x NUMBER OF LOGICAL BLOCKS, the halves cannot be told apart (typically a length
        // above 255 truncated into the one-byte field), so the NUMBER OF LOGICAL BLOCKS field is invalid (as LIO;
        // libiscsi CompareAndWrite.Simple sends 256 blocks and expects 05/24/00).
        if ((ctx.Task.Direction & DataDirection.Write) != 0
            && ctx.Task.ExpectedDataTransferLength != (ulong)(2 * blocks) << lun.BlockSizeShift)
        {
            return ctx.IllegalField(13);
        }
        if (!InRange(lun, lba, blocks))
        {
            return ctx.LbaOutOfRange();
        }
        if (blocks == 0)
        {
            return ScsiOutcome.Good;
        }
        int n = (int)blocks << lun.BlockSizeShift;
        byte[] data = ArrayPool<byte>.Shared.Rent(2 * n);
        byte[] media = ArrayPool<byte>.Shared.Rent(n);
        try
        {
            await ctx.ReceiveDataOutAsync(data.AsMemory(0, 2 * n)).ConfigureAwait(false);
            long offset = (long)lba << lun.BlockSizeShift;
            await lun.Backend.ReadAsync(offset, media.AsMemory(0, n), ctx.CancellationToken).ConfigureAwait(false);
            int same = media.AsSpan(0, n).CommonPrefixLength(data.AsSpan(0, n));
            if (same < n)
            {
                return Miscompare(ctx, (ulong)same);
            }
            await lun.Backend.WriteAsync(offset, data.AsMemory(n, n), fua, ctx.CancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(data);
            ArrayPool<byte>.Shared.Return(media);
        }
        return ScsiOutcome.Good;
    }

    // ---- SYNCHRONIZE CACHE / PRE-FETCH ---------------------------------------------------------------------------

    private static async ValueTask<ScsiOutcome> SynchronizeCacheAsync(CommandContext ctx)
    {
        var lun = ctx.LogicalUnit;
        ctx.Command.Extent!(ctx.Cdb, out ulong lba, out ulong blocks);
        if (lba > (ulong)lun.BlockCount || !InRange(lun, lba, blocks))
        {
            return ctx.LbaOutOfRange();
        }
        await lun.Backend.FlushAsync(ctx.CancellationToken).ConfigureAwait(false);
        return ScsiOutcome.Good;
    }

    /// <summary>PRE-FETCH, SBC-4 §5.9: CONDITION MET when the range fits in the cache (always, for us).</summary>
    private static ValueTask<ScsiOutcome> PreFetchAsync(CommandContext ctx)
    {
        ctx.Command.Extent!(ctx.Cdb, out ulong lba, out ulong blocks);
        if (!InRange(ctx.LogicalUnit, lba, blocks))
        {
            return ValueTask.FromResult(ctx.LbaOutOfRange());
        }
        return ValueTask.FromResult(new ScsiOutcome(ScsiStatus.ConditionMet));
    }

    // ---- capacity and provisioning ------------------------------------------------------------------------------

    /// <summary>READ CAPACITY(10), SBC-4 §5.20: RETURNED LOGICAL BLOCK ADDRESS (FFFFFFFFh if larger) and block length.</summary>
    private static ValueTask<ScsiOutcome> ReadCapacity10Async(CommandContext ctx)
    {
        var lun = ctx.LogicalUnit;
        byte[] data = new byte[8];
        long last = lun.BlockCount - 1;
        BinaryPrimitives.WriteUInt32BigEndian(data, last > uint.MaxValue ? uint.MaxValue : (uint)last);
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(4), (uint)lun.BlockSize);
        return ctx.SendDataInAsync(data, 8);
    }

    /// <summary>
    /// READ CAPACITY(16), SBC-4 §5.21 (32 bytes): last LBA @0, block length @8, byte 13 exponents, byte 14 LBPME 0x80 |
    /// LBPRZ 0x40. ALLOCATION LENGTH @10.
    /// </summary>
    private static ValueTask<ScsiOutcome> ReadCapacity16Async(CommandContext ctx)
    {
        var lun = ctx.LogicalUnit;
        byte[] data = new byte[32];
        BinaryPrimitives.WriteUInt64BigEndian(data, (ulong)(lun.BlockCount - 1));
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(8), (uint)lun.BlockSize);
        data[13] = lun.PhysicalBlockExponent;
        if (lun.Backend.IsThin)
        {
            data[14] = 0x80 | 0x40;
        }
        return ctx.SendDataInAsync(data, Cdb.U32(ctx.Cdb, 10));
    }

    /// <summary>
    /// GET LBA STATUS, SBC-4 §5.7: header (PARAMETER DATA LENGTH @0, 8 bytes) then 16-byte descriptors
    /// (LBA @0, NUMBER OF LOGICAL BLOCKS @8, PROVISIONING STATUS @12: 0 mapped, 1 deallocated). The first descriptor
    /// starts at the requested LBA. A block is mapped if any of its bytes is.
    /// </summary>
    private static async ValueTask<ScsiOutcome> GetLbaStatusAsync(CommandContext ctx)
    {
        var lun = ctx.LogicalUnit;
        ulong start = Cdb.U64(ctx.Cdb, 2);
        uint allocationLength = Cdb.U32(ctx.Cdb, 10);
        if (start >= (ulong)lun.BlockCount)
        {
            return ctx.LbaOutOfRange();
        }
        int maxDescriptors = (int)Math.Clamp((allocationLength - Math.Min(allocationLength, 8u)) / 16, 1, 1024);
        int shift = lun.BlockSizeShift;
        long bs = lun.BlockSize;
        long byteStart = (long)start << shift;
        var extents = await lun.Backend.GetAllocationAsync(byteStart, lun.Backend.SizeBytes - byteStart, ctx.CancellationToken).ConfigureAwait(false);

        var descriptors = new List<(ulong Lba, ulong Blocks, bool Mapped)>();
        ulong cursor = start;
        ulong end = (ulong)lun.BlockCount;
        foreach (var e in extents)
        {
            ulong s, t;
            if (e.Mapped)
            {
                s = (ulong)(e.Offset >> shift);
                t = (ulong)((e.Offset + e.Length + bs - 1) >> shift);
            }
            else
            {
                s = (ulong)((e.Offset + bs - 1) >> shift);
                t = (ulong)((e.Offset + e.Length) >> shift);
            }
            s = Math.Max(s, cursor);
            t = Math.Min(t, end);
            if (t <= s)
            {
                continue;
            }
            if (descriptors.Count > 0 && descriptors[^1].Mapped == e.Mapped)
            {
                descriptors[^1] = descriptors[^1] with { Blocks = t - descriptors[^1].Lba };
            }
            else
            {
                if (descriptors.Count == maxDescriptors)
                {
                    break;
                }
                descriptors.Add((s, t - s, e.Mapped));
            }
            cursor = t;
        }
        if (descriptors.Count == 0)
        {
            descriptors.Add((start, end - start, true));
        }
        byte[] data = new byte[8 + 16 * descriptors.Count];
        BinaryPrimitives.WriteUInt32BigEndian(data, (uint)(data.Length - 4));
        for (int i = 0; i < descriptors.Count; i++)
        {
            var d = data.AsSpan(8 + i * 16);
            var (dl, db, dm) = descriptors[i];
            BinaryPrimitives.WriteUInt64BigEndian(d, dl);
            BinaryPrimitives.WriteUInt32BigEndian(d[8..], (uint)Math.Min(db, uint.MaxValue));
            d[12] = dm ? (byte)0 : (byte)1;
        }
        return await ctx.SendDataInAsync(data, allocationLength).ConfigureAwait(false);
    }

    /// <summary>
    /// READ DEFECT DATA(10/12), SBC-4 §5.17/5.18: an empty list. The header echoes the REQ_PLIST/REQ_GLIST bits and the
    /// requested format (as CTL); (10) has a 4-byte header with a 2-byte length, (12) an 8-byte one with a 4-byte length.
    /// </summary>
    private static ValueTask<ScsiOutcome> ReadDefectDataAsync(CommandContext ctx)
    {
        var cdb = ctx.Cdb;
        if (cdb[0] == 0x37)
        {
            byte[] data = new byte[4];
            data[1] = (byte)(cdb[2] & 0x1F);
            return ctx.SendDataInAsync(data, Cdb.U16(cdb, 7));
        }
        byte[] data12 = new byte[8];
        data12[1] = (byte)(cdb[1] & 0x1F);
        return ctx.SendDataInAsync(data12, Cdb.U32(cdb, 6));
    }
}

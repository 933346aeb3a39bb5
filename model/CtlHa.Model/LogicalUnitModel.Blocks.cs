namespace CtlHa.Model;

/// <summary>The block map and the SBC-4 block commands.</summary>
public sealed partial class LogicalUnitModel
{
    /// <summary>Provisioning status of a block (SBC-4 5.8.2, GET LBA STATUS): written = mapped, else deallocated.</summary>
    public bool IsMapped(ulong lba) => _blocks.ContainsKey(lba);

    /// <summary>The current content of blocks (zeros where unwritten or unmapped: LBPRZ = 1), without any SCSI checks.</summary>
    public byte[] PeekBlocks(ulong lba, uint count)
    {
        var bs = (int)_config.BlockSize;
        var data = new byte[checked(count * bs)];
        for (uint i = 0; i < count; i++)
        {
            if (_blocks.TryGetValue(lba + i, out var block))
            {
                block.CopyTo(data, (int)(i * bs));
            }
        }

        return data;
    }

    // LBA and TRANSFER LENGTH of the READ/WRITE/VERIFY families (SBC-4 5.x): 6-byte commands carry a 21-bit LBA
    // and a length where 0 means 256.
    private static (ulong Lba, ulong Count) LbaAndLength(ReadOnlySpan<byte> cdb) => cdb[0] switch
    {
        0x08 or 0x0A => ((Be(cdb, 1, 3) & 0x1FFFFF), Be(cdb, 4, 1) == 0 ? 256UL : Be(cdb, 4, 1)),
        0x28 or 0x2A or 0x2E or 0x2F or 0x34 or 0x35 or 0x41 => (Be(cdb, 2, 4), Be(cdb, 7, 2)),
        0xA8 or 0xAA or 0xAE or 0xAF => (Be(cdb, 2, 4), Be(cdb, 6, 4)),
        _ => (Be(cdb, 2, 8), Be(cdb, 10, 4)),
    };

    // SBC-4 4.5: LBA + count beyond capacity (or wrapping) → 05/21/00; CTL reports max(LBA, capacity) in INFORMATION.
    private SenseCondition? RangeCheck(ulong lba, ulong count)
    {
        var end = lba + count;
        return end > _blockCount || end < lba ? Senses.LbaOutOfRange(Math.Max(lba, _blockCount)) : null;
    }

    private ModelResult Read(ReadOnlySpan<byte> cdb)
    {
        var (lba, count) = LbaAndLength(cdb);
        if (RangeCheck(lba, count) is { } bad)
        {
            return Check(bad);
        }

        return ModelResult.Good(PeekBlocks(lba, (uint)count));
    }

    /// <summary>WRITE(6/10/12/16) and WRITE AND VERIFY(10/12/16); the verify step of the latter cannot fail here.</summary>
    private ModelResult Write(ReadOnlySpan<byte> cdb, ReadOnlySpan<byte> dataOut)
    {
        var (lba, count) = LbaAndLength(cdb);
        if (RangeCheck(lba, count) is { } bad)
        {
            return Check(bad);
        }

        var bs = (int)_config.BlockSize;
        for (ulong i = 0; i < count; i++)
        {
            _blocks[lba + i] = Slice(dataOut, (int)i * bs, bs);
        }

        return ModelResult.Good();
    }

    /// <summary>
    /// ORWRITE(16), SBC-4 5.11: each block becomes the stored block OR the data-out block (unwritten blocks are
    /// zeros). The spec's command table must list 8Bh for the model to get here.
    /// </summary>
    private ModelResult OrWrite(ReadOnlySpan<byte> cdb, ReadOnlySpan<byte> dataOut)
    {
        var (lba, count) = LbaAndLength(cdb);
        if (RangeCheck(lba, count) is { } bad)
        {
            return Check(bad);
        }

        var bs = (int)_config.BlockSize;
        for (ulong i = 0; i < count; i++)
        {
            var block = PeekBlocks(lba + i, 1);
            var data = Slice(dataOut, (int)i * bs, bs);
            for (var j = 0; j < bs; j++)
            {
                block[j] |= data[j];
            }

            _blocks[lba + i] = block;
        }

        return ModelResult.Good();
    }

    /// <summary>
    /// VERIFY(10/12/16), SBC-4 5.33: BYTCHK 00b checks the range only; 01b compares TRANSFER LENGTH blocks of
    /// data-out; 11b compares one data-out block with every block; 10b is reserved (05/24/00). A miscompare is
    /// 0E/1D/00 with INFORMATION = byte offset of the first differing byte in the compared data.
    /// </summary>
    private ModelResult Verify(ReadOnlySpan<byte> cdb, ReadOnlySpan<byte> dataOut)
    {
        var (lba, count) = LbaAndLength(cdb);
        var bytchk = (cdb[1] >> 1) & 0x03;
        if (bytchk == 2)
        {
            return Check(Senses.InvalidFieldInCdb(1, 2));
        }

        if (RangeCheck(lba, count) is { } bad)
        {
            return Check(bad);
        }

        if (bytchk == 0)
        {
            return ModelResult.Good();
        }

        var bs = (int)_config.BlockSize;
        for (ulong i = 0; i < count; i++)
        {
            var expected = bytchk == 1 ? Slice(dataOut, (int)i * bs, bs) : Slice(dataOut, 0, bs);
            var actual = PeekBlocks(lba + i, 1);
            var at = expected.AsSpan().CommonPrefixLength(actual);
            if (at < bs)
            {
                return Check(Senses.MiscompareDuringVerify((i * (ulong)bs) + (ulong)at));
            }
        }

        return ModelResult.Good();
    }

    /// <summary>PRE-FETCH(10/16), SBC-4 5.9: the model's cache always holds the range, so CONDITION MET.</summary>
    private ModelResult PreFetch(ReadOnlySpan<byte> cdb)
    {
        var (lba, count) = LbaAndLength(cdb);
        if (RangeCheck(lba, count) is { } bad)
        {
            return Check(bad);
        }

        return new ModelResult(ScsiStatus.ConditionMet, [], []);
    }

    /// <summary>SYNCHRONIZE CACHE(10/16), SBC-4 5.26: range check only (0 blocks = to the end).</summary>
    private ModelResult SynchronizeCache(ReadOnlySpan<byte> cdb)
    {
        var (lba, count) = LbaAndLength(cdb);
        return RangeCheck(lba, count) is { } bad ? Check(bad) : ModelResult.Good();
    }

    /// <summary>
    /// WRITE SAME(10/16), SBC-4 5.47/5.48. Byte 1: ANCHOR 10h, UNMAP 08h, LBDATA 02h (obsolete, as CTL does it:
    /// the low 32 bits of each LBA in the first 4 bytes), NDOB 01h (16 only: no data-out, zeros).
    /// 0 blocks = from LBA to the end. With UNMAP and an all-zero block the range is deallocated (reads back as
    /// zeros, LBPRZ = 1); with UNMAP and other data it is written.
    /// </summary>
    private ModelResult WriteSame(ReadOnlySpan<byte> cdb, ReadOnlySpan<byte> dataOut)
    {
        var flags = cdb[1];
        var anchor = (flags & 0x10) != 0;
        var unmap = (flags & 0x08) != 0;
        var lbdata = (flags & 0x02) != 0;
        var ndob = cdb[0] == 0x93 && (flags & 0x01) != 0;
        if (anchor)
        {
            // SBC-4 5.48: ANCHOR needs ANC_SUP, which this LUN does not report (no anchored state).
            return Check(Senses.InvalidFieldInCdb(1, 4));
        }

        var (lba, count) = LbaAndLength(cdb);
        if (RangeCheck(lba, count) is { } bad)
        {
            return Check(bad);
        }

        if (count == 0)
        {
            count = _blockCount - lba;
        }

        var bs = (int)_config.BlockSize;
        var pattern = ndob ? new byte[bs] : Slice(dataOut, 0, bs);
        // SBC-4 ANCHOR/UNMAP table: UNMAP=1 deallocates each LBA whatever the Data-Out block holds (LBPRZ=1: reads zeros).
        var deallocate = unmap && !lbdata;
        for (ulong i = 0; i < count; i++)
        {
            var at = lba + i;
            if (deallocate)
            {
                _blocks.Remove(at);
                continue;
            }

            var block = pattern;
            if (lbdata)
            {
                block = (byte[])pattern.Clone();
                WriteBe32(block, 0, at & 0xFFFFFFFF);
            }

            _blocks[at] = block;
        }

        return ModelResult.Good();
    }

    /// <summary>
    /// UNMAP, SBC-4 5.32. Parameter list: [0..1] UNMAP DATA LENGTH [2..3] BLOCK DESCRIPTOR DATA LENGTH, then 16-byte
    /// descriptors {LBA(8), NUMBER OF LOGICAL BLOCKS(4), reserved(4)}. Length 1..7 → 05/1A/00; inconsistent header
    /// → 05/26/00 (CTL); any descriptor out of range → 05/21/00 and nothing is unmapped.
    /// </summary>
    private ModelResult Unmap(ReadOnlySpan<byte> cdb, ReadOnlySpan<byte> dataOut)
    {
        if ((cdb[1] & 0x01) != 0)
        {
            return Check(Senses.InvalidFieldInCdb(1, 0)); // ANCHOR: no anchored state (ANC_SUP = 0).
        }

        var paramLen = (int)Be(cdb, 7, 2);
        if (paramLen == 0)
        {
            return ModelResult.Good();
        }

        if (paramLen < 8)
        {
            return Check(Senses.ParameterListLengthError);
        }

        var p = Slice(dataOut, 0, paramLen);
        var dataLen = (int)Be(p, 0, 2);
        var descLen = (int)Be(p, 2, 2);
        if (paramLen < dataLen + 2 || paramLen < descLen + 8 || descLen % 16 != 0)
        {
            return Check(Senses.InvalidParameterList);
        }

        var ranges = new List<(ulong Lba, ulong Count)>();
        for (var off = 8; off < 8 + descLen; off += 16)
        {
            var lba = Be(p, off, 8);
            var count = Be(p, off + 8, 4);
            if (RangeCheck(lba, count) is { } bad)
            {
                return Check(bad);
            }

            ranges.Add((lba, count));
        }

        foreach (var (lba, count) in ranges)
        {
            for (ulong i = 0; i < count; i++)
            {
                _blocks.Remove(lba + i);
            }
        }

        return ModelResult.Good();
    }

    /// <summary>
    /// GET LBA STATUS, SBC-4 5.7: one descriptor {LBA, extent length, provisioning status 0 mapped / 1 deallocated}
    /// covering the run of blocks from LBA with the same status (at most 2^32-1). LBA beyond capacity → 05/21/00.
    /// </summary>
    private ModelResult GetLbaStatus(ReadOnlySpan<byte> cdb)
    {
        var lba = Be(cdb, 2, 8);
        var alloc = (long)Be(cdb, 10, 4);
        if (lba >= _blockCount)
        {
            return Check(Senses.LbaOutOfRange(lba));
        }

        var mapped = IsMapped(lba);
        ulong run = 1;
        while (lba + run < _blockCount && run < uint.MaxValue && IsMapped(lba + run) == mapped)
        {
            run++;
        }

        var data = new byte[24];
        WriteBe32(data, 0, 20); // PARAMETER DATA LENGTH
        WriteBe64(data, 8, lba);
        WriteBe32(data, 16, run);
        data[20] = mapped ? (byte)0 : (byte)1;
        return DataIn(data, alloc);
    }

    /// <summary>
    /// COMPARE AND WRITE, SBC-4 5.3: data-out is NUMBER OF LOGICAL BLOCKS of verify data then as many of write
    /// data. A miscompare is 0E/1D/00 with INFORMATION = offset of the first differing byte; nothing is written.
    /// </summary>
    private ModelResult CompareAndWrite(ReadOnlySpan<byte> cdb, ReadOnlySpan<byte> dataOut)
    {
        var lba = Be(cdb, 2, 8);
        var count = Be(cdb, 13, 1);
        if (RangeCheck(lba, count) is { } bad)
        {
            return Check(bad);
        }

        var bs = (int)_config.BlockSize;
        var length = (int)count * bs;
        var verify = Slice(dataOut, 0, length);
        var current = PeekBlocks(lba, (uint)count);
        var at = verify.AsSpan().CommonPrefixLength(current);
        if (at < length)
        {
            return Check(Senses.MiscompareDuringVerify((ulong)at));
        }

        for (ulong i = 0; i < count; i++)
        {
            _blocks[lba + i] = Slice(dataOut, length + ((int)i * bs), bs);
        }

        return ModelResult.Good();
    }

    /// <summary>READ CAPACITY(10), SBC-4 5.15: last LBA (FFFFFFFFh when it does not fit) and block length.</summary>
    private ModelResult ReadCapacity10()
    {
        var data = new byte[8];
        WriteBe32(data, 0, Math.Min(_blockCount - 1, uint.MaxValue));
        WriteBe32(data, 4, _config.BlockSize);
        return ModelResult.Good(data);
    }

    /// <summary>READ CAPACITY(16), SBC-4 5.16: 32 bytes; byte 13 LBPPBE; byte 14 LBPME (80h) | LBPRZ (40h): thin provisioned, unmapped reads zeros.</summary>
    private ModelResult ReadCapacity16(ReadOnlySpan<byte> cdb)
    {
        var alloc = (long)Be(cdb, 10, 4);
        var data = new byte[32];
        WriteBe64(data, 0, _blockCount - 1);
        WriteBe32(data, 8, _config.BlockSize);
        data[13] = _config.PhysicalBlockExponent;
        data[14] = 0xC0;
        return DataIn(data, alloc);
    }

    // A copy of data-out bytes [offset, offset+length), zero-filled where data-out is short.
    private static byte[] Slice(ReadOnlySpan<byte> data, int offset, int length)
    {
        var b = new byte[length];
        if (offset < data.Length)
        {
            data.Slice(offset, Math.Min(length, data.Length - offset)).CopyTo(b);
        }

        return b;
    }
}

using System.Buffers.Binary;
using System.Globalization;
using CtlHa.Conformance.Differential;
using CtlHa.Initiator.Scsi;

namespace CtlHa.Conformance.Linearizability;

/// <summary>One command a client is about to send: CDB, data-out, expected data-in, and how to print it and its answer.</summary>
public sealed record LinCommand(byte[] Cdb, byte[] DataOut, int ExpectedLength, string Label, Func<DiffOutcome, string> Render);

/// <summary>
/// The commands of the two workloads and how their answers read. Counter blocks: a block holding value v is fully
/// determined by (LBA, v) — v big-endian in bytes 0-7, the LBA in 8-15, a byte pattern of both after — so a torn or
/// misplaced write shows as <c>value=garbled</c>, and COMPARE AND WRITE expecting v succeeds only on exactly that block.
/// </summary>
public static class LinCommands
{
    public const int BlockSize = 512;

    public static byte[] CounterBlock(ulong lba, long value)
    {
        var block = new byte[BlockSize];
        BinaryPrimitives.WriteInt64BigEndian(block, value);
        BinaryPrimitives.WriteUInt64BigEndian(block.AsSpan(8), lba);
        for (var i = 16; i < block.Length; i++)
        {
            block[i] = (byte)((value * 37) + (long)lba + i);
        }

        return block;
    }

    /// <summary>The counter a block holds, null when it is not a counter block of this LBA.</summary>
    public static long? CounterOf(ulong lba, ReadOnlySpan<byte> block)
    {
        if (block.Length != BlockSize)
        {
            return null;
        }

        var value = BinaryPrimitives.ReadInt64BigEndian(block);
        return block.SequenceEqual(CounterBlock(lba, value)) ? value : null;
    }

    public static LinCommand Read(ulong lba) =>
        new(Cdb.Read16(lba, 1), [], BlockSize, $"READ lba={lba}", o => o is { Status: 0, DataIn.Length: BlockSize } ? CounterText(lba, o.DataIn) : Text(o));

    public static LinCommand Write(ulong lba, long value) =>
        new(Cdb.Write16(lba, 1), CounterBlock(lba, value), 0, $"WRITE lba={lba} value={value}", Text);

    /// <summary>COMPARE AND WRITE of one block: expect the counter <paramref name="expect"/>, write <paramref name="expect"/> + 1.</summary>
    public static LinCommand CompareAndWrite(ulong lba, long expect) =>
        new(Cdb.CompareAndWrite(lba, 1), [.. CounterBlock(lba, expect), .. CounterBlock(lba, expect + 1)], 0,
            $"CAW lba={lba} expect={expect}", Text);

    public static LinCommand TestUnitReady() => new(Cdb.TestUnitReady(), [], 0, "TUR", Text);

    public static LinCommand Register(ulong key, ulong newKey) =>
        PrOut(PersistentReserveOutAction.Register, PersistentReservationType.None, key, newKey, $"PR REGISTER {K(key)}→{K(newKey)}");

    public static LinCommand RegisterAndIgnore(ulong newKey) =>
        PrOut(PersistentReserveOutAction.RegisterAndIgnoreExistingKey, PersistentReservationType.None, 0, newKey, $"PR REGISTER AND IGNORE →{K(newKey)}");

    public static LinCommand Reserve(ulong key, PersistentReservationType type) =>
        PrOut(PersistentReserveOutAction.Reserve, type, key, 0, $"PR RESERVE {T(type)} key={K(key)}");

    public static LinCommand Release(ulong key, PersistentReservationType type) =>
        PrOut(PersistentReserveOutAction.Release, type, key, 0, $"PR RELEASE {T(type)} key={K(key)}");

    public static LinCommand Clear(ulong key) =>
        PrOut(PersistentReserveOutAction.Clear, PersistentReservationType.None, key, 0, $"PR CLEAR key={K(key)}");

    public static LinCommand Preempt(ulong key, ulong victim, PersistentReservationType type) =>
        PrOut(PersistentReserveOutAction.Preempt, type, key, victim, $"PR PREEMPT {T(type)} key={K(key)} victim={K(victim)}");

    public static LinCommand ReadKeys() =>
        new(Cdb.PersistentReserveIn(PersistentReserveInAction.ReadKeys, 1024), [], 1024, "PR IN READ KEYS", o => o.Status == 0 ? KeysText(o.DataIn) : Text(o));

    public static LinCommand ReadReservation() =>
        new(Cdb.PersistentReserveIn(PersistentReserveInAction.ReadReservation, 1024), [], 1024, "PR IN READ RESERVATION",
            o => o.Status == 0 ? ReservationText(o.DataIn) : Text(o));

    private static LinCommand PrOut(PersistentReserveOutAction action, PersistentReservationType type, ulong key, ulong saKey, string label) =>
        new(Cdb.PersistentReserveOut(action, type), Cdb.PersistentReserveOutParameters(key, saKey), 0, label, Text);

    /// <summary>GOOD, MISCOMPARE, RESERVATION CONFLICT, CHECK 06/2A/04, …</summary>
    public static string Text(DiffOutcome o) => o switch
    {
        { Failure: { } f, Status: 0xFF } => f,
        { Status: 0x02, Sense: { Key: 0x0E, Asc: 0x1D } } => "MISCOMPARE",
        { Status: 0x02, Sense: { } s } => $"CHECK {s.Key:X2}/{s.Asc:X2}/{s.Ascq:X2}",
        { Status: 0x00, DataIn.Length: 0 } => "GOOD",
        _ => o.ToString(),
    };

    private static string CounterText(ulong lba, byte[] block) =>
        CounterOf(lba, block) is { } v ? $"value={v}" : block.AsSpan().IndexOfAnyExcept((byte)0) < 0 ? "value=zero" : "value=garbled";

    private static string KeysText(byte[] data)
    {
        if (data.Length < 8)
        {
            return $"GOOD +{data.Length}B";
        }

        var generation = BinaryPrimitives.ReadUInt32BigEndian(data);
        var length = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(4)), (uint)(data.Length - 8));
        var keys = new List<string>();
        for (var i = 8; i + 8 <= 8 + length; i += 8)
        {
            keys.Add(K(BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(i))));
        }

        return $"gen={generation} keys=[{string.Join(",", keys)}]";
    }

    private static string ReservationText(byte[] data)
    {
        if (data.Length < 8)
        {
            return $"GOOD +{data.Length}B";
        }

        var generation = BinaryPrimitives.ReadUInt32BigEndian(data);
        if (BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(4)) == 0 || data.Length < 24)
        {
            return $"gen={generation} none";
        }

        return $"gen={generation} {T((PersistentReservationType)(data[21] & 0x0F))} key={K(BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(8)))}";
    }

    private static string K(ulong key) => key.ToString("X", CultureInfo.InvariantCulture);

    private static string T(PersistentReservationType type) => type switch
    {
        PersistentReservationType.WriteExclusive => "WE",
        PersistentReservationType.ExclusiveAccess => "EA",
        PersistentReservationType.WriteExclusiveRegistrantsOnly => "WE-RO",
        PersistentReservationType.ExclusiveAccessRegistrantsOnly => "EA-RO",
        PersistentReservationType.WriteExclusiveAllRegistrants => "WE-AR",
        PersistentReservationType.ExclusiveAccessAllRegistrants => "EA-AR",
        _ => $"type{(int)type}",
    };
}

/// <summary>The two workloads: what a client does next given what it has seen (adaptive, seeded per client).</summary>
public enum LinWorkload
{
    /// <summary>Counters: READ a block, COMPARE AND WRITE it from the value seen to the next.</summary>
    CompareAndWrite,

    /// <summary>PR OUT chains (REGISTER, REGISTER AND IGNORE, RESERVE, RELEASE, PREEMPT) mixed with PR IN, READ, WRITE, TUR.</summary>
    PersistentReservations,

    /// <summary>
    /// PR OUT chains that never raise a unit attention (REGISTER AND IGNORE, REGISTER of a new key, RESERVE and RELEASE
    /// of WE/EA only — no PREEMPT, no unregistering, no registrants-only or all-registrants types): the replicated PR
    /// state alone, apart from UA delivery across nodes.
    /// </summary>
    PersistentReservationsWithoutUnitAttentions,
}

/// <summary>One client's decisions within a round; sees only its own answers.</summary>
public sealed class LinClientScript(LinWorkload workload, int clientId, IReadOnlyList<int> allClientIds, IReadOnlyList<ulong> lbas, Random random)
{
    private static readonly PersistentReservationType[] Types =
    [
        PersistentReservationType.WriteExclusive, PersistentReservationType.ExclusiveAccess,
        PersistentReservationType.WriteExclusiveRegistrantsOnly, PersistentReservationType.ExclusiveAccessAllRegistrants,
    ];

    private readonly Dictionary<ulong, long> _known = [];
    private LinCommand? _last;
    private ulong _lastLba;

    /// <summary>The reservation key client <paramref name="id"/> uses (A1, A2, …: readable in traces).</summary>
    public static ulong KeyOf(int id) => 0xA0UL + (ulong)id;

    public LinCommand Next()
    {
        _last = workload switch
        {
            LinWorkload.CompareAndWrite => NextCaw(),
            LinWorkload.PersistentReservations => NextPr(),
            _ => NextPrWithoutUnitAttentions(),
        };
        return _last;
    }

    /// <summary>Tells the script the answer to its last command.</summary>
    public void Observe(DiffOutcome outcome)
    {
        if (workload != LinWorkload.CompareAndWrite || _last is null)
        {
            return;
        }

        if (_last.Cdb[0] == 0x88)
        {
            if (outcome is { Status: 0, DataIn.Length: LinCommands.BlockSize } && LinCommands.CounterOf(_lastLba, outcome.DataIn) is { } v)
            {
                _known[_lastLba] = v;
            }
            else
            {
                _known.Remove(_lastLba);
            }
        }
        else if (_last.Cdb[0] == 0x89)
        {
            if (outcome is { Status: 0, Failure: null } && _known.TryGetValue(_lastLba, out var v))
            {
                _known[_lastLba] = v + 1;
            }
            else
            {
                _known.Remove(_lastLba);
            }
        }
    }

    private LinCommand NextCaw()
    {
        _lastLba = lbas[random.Next(lbas.Count)];
        return _known.TryGetValue(_lastLba, out var v) && random.Next(6) != 0
            ? LinCommands.CompareAndWrite(_lastLba, v)
            : LinCommands.Read(_lastLba);
    }

    private LinCommand NextPrWithoutUnitAttentions()
    {
        var own = KeyOf(clientId);
        var type = random.Next(2) == 0 ? PersistentReservationType.WriteExclusive : PersistentReservationType.ExclusiveAccess;
        var lba = lbas[random.Next(lbas.Count)];
        return random.Next(16) switch
        {
            < 3 => LinCommands.RegisterAndIgnore(own + (ulong)(random.Next(2) * 0x10)),
            3 => LinCommands.Register(0, own),
            < 7 => LinCommands.Reserve(own, type),
            < 9 => LinCommands.Release(own, type),
            < 11 => LinCommands.ReadKeys(),
            < 13 => LinCommands.ReadReservation(),
            13 => LinCommands.Read(lba),
            14 => LinCommands.Write(lba, random.Next(1000)),
            _ => LinCommands.TestUnitReady(),
        };
    }

    private LinCommand NextPr()
    {
        var own = KeyOf(clientId);
        var type = Types[random.Next(Types.Length)];
        var others = allClientIds.Where(c => c != clientId).ToList();
        var lba = lbas[random.Next(lbas.Count)];
        return random.Next(20) switch
        {
            < 4 => LinCommands.RegisterAndIgnore(own),
            4 => LinCommands.Register(0, own),
            5 => LinCommands.Register(own, 0),
            < 9 => LinCommands.Reserve(own, type),
            < 11 => LinCommands.Release(own, type),
            < 13 => LinCommands.Preempt(own, KeyOf(others[random.Next(others.Count)]), type),
            < 15 => LinCommands.ReadKeys(),
            < 17 => LinCommands.ReadReservation(),
            17 => LinCommands.Read(lba),
            18 => LinCommands.Write(lba, random.Next(1000)),
            _ => LinCommands.TestUnitReady(),
        };
    }
}

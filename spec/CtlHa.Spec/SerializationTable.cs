namespace CtlHa.Spec;

/// <summary>
/// ctl-ha.md §11.2: what a NEW command does about one OLDER command on the same LUN, by serialization
/// class. Row = newer, column = older. The §11.1 rules around the table (aborted, ORDERED,
/// HEAD OF QUEUE, tag overlaps, extents, serseq) are in <see cref="OoaRules"/>.
/// </summary>
public static class SerializationTable
{
    /// <summary>One cell of the table (legend of §11.2).</summary>
    public enum Decision
    {
        /// <summary>P: the newer command does not wait for the older one.</summary>
        Pass,

        /// <summary>B: the newer command waits for the older one.</summary>
        Block,

        /// <summary>bO: block unless the control page QUEUE ALGORITHM MODIFIER is 1 (unrestricted).</summary>
        BlockUnlessUnrestricted,

        /// <summary>xT: block when the LBA ranges overlap.</summary>
        ExtentCheck,

        /// <summary>xO: extent check unless unrestricted (then pass).</summary>
        ExtentCheckUnlessUnrestricted,

        /// <summary>xS: READ after READ: block when adjacent and serseq ≠ off and the older lacks SERSEQ_DONE.</summary>
        SequentialCheck,
    }

    /// <summary>Column order of <see cref="Cells"/> (and row order): the classes of §11.2.</summary>
    public static IReadOnlyList<SerializationClass> Classes { get; } =
    [
        SerializationClass.Tur, SerializationClass.Read, SerializationClass.Write, SerializationClass.Unmap,
        SerializationClass.Sync, SerializationClass.ModeSense, SerializationClass.ModeSelect,
        SerializationClass.RequestSense, SerializationClass.Inquiry, SerializationClass.ReadCapacity,
        SerializationClass.Reservation, SerializationClass.LogSense, SerializationClass.Format, SerializationClass.Start,
    ];

    // §11.2 verbatim, one row per newer class, columns in Classes order:
    //            TUR READ WRITE UNMAP SYNC MDSNS MDSEL RQSNS INQ RDCAP RES LOGSNS FMT START
    private static readonly string[] Cells =
    [
        /* TUR     */ "P  P  P  P  P  B  B  P  P  P  B  P  P  B",
        /* READ    */ "P  xS xT xO P  B  B  P  P  P  B  P  B  B",
        /* WRITE   */ "P  xT xT xO P  B  B  P  P  P  B  P  B  B",
        /* UNMAP   */ "P  bO bO P  P  B  B  P  P  P  B  P  B  B",
        /* SYNC    */ "P  P  bO P  P  B  B  P  P  P  B  P  B  B",
        /* MD_SNS  */ "B  B  B  B  B  P  B  P  P  P  B  P  B  B",
        /* MD_SEL  */ "B  B  B  B  B  B  B  P  P  P  B  B  B  B",
        /* RQ_SNS  */ "B  B  B  B  B  B  B  B  B  B  B  B  P  B",
        /* INQ     */ "P  P  P  P  P  P  P  P  P  P  P  P  P  P",
        /* RD_CAP  */ "P  P  P  P  P  P  P  P  P  P  B  P  B  B",
        /* RES     */ "B  B  B  B  B  B  B  B  P  P  B  B  B  B",
        /* LOG_SNS */ "P  P  P  P  P  P  P  P  P  P  B  P  B  B",
        /* FORMAT  */ "B  B  B  B  B  B  B  B  B  B  B  B  B  B",
        /* START   */ "B  B  B  B  B  B  B  B  B  P  B  B  B  B",
    ];

    private static readonly Decision[,] Table = Parse();

    /// <summary>
    /// The cell for a newer command against an older one. A class outside the table
    /// (<see cref="SerializationClass.None"/>: unsupported commands) passes both ways (§11.1: "the older
    /// command is unsupported → PASS"; an unsupported newer command is failed before it is queued).
    /// </summary>
    public static Decision Lookup(SerializationClass newer, SerializationClass older) =>
        newer == SerializationClass.None || older == SerializationClass.None
            ? Decision.Pass
            : Table[(int)newer, (int)older];

    private static Decision[,] Parse()
    {
        var n = Classes.Count;
        var table = new Decision[n, n];
        for (var row = 0; row < n; row++)
        {
            var cells = Cells[row].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (cells.Length != n)
            {
                throw new InvalidOperationException($"§11.2 row {Classes[row]} has {cells.Length} cells, expected {n}.");
            }

            for (var col = 0; col < n; col++)
            {
                table[(int)Classes[row], (int)Classes[col]] = cells[col] switch
                {
                    "P" => Decision.Pass,
                    "B" => Decision.Block,
                    "bO" => Decision.BlockUnlessUnrestricted,
                    "xT" => Decision.ExtentCheck,
                    "xO" => Decision.ExtentCheckUnlessUnrestricted,
                    "xS" => Decision.SequentialCheck,
                    var other => throw new InvalidOperationException($"Unknown §11.2 cell '{other}'."),
                };
            }
        }

        return table;
    }
}

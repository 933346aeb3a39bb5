namespace CtlHa.Scsi.Commands;

/// <summary>
/// The dispatch table: opcode (and service action) → <see cref="CommandDescriptor"/>.
/// Built once; read without locks on every command.
/// Other parts plug in by implementing the partial methods below in their own folder
/// (Reservations/, Copy/): each calls <see cref="Register"/> for its commands.
/// </summary>
public sealed partial class CommandTable
{
    private readonly CommandDescriptor?[] _byOpcode = new CommandDescriptor?[256];
    private readonly Dictionary<int, CommandDescriptor>?[] _byServiceAction = new Dictionary<int, CommandDescriptor>?[256];
    private readonly List<CommandDescriptor> _all = [];

    /// <summary>The table every <see cref="ScsiEngine"/> uses.</summary>
    public static CommandTable Default { get; } = CreateDefault();

    private static CommandTable CreateDefault()
    {
        var table = new CommandTable();
        BlockCommands.Register(table);
        PrimaryCommands.Register(table);
        RegisterReservationCommands(table);
        RegisterCopyCommands(table);
        table._all.Sort(static (a, b) => a.Opcode != b.Opcode ? a.Opcode.CompareTo(b.Opcode) : a.ServiceAction.CompareTo(b.ServiceAction));
        return table;
    }

    /// <summary>PERSISTENT RESERVE IN/OUT, RESERVE/RELEASE(6/10): implemented in Reservations/.</summary>
    static partial void RegisterReservationCommands(CommandTable table);

    /// <summary>EXTENDED COPY, RECEIVE COPY RESULTS/OPERATING PARAMETERS: implemented in Copy/.</summary>
    static partial void RegisterCopyCommands(CommandTable table);

    /// <summary>Every registered command in opcode/service action order (REPORT SUPPORTED OPERATION CODES).</summary>
    public IReadOnlyList<CommandDescriptor> All => _all;

    /// <summary>Adds a command. A descriptor with a service action makes the opcode service-action based.</summary>
    public void Register(CommandDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        if (descriptor.CdbUsage.Length < 6 || descriptor.CdbUsage[0] != descriptor.Opcode)
        {
            throw new ArgumentException($"{descriptor}: CdbUsage must start with the opcode and cover the whole CDB.", nameof(descriptor));
        }
        if (descriptor.HasServiceAction)
        {
            if (_byOpcode[descriptor.Opcode] is not null)
            {
                throw new InvalidOperationException($"{descriptor}: opcode already registered without service action.");
            }
            var map = _byServiceAction[descriptor.Opcode] ??= [];
            if (!map.TryAdd(descriptor.ServiceAction, descriptor))
            {
                throw new InvalidOperationException($"{descriptor}: registered twice.");
            }
        }
        else
        {
            if (_byOpcode[descriptor.Opcode] is not null || _byServiceAction[descriptor.Opcode] is not null)
            {
                throw new InvalidOperationException($"{descriptor}: registered twice.");
            }
            _byOpcode[descriptor.Opcode] = descriptor;
        }
        _all.Add(descriptor);
    }

    /// <summary>True when the opcode's commands are selected by a service action (SPC-5 §4.2.5).</summary>
    public bool UsesServiceAction(byte opcode) => _byServiceAction[opcode] is not null;

    /// <summary>Service actions of an opcode, or null.</summary>
    public IReadOnlyDictionary<int, CommandDescriptor>? ServiceActions(byte opcode) => _byServiceAction[opcode];

    /// <summary>Finds the descriptor for a CDB; null = unsupported (ILLEGAL REQUEST 20/00).</summary>
    public CommandDescriptor? Lookup(ReadOnlySpan<byte> cdb)
    {
        if (cdb.IsEmpty)
        {
            return null;
        }
        byte opcode = cdb[0];
        if (_byOpcode[opcode] is { } d)
        {
            return d;
        }
        if (_byServiceAction[opcode] is { } map && cdb.Length > 1 && map.TryGetValue(cdb[1] & 0x1F, out var sa))
        {
            return sa;
        }
        return null;
    }

    /// <summary>Exact lookup (REPORT SUPPORTED OPERATION CODES one-command formats).</summary>
    public CommandDescriptor? Find(byte opcode, int serviceAction)
    {
        if (serviceAction < 0)
        {
            return _byOpcode[opcode];
        }
        return _byServiceAction[opcode] is { } map && map.TryGetValue(serviceAction, out var d) ? d : null;
    }
}

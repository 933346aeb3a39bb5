using Spectre.Console;

namespace CtlHa.Node;

/// <summary>Renders <see cref="NodeStatus"/> as console tables.</summary>
internal static class StatusRenderer
{
    public static void Render(IAnsiConsole console, NodeStatus s)
    {
        console.MarkupLine($"[bold]node {Markup.Escape(s.Name)}[/]  ha-id {s.HaId}  mode {s.Mode}  sessions {s.Sessions}  portals {Markup.Escape(string.Join(", ", s.Portals))}");
        string link = s.Link.State == "online" ? "[green]online[/]" : $"[yellow]{Markup.Escape(s.Link.State)}[/]";
        console.MarkupLine($"link {link}  peer {Markup.Escape(s.Link.Peer ?? "-")}");
        if (s.Link.LastRejection is { } why)
        {
            console.MarkupLine($"[red]last rejection:[/] {Markup.Escape(why)}");
        }
        var table = new Table().AddColumns("LUN", "role", "peer role", "ALUA groups", "backing", "note");
        foreach (var l in s.Luns)
        {
            string groups = string.Join("  ", l.Groups.Select(g => $"TPG {g.Id}: {g.State}"));
            table.AddRow(l.Lun.ToString(), l.Role, l.PeerRole, Markup.Escape(groups), Markup.Escape($"{l.Path} ({l.SizeBytes >> 20} MiB)"), Markup.Escape(l.Conflict ?? ""));
        }
        console.Write(table);
    }
}

using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CtlHa.Node;

/// <summary>
/// The control API: a small HTTP/JSON endpoint (curl-friendly) per node.
/// GET /status → <see cref="NodeStatus"/>; POST /role {"role":"primary","lun":0} → promote/demote;
/// POST /lun/resize {"lun":0,"sizeBytes":N} → grow a LUN online (2A/09 for every initiator, on both nodes).
/// </summary>
internal sealed class ControlServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    public ControlServer(IPEndPoint endPoint, CtlHaNode node, ILoggerFactory loggerFactory)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(endPoint));
        _app = builder.Build();
        _app.MapGet("/status", () => Results.Json(node.GetStatus()));
        _app.MapPost("/role", async (RoleRequest req, CancellationToken ct) =>
        {
            if (!Enum.TryParse<RoleSetting>(req.Role, ignoreCase: true, out var role) || !Enum.IsDefined(role))
            {
                return Results.BadRequest(new { error = $"role '{req.Role}' must be primary or secondary" });
            }
            var result = await node.SetRoleAsync(role, req.Lun, ct);
            return result.Ok ? Results.Ok(new { message = result.Message }) : Results.Conflict(new { error = result.Message });
        });
        _app.MapPost("/lun/resize", async (ResizeRequest req, CancellationToken ct) =>
        {
            if (req.Lun is not { } lun || req.SizeBytes is not { } size)
            {
                return Results.BadRequest(new { error = "lun and sizeBytes are required" });
            }
            var result = await node.ResizeLunAsync(lun, size, ct);
            return result.Ok ? Results.Ok(new { message = result.Message }) : Results.Conflict(new { error = result.Message });
        });
    }

    public Task StartAsync(CancellationToken ct) => _app.StartAsync(ct);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _app.StopAsync(CancellationToken.None);
        }
        finally
        {
            await _app.DisposeAsync();
        }
    }
}

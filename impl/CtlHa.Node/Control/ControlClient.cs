using System.Net;
using System.Net.Http.Json;

namespace CtlHa.Node;

/// <summary>A control API call failed in a way the operator should read.</summary>
public sealed class ControlException(string message) : Exception(message);

/// <summary>Client side of the control API, used by `ctlha status`, `ctlha role` and `ctlha lun resize`.</summary>
public sealed class ControlClient : IDisposable
{
    private readonly HttpClient _http;

    public ControlClient(IPEndPoint endPoint)
    {
        _http = new HttpClient { BaseAddress = new Uri($"http://{endPoint}/"), Timeout = TimeSpan.FromSeconds(5) };
    }

    public async Task<string> GetStatusJsonAsync(CancellationToken ct) => await _http.GetStringAsync("status", ct);

    public async Task<NodeStatus> GetStatusAsync(CancellationToken ct) =>
        await _http.GetFromJsonAsync<NodeStatus>("status", ct) ?? throw new ControlException("empty status");

    public async Task<string> SetRoleAsync(RoleSetting role, int? lun, CancellationToken ct)
    {
        using var resp = await _http.PostAsJsonAsync("role", new RoleRequest(role.ToString().ToLowerInvariant(), lun), ct);
        string body = await resp.Content.ReadAsStringAsync(ct);
        return resp.IsSuccessStatusCode ? body : throw new ControlException($"{(int)resp.StatusCode} {body}");
    }

    /// <summary>POST /lun/resize; the node's answer, or <see cref="ControlException"/> with its refusal.</summary>
    public async Task<string> ResizeLunAsync(int lun, long sizeBytes, CancellationToken ct)
    {
        using var resp = await _http.PostAsJsonAsync("lun/resize", new ResizeRequest(lun, sizeBytes), ct);
        string body = await resp.Content.ReadAsStringAsync(ct);
        return resp.IsSuccessStatusCode ? body : throw new ControlException($"{(int)resp.StatusCode} {body}");
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>Body of POST /lun/resize: the LUN and its new capacity in bytes (a multiple of the block size).</summary>
public sealed record ResizeRequest(int? Lun, long? SizeBytes);

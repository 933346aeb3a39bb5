using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CtlHa.Conformance.Suites.Adapters;

/// <summary>
/// The parts of a node's <c>GET /status</c> the suites read (README "Running a node"; camelCase JSON). Declared here,
/// not borrowed from impl, so a verdict never depends on impl's own types (DESIGN.md dependency rule); unknown fields
/// are ignored.
/// </summary>
public sealed record ControlStatus(
    [property: JsonPropertyName("haId")] int HaId,
    [property: JsonPropertyName("mode")] string? Mode,
    [property: JsonPropertyName("link")] ControlLinkStatus? Link,
    [property: JsonPropertyName("luns")] IReadOnlyList<ControlLunStatus>? Luns);

/// <param name="State">offline | listening | connecting | authenticating | logging-in | online | rejected | ...</param>
/// <param name="LastRejection">The last authentication or Login rejection, naming the field and both values.</param>
public sealed record ControlLinkStatus(
    [property: JsonPropertyName("state")] string? State,
    [property: JsonPropertyName("lastRejection")] string? LastRejection);

public sealed record ControlLunStatus(
    [property: JsonPropertyName("lun")] int Lun,
    [property: JsonPropertyName("role")] string? Role,
    [property: JsonPropertyName("peerRole")] string? PeerRole);

/// <summary>A control API call the node refused or that did not reach it; the message is the operator's to read.</summary>
public sealed class ControlApiException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// A minimal HTTP client of the node control API: <c>GET /status</c> and <c>POST /role {"role":..,"lun":..}</c>.
/// Written against the documented JSON, not impl's client, so it also checks that the API keeps its shape.
/// </summary>
public sealed class ControlApiClient : IDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly HttpClient _http;

    /// <param name="baseAddress">http://host:port/ (a bare host:port gets http:// added).</param>
    public ControlApiClient(Uri baseAddress, TimeSpan? timeout = null)
    {
        _http = new HttpClient { BaseAddress = baseAddress, Timeout = timeout ?? TimeSpan.FromSeconds(5) };
    }

    public Uri BaseAddress => _http.BaseAddress!;

    /// <summary>Parses a <c>--control-a</c> value: <c>http://host:port</c> or <c>host:port</c>.</summary>
    public static bool TryParseAddress(string? text, out Uri address)
    {
        address = null!;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var withScheme = text.Contains("://", StringComparison.Ordinal) ? text : "http://" + text;
        if (!Uri.TryCreate(withScheme, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Port <= 0)
        {
            return false;
        }

        address = new Uri(uri.GetLeftPart(UriPartial.Authority) + "/");
        return true;
    }

    public async Task<ControlStatus> GetStatusAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _http.GetFromJsonAsync<ControlStatus>("status", Json, cancellationToken).ConfigureAwait(false)
                ?? throw new ControlApiException($"GET {BaseAddress}status returned null");
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new ControlApiException($"GET {BaseAddress}status: {e.Message}", e);
        }
    }

    /// <summary>POST /role; throws <see cref="ControlApiException"/> with the node's own error text when it refuses.</summary>
    public async Task SetRoleAsync(bool primary, int? lun, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _http.PostAsJsonAsync("role", new { role = primary ? "primary" : "secondary", lun }, Json, cancellationToken).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new ControlApiException($"POST {BaseAddress}role → {(int)response.StatusCode} {body}");
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new ControlApiException($"POST {BaseAddress}role: {e.Message}", e);
        }
    }

    public void Dispose() => _http.Dispose();
}

using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Components.Authorization;

namespace ModelPlatform.Console.Platform;

/// <summary>The platform's services, by the names the AppHost gives them (reached through service discovery).</summary>
public static class PlatformServices
{
    public const string Identity = "identity";
    public const string Feature = "feature";
    public const string Training = "training";
    public const string Registry = "registry";
    public const string Inference = "inference";

    public static readonly IReadOnlyList<string> All = [Identity, Feature, Training, Registry, Inference];
}

/// <summary>
/// Calls the services as the signed-in person: each request carries their key, so the service checks their roles and
/// audits them by name. A refusal comes back as a <see cref="ServiceProblemException"/> that pages show as it is worded.
/// </summary>
public sealed class PlatformApi
{
    public static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;

    private readonly IHttpClientFactory _clients;
    private readonly Func<Task<ClaimsPrincipal>> _user;

    /// <summary>For pages: the person of the page's authentication state (the request's, or the circuit's).</summary>
    public PlatformApi(IHttpClientFactory clients, AuthenticationStateProvider authentication)
        : this(clients, async () => (await authentication.GetAuthenticationStateAsync()).User)
    {
    }

    private PlatformApi(IHttpClientFactory clients, Func<Task<ClaimsPrincipal>> user) => (_clients, _user) = (clients, user);

    /// <summary>For endpoints outside a page, which have no authentication state: the request's own user.</summary>
    public static PlatformApi For(HttpContext context) =>
        new(context.RequestServices.GetRequiredService<IHttpClientFactory>(), () => Task.FromResult(context.User));

    public Task<T> GetAsync<T>(string service, string path, CancellationToken cancellationToken) =>
        SendAsync<T>(service, HttpMethod.Get, path, content: null, cancellationToken);

    public Task<T> PostAsync<T>(string service, string path, object body, CancellationToken cancellationToken) =>
        SendAsync<T>(service, HttpMethod.Post, path, JsonContent.Create(body, options: Json), cancellationToken);

    public async Task<T> SendAsync<T>(string service, HttpMethod method, string path, HttpContent? content, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(service, method, path, content, cancellationToken);
        return (await response.Content.ReadFromJsonAsync<T>(Json, cancellationToken))!;
    }

    /// <summary>Sends a request and returns a successful answer; any other is thrown as the service's problem.</summary>
    public async Task<HttpResponseMessage> SendAsync(
        string service, HttpMethod method, string path, HttpContent? content, CancellationToken cancellationToken)
    {
        var user = await _user();
        using var request = new HttpRequestMessage(method, path) { Content = content };
        // Set before the service's own credential handler, which only fills an empty header.
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", user.Key() ?? throw new ServiceProblemException(401, "You are not signed in."));
        HttpResponseMessage response;
        try
        {
            response = await _clients.CreateClient(service).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new ServiceProblemException(503, $"The {service} service could not be reached.", ex.Message);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            throw await ServiceProblemException.ReadAsync(service, response, cancellationToken);
        }
    }

    public static IHostApplicationBuilder AddPlatformApi(IHostApplicationBuilder builder)
    {
        foreach (var service in PlatformServices.All)
        {
            builder.Services.AddHttpClient(service, http => http.BaseAddress = new($"https+http://{service}"));
        }

        builder.Services.AddScoped<PlatformApi>();
        return builder;
    }
}

/// <summary>A service refused a request: its problem details, worded for a person (never a stack trace).</summary>
public sealed class ServiceProblemException(int status, string title, string? detail = null, IReadOnlyDictionary<string, string[]>? errors = null)
    : Exception(detail is null ? title : $"{title} {detail}")
{
    public int Status { get; } = status;

    public string Title { get; } = title;

    public string? Detail { get; } = detail;

    /// <summary>What each field, line or column got wrong, by its name (such as <c>line 12</c>).</summary>
    public IReadOnlyDictionary<string, string[]> Errors { get; } = errors ?? new Dictionary<string, string[]>();

    public static async Task<ServiceProblemException> ReadAsync(string service, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        try
        {
            if (response.Content.Headers.ContentType?.MediaType == "application/problem+json"
                && await response.Content.ReadFromJsonAsync<HttpValidationProblemDetails>(PlatformApi.Json, cancellationToken) is { } problem)
            {
                return new ServiceProblemException(status, problem.Title ?? Describe(status, service), problem.Detail, problem.Errors.AsReadOnly());
            }
        }
        catch (JsonException)
        {
            // Not the problem details it said it was: the status alone still says what happened.
        }

        return new ServiceProblemException(status, Describe(status, service));
    }

    private static string Describe(int status, string service) => status switch
    {
        401 => "Your key was not accepted; sign in again.",
        403 => "Your roles do not allow this.",
        404 => "It does not exist (or no longer does).",
        413 => "It is larger than the service accepts.",
        429 => "Too many requests; try again in a moment.",
        >= 500 => $"The {service} service failed to answer; try again, and see its logs in the dashboard if it goes on.",
        _ => $"The {service} service refused the request ({status}).",
    };
}

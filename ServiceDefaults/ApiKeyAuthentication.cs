using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelPlatform.Contracts;

namespace Microsoft.Extensions.Hosting;

/// <summary>Checks a presented API key: the identity service owns keys, so every other service asks it.</summary>
public interface IApiKeyValidator
{
    Task<ApiKeyIntrospection> IntrospectAsync(string key, CancellationToken cancellationToken);
}

/// <summary>Asks the identity service (<c>https+http://identity</c>: TLS where it listens on it) with this service's own key.</summary>
internal sealed class IdentityServiceValidator(HttpClient http) : IApiKeyValidator
{
    public async Task<ApiKeyIntrospection> IntrospectAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await http.PostAsJsonAsync("/api-keys/introspect", new ApiKeyIntrospectionRequest(key), cancellationToken);
            response.EnsureSuccessStatusCode();
            return await response.Content.ReadFromJsonAsync<ApiKeyIntrospection>(cancellationToken)
                ?? throw new IdentityUnavailableException("The identity service gave an empty answer.");
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new IdentityUnavailableException("The identity service could not check the API key.", ex);
        }
    }
}

/// <summary>The identity service could not be asked about a key: the caller gets a 503, not a wrong 401.</summary>
public sealed class IdentityUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The <c>Identity</c> section of every service's configuration.</summary>
public sealed class ApiKeyAuthenticationOptions
{
    /// <summary>How long each replica trusts an answer about a key; a revocation takes effect everywhere within it.</summary>
    public double CacheSeconds { get; set; } = 5;

    /// <summary>
    /// Roles a caller without a key gets; none by default. An operator may open a service on purpose, say <c>predictor</c>
    /// for a public demo model, as KServe serves without authentication by default; every other route stays closed.
    /// </summary>
    public string[] AnonymousRoles { get; set; } = [];
}

/// <summary>
/// Answers about keys, kept for <see cref="ApiKeyAuthenticationOptions.CacheSeconds"/> per replica so a key costs one
/// introspection per replica per period, however many requests it sends. Callers asking at once share one introspection.
/// </summary>
public sealed class ApiKeyCache
{
    // Bounded, so a flood of made-up keys cannot grow it without limit.
    private const int MaxKeys = 100_000;

    private readonly ConcurrentDictionary<string, CachedAnswer> _answers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CachedAnswer>.AlternateLookup<ReadOnlySpan<char>> _answersByCharacters;
    private readonly IApiKeyValidator _validator;
    private readonly TimeProvider _time;
    private readonly TimeSpan _keepFor;

    public ApiKeyCache(IApiKeyValidator validator, IOptions<ApiKeyAuthenticationOptions> options, TimeProvider time)
    {
        _validator = validator;
        _time = time;
        _keepFor = TimeSpan.FromSeconds(options.Value.CacheSeconds);
        _answersByCharacters = _answers.GetAlternateLookup<ReadOnlySpan<char>>();
        Anonymous = options.Value.AnonymousRoles is { Length: > 0 } roles ? Known("anonymous", "anonymous", roles, null) : null;
    }

    /// <summary>The caller without a key, when <see cref="ApiKeyAuthenticationOptions.AnonymousRoles"/> gives it any role.</summary>
    public ApiKeyAnswer? Anonymous { get; }

    /// <summary>
    /// Checks a key as the header carries it. A known key is looked up by its characters, so the hot path (every request
    /// of a client that sends the same key) allocates nothing and answers synchronously.
    /// </summary>
    public ValueTask<ApiKeyAnswer> CheckAsync(ReadOnlySpan<char> key, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        return _answersByCharacters.TryGetValue(key, out var cached) && cached.FreshUntil > now && cached.Answer.IsCompletedSuccessfully
            ? ValueTask.FromResult(StillValid(cached.Answer.Result, now))
            : new ValueTask<ApiKeyAnswer>(AskOnceAsync(key.ToString(), cancellationToken));
    }

    private async Task<ApiKeyAnswer> AskOnceAsync(string key, CancellationToken cancellationToken)
    {
        CachedAnswer entry;
        lock (_answers)
        {
            var now = _time.GetUtcNow();
            if (!_answers.TryGetValue(key, out entry!) || entry.FreshUntil <= now)
            {
                if (_answers.Count >= MaxKeys)
                {
                    Evict(now);
                }

                entry = new CachedAnswer(AskAsync(key), now + _keepFor);
                _answers[key] = entry;
            }
        }

        try
        {
            return StillValid(await entry.Answer.WaitAsync(cancellationToken), _time.GetUtcNow());
        }
        catch (IdentityUnavailableException)
        {
            _answers.TryRemove(KeyValuePair.Create(key, entry));
            throw;
        }
    }

    // Called under the lock, only when the cache is full.
    private void Evict(DateTimeOffset now)
    {
        foreach (var (key, entry) in _answers)
        {
            if (entry.FreshUntil <= now)
            {
                _answers.TryRemove(key, out _);
            }
        }

        if (_answers.Count >= MaxKeys)
        {
            _answers.Clear();
        }
    }

    // An answer cached a moment before the key expired must not outlive the key.
    private static ApiKeyAnswer StillValid(ApiKeyAnswer known, DateTimeOffset now) =>
        known.ExpiresAt is { } expires && expires <= now ? ApiKeyAnswer.Refused("The API key expired.") : known;

    private async Task<ApiKeyAnswer> AskAsync(string key)
    {
        var introspection = await _validator.IntrospectAsync(key, CancellationToken.None);
        if (!introspection.Active || introspection.Id is null)
        {
            return ApiKeyAnswer.Refused(introspection.Refusal switch
            {
                "revoked" => "The API key was revoked.",
                "expired" => "The API key expired.",
                _ => "The API key is not known.",
            });
        }

        return Known(introspection.Id, introspection.Name ?? introspection.Id, introspection.Roles ?? [], introspection.ExpiresAt);
    }

    private static ApiKeyAnswer Known(string id, string name, IEnumerable<string> roles, DateTimeOffset? expiresAt)
    {
        var claims = new List<Claim> { new(ApiKeyClaims.KeyId, id), new(ApiKeyClaims.Name, name) };
        claims.AddRange(roles.Select(role => new Claim(ApiKeyClaims.Role, role)));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, ApiKeyDefaults.Scheme, ApiKeyClaims.Name, ApiKeyClaims.Role));
        return new ApiKeyAnswer(AuthenticateResult.Success(new AuthenticationTicket(principal, ApiKeyDefaults.Scheme)), null, expiresAt);
    }

    private sealed record CachedAnswer(Task<ApiKeyAnswer> Answer, DateTimeOffset FreshUntil);
}

/// <summary>
/// Who holds a key, as the authentication result every request that sends it shares (nothing is allocated per request),
/// or why it is refused.
/// </summary>
public sealed record ApiKeyAnswer(AuthenticateResult? Authenticated, string? Refusal, DateTimeOffset? ExpiresAt)
{
    public static ApiKeyAnswer Refused(string why) => new(null, why, null);
}

public static class ApiKeyClaims
{
    public const string KeyId = "sub";
    public const string Name = "name";
    public const string Role = "role";
}

public static class ApiKeyDefaults
{
    public const string Scheme = "ApiKey";
}

/// <summary>ASP.NET Core authentication for <c>Authorization: Bearer &lt;key&gt;</c>; a refusal says why (<see cref="Refusal"/>).</summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeyCache keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    private const string BearerPrefix = "Bearer ";
    private string? _refusal;

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        // One header value is the string Kestrel parsed: nothing below copies it.
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase) || header.Length == BearerPrefix.Length)
        {
            return keys.Anonymous is { } anonymous && header.Length == 0 ? anonymous.Authenticated! : AuthenticateResult.NoResult();
        }

        var answer = await keys.CheckAsync(header.AsSpan(BearerPrefix.Length).Trim(), Context.RequestAborted);
        if (answer.Authenticated is null)
        {
            _refusal = answer.Refusal;
            return AuthenticateResult.Fail(answer.Refusal!);
        }

        return answer.Authenticated;
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = _refusal is null ? "Bearer" : "Bearer error=\"invalid_token\"";
        return RefuseAsync(StatusCodes.Status401Unauthorized, "Unauthorized",
            _refusal ?? "This route needs an API key: send 'Authorization: Bearer <key>'.");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        var roles = Context.GetEndpoint()?.Metadata.GetOrderedMetadata<IAuthorizeData>()
            .SelectMany(data => data.Roles?.Split(',') ?? []).Distinct().ToList() ?? [];
        return RefuseAsync(StatusCodes.Status403Forbidden, "Forbidden", roles.Count > 0
            ? $"The API key '{Context.User.Identity?.Name}' lacks the role this route needs: one of {string.Join(", ", roles)}."
            : $"The API key '{Context.User.Identity?.Name}' may not use this route.");
    }

    private Task RefuseAsync(int status, string title, string detail) => Refusal.WriteAsync(Context, status, title, detail);
}

/// <summary>
/// A request the platform turns away before its endpoint runs (401, 403, 429): problem details, or <c>{"error"}</c> on
/// Open Inference Protocol routes (<c>/v2/…</c>), as that protocol answers every error.
/// </summary>
internal static class Refusal
{
    public static async Task WriteAsync(HttpContext context, int status, string title, string detail)
    {
        context.Response.StatusCode = status;
        if (context.Request.Path.StartsWithSegments("/v2"))
        {
            await context.Response.WriteAsJsonAsync(new { error = detail });
            return;
        }

        await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        });
    }
}

/// <summary>Sends this service's own key on every call it makes to another service.</summary>
internal sealed class ServiceCredentialHandler(string key) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.Authorization ??= new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        return base.SendAsync(request, cancellationToken);
    }
}

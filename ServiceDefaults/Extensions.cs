using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Cross-cutting plumbing every ModelPlatform service shares: OpenTelemetry over OTLP,
/// health checks, service discovery, HTTP resilience, and API-key authentication.
/// </summary>
public static class Extensions
{
    private const string HealthEndpointPath = "/health";
    private const string AlivenessEndpointPath = "/alive";

    /// <summary>The default request-size limit for every endpoint: 4 MiB.</summary>
    public const long MaxRequestBodyBytes = 4 * 1024 * 1024;

    /// <summary>Activity sources and meters of ModelPlatform code start with this prefix.</summary>
    public const string TelemetryPrefix = "ModelPlatform.";

    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry();
        builder.AddDefaultHealthChecks();

        // Every endpoint is bounded; endpoints that take uploads raise this for their own requests.
        builder.Services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(kestrel =>
            kestrel.Limits.MaxRequestBodySize = MaxRequestBodyBytes);

        // Errors are RFC 7807 problem details; a request the server rejected while reading it
        // (such as 413 for a body over the limit) keeps its status instead of becoming a 500.
        builder.Services.AddProblemDetails(options => options.CustomizeProblemDetails = DescribeBadRequest);
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        builder.Services.Configure<ExceptionHandlerOptions>(options =>
        {
            options.StatusCodeSelector = exception => exception switch
            {
                BadHttpRequestException badRequest => badRequest.StatusCode,
                IdentityUnavailableException => StatusCodes.Status503ServiceUnavailable,
                _ => StatusCodes.Status500InternalServerError,
            };
            // A client's mistake is not the server's error; it is answered, not logged as a failure.
            options.SuppressDiagnosticsCallback = context => context.Exception is BadHttpRequestException;
        });

        builder.Services.AddOpenApi(options => options.AddApiKeySecurity());
        builder.Services.AddHostedService<ShutdownWatchdog>();

        // Behind the gateway, the caller's address (which the audit records) is the one the gateway saw. Only proxies on
        // this host are believed by default; deployed, name the network the gateway runs in (ForwardedHeaders:KnownNetworks).
        builder.Services.Configure<ForwardedHeadersOptions>(options =>
        {
            options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            foreach (var network in builder.Configuration.GetSection("ForwardedHeaders:KnownNetworks").Get<string[]>() ?? [])
            {
                options.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
            }
        });
        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });
        builder.AddApiKeyAuthentication();

        return builder;
    }

    /// <summary>
    /// Every route needs an API key (<c>Authorization: Bearer &lt;key&gt;</c>) that the identity service vouches for; routes
    /// name the roles they need with <see cref="RequireRoles{TBuilder}"/>. Calls this service makes to the others carry
    /// its own key (<c>Identity:ServiceKey</c>), so each service acts under its own identity with only its own roles.
    /// </summary>
    public static TBuilder AddApiKeyAuthentication<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddAuthentication(ApiKeyDefaults.Scheme)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyDefaults.Scheme, null);
        builder.Services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new Microsoft.AspNetCore.Authorization.AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
        builder.Services.AddOptions<ApiKeyAuthenticationOptions>().BindConfiguration("Identity");
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<ApiKeyCache>();
        builder.Services.AddHttpClient<IApiKeyValidator, IdentityServiceValidator>(http => http.BaseAddress = new("https+http://identity"));
        builder.Services.AddKeyRateLimits();

        if (builder.Configuration["Identity:ServiceKey"] is { Length: > 0 } serviceKey)
        {
            builder.Services.ConfigureHttpClientDefaults(http => http.AddHttpMessageHandler(() => new ServiceCredentialHandler(serviceKey)));
        }

        return builder;
    }

    /// <summary>Lets callers holding any one of <paramref name="roles"/> use these routes, and nobody else.</summary>
    public static TBuilder RequireRoles<TBuilder>(this TBuilder endpoints, params string[] roles) where TBuilder : IEndpointConventionBuilder =>
        endpoints.RequireAuthorization(new Microsoft.AspNetCore.Authorization.AuthorizeAttribute { Roles = string.Join(',', roles) });

    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter(TelemetryPrefix + "*"))
            .WithTracing(tracing => tracing
                .AddSource(builder.Environment.ApplicationName)
                .AddSource(TelemetryPrefix + "*")
                .AddAspNetCoreInstrumentation(options =>
                    // Health probes would drown the traces that matter.
                    options.Filter = context =>
                        !context.Request.Path.StartsWithSegments(HealthEndpointPath)
                        && !context.Request.Path.StartsWithSegments(AlivenessEndpointPath))
                .AddHttpClientInstrumentation());

        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            builder.Services.AddOpenTelemetry().UseOtlpExporter();
        }

        return builder;
    }

    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), ["live"]);
        return builder;
    }

    /// <summary>
    /// Says what was wrong with a request the framework could not bind: for a JSON body, the field at fault
    /// (<c>$.task</c> becomes the error key <c>task</c>); otherwise the framework's own message, which names
    /// the limit or header involved. Server errors keep their generic text.
    /// </summary>
    private static void DescribeBadRequest(ProblemDetailsContext context)
    {
        if (context.Exception is not BadHttpRequestException badRequest)
        {
            return;
        }

        if (badRequest.InnerException is JsonException json)
        {
            var field = json.Path is { Length: > 2 } path ? path[2..] : "body";
            context.ProblemDetails.Title = "The request body is not valid JSON for this endpoint.";
            context.ProblemDetails.Detail = $"The value of '{field}' could not be read (line {json.LineNumber + 1}, byte {json.BytePositionInLine}).";
            context.ProblemDetails.Extensions["errors"] = new Dictionary<string, string[]> { [field] = ["is missing, malformed or of the wrong type"] };
            return;
        }

        context.ProblemDetails.Detail = badRequest.Message;
    }

    /// <summary>Raises (or lowers) the request-size limit for this request; call before the body is read.</summary>
    public static void SetMaxRequestBodySize(this HttpContext context, long maxBytes) =>
        context.Features.GetRequiredFeature<IHttpMaxRequestBodySizeFeature>().MaxRequestBodySize = maxBytes;

    /// <summary>
    /// Errors as problem details, the OpenAPI document at <c>/openapi/v1.json</c> and its interactive reference at
    /// <c>/scalar/</c> (<see cref="ApiReference"/>), and health:
    /// <c>/health</c> is readiness (every check, dependencies included); <c>/alive</c> is liveness (only <c>live</c> checks).
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.UseForwardedHeaders();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();

        // Probes and the API's description are open, so orchestrators and tools need no key.
        app.MapOpenApi().AllowAnonymous();
        app.MapApiReference($"ModelPlatform {app.Environment.ApplicationName.Replace("ModelPlatform.", "", StringComparison.Ordinal).ToLowerInvariant()} API");
        app.MapHealthChecks(HealthEndpointPath).AllowAnonymous();
        app.MapHealthChecks(AlivenessEndpointPath, new HealthCheckOptions
        {
            Predicate = registration => registration.Tags.Contains("live"),
        }).AllowAnonymous();
        return app;
    }
}

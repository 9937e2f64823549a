using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ModelPlatform.Contracts;

namespace ModelPlatform.Security.Tests;

/// <summary>
/// Every endpoint of every service, read from the running app's endpoint data sources, refuses a caller without a key
/// (401) and a caller whose key lacks the endpoint's roles (403). A new route without a role policy fails here.
/// </summary>
public sealed class EveryEndpointTests
{
    /// <summary>The only routes open to all: probes and the OpenAPI document (and, under <see cref="ApiReference.Path"/>, the page that renders it).</summary>
    private static readonly string[] OpenRoutes = ["/health", "/alive", "/openapi/{documentName}.json", "/v2/health/live", "/v2/health/ready"];

    private static readonly string[] AllRoles = [.. PlatformRoles.UserRoles, .. PlatformRoles.ServiceRoles];

    public static TheoryData<string> Services => ["identity", "feature", "training", "registry", "inference"];

    [Theory]
    [MemberData(nameof(Services))]
    public async Task EveryEndpointRefusesCallersWithoutAKeyOrWithoutItsRole(string service)
    {
        // Arrange: the service as built for production, and every endpoint it maps.
        using var host = Host(service);
        using var client = host.CreateClient();
        var endpoints = host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();
        Assert.True(endpoints.Count >= 6, $"{service} maps only {endpoints.Count} endpoints; the enumeration missed some.");
        var problems = new List<string>();

        foreach (var endpoint in endpoints)
        {
            var pattern = "/" + endpoint.RoutePattern.RawText!.TrimStart('/');
            if (endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null)
            {
                var rendersTheDocument = pattern.StartsWith(ApiReference.Path + "/", StringComparison.Ordinal)
                    && endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods is ["GET"] or ["GET", "HEAD"] or ["HEAD", "GET"];
                if (!OpenRoutes.Contains(pattern) && !rendersTheDocument)
                {
                    problems.Add($"{pattern} allows anonymous callers, and it is neither a probe nor the OpenAPI document or its reference page.");
                }

                continue;
            }

            // Each [Authorize] on the way (group, then endpoint) must hold, so the roles that pass are those all of them allow.
            var allowed = endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>()
                .Where(data => data.Roles is not null)
                .Select(data => data.Roles!.Split(',').ToHashSet())
                .Aggregate((HashSet<string>?)null, (both, next) => both is null ? next : [.. both.Intersect(next)]);
            if (allowed is null || allowed.Count == 0)
            {
                problems.Add($"{pattern} names no role: add RequireRoles(...).");
                continue;
            }

            var path = SamplePath(endpoint.RoutePattern);
            foreach (var method in endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
            {
                // Act and assert: without a key, then with every role but the ones this endpoint allows.
                using var anonymous = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
                if (anonymous.StatusCode != HttpStatusCode.Unauthorized || !await SaysWhyAsync(anonymous, path))
                {
                    problems.Add($"{method} {path} answered an anonymous call with {(int)anonymous.StatusCode}: {await anonymous.Content.ReadAsStringAsync()}");
                }

                var wrongRoles = AllRoles.Except(allowed).ToList();
                using var request = new HttpRequestMessage(new HttpMethod(method), path);
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", RoleKeys.For(wrongRoles));
                using var wrongRole = await client.SendAsync(request);
                if (wrongRole.StatusCode != HttpStatusCode.Forbidden || !await SaysWhyAsync(wrongRole, path))
                {
                    problems.Add($"{method} {path} answered roles {string.Join(',', wrongRoles)} with {(int)wrongRole.StatusCode}: "
                        + await wrongRole.Content.ReadAsStringAsync());
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public async Task AnUnknownKeyIsRefusedAsUnknownAndAMissingRoleIsNamed()
    {
        using var host = Host("registry");
        using var client = host.CreateClient();

        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "mpk_not-a-key");
        using var unknown = await client.GetAsync("/models");
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", RoleKeys.For(PlatformRoles.Reader));
        using var reader = await client.PutAsync("/models/iris/aliases/production", null);

        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.Contains("invalid_token", unknown.Headers.WwwAuthenticate.ToString());
        Assert.Contains("not known", (await ProblemAsync(unknown)).GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, reader.StatusCode);
        Assert.Contains("one of deployer", (await ProblemAsync(reader)).GetProperty("detail").GetString());
    }

    private static IServiceHost Host(string service) => service switch
    {
        "identity" => new ServiceHost<Identity.ApiKeysOptions>(service),
        "feature" => new ServiceHost<Feature.FeatureOptions>(service),
        "training" => new ServiceHost<Training.TrainingOptions>(service),
        "registry" => new ServiceHost<Registry.RegistryOptions>(service),
        "inference" => new ServiceHost<Inference.InferenceOptions>(service),
        _ => throw new ArgumentOutOfRangeException(nameof(service)),
    };

    /// <summary>A path that matches the pattern: a number for int parameters, a GUID for guid ones, a name otherwise.</summary>
    internal static string SamplePath(RoutePattern pattern) => "/" + string.Join('/', pattern.PathSegments.Select(segment =>
        string.Concat(segment.Parts.Select(part => part switch
        {
            RoutePatternLiteralPart literal => literal.Content,
            RoutePatternSeparatorPart separator => separator.Content,
            RoutePatternParameterPart parameter when parameter.ParameterPolicies.Any(policy => policy.Content == "int") => "1",
            RoutePatternParameterPart parameter when parameter.ParameterPolicies.Any(policy => policy.Content == "guid") => Guid.NewGuid().ToString(),
            RoutePatternParameterPart => "sample",
            _ => throw new NotSupportedException(part.ToString()),
        }))));

    /// <summary>A refusal says why: as problem details, or as <c>{"error"}</c> on Open Inference Protocol routes.</summary>
    private static async Task<bool> SaysWhyAsync(HttpResponseMessage response, string path)
    {
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return new PathString(path).StartsWithSegments("/v2")
            ? body.TryGetProperty("error", out var error) && error.GetString() is { Length: > 0 }
            : response.Content.Headers.ContentType?.MediaType == "application/problem+json"
                && body.GetProperty("status").GetInt32() == (int)response.StatusCode
                && body.GetProperty("detail").GetString() is { Length: > 0 };
    }

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
}

using System.Net;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ModelPlatform.Security.Tests;

/// <summary>
/// The console, as built for production: every page but sign-in (and the not-found and error pages) needs a signed-in
/// person, and sends anyone else to sign in; the only other open routes are probes, the OpenAPI document and its
/// reference, and the site's own static files.
/// </summary>
public sealed class ConsoleEndpointTests
{
    private static readonly string[] OpenPages = ["/sign-in", "/not-found", "/error"];

    [Fact]
    public async Task EveryPageButSignInRefusesAnonymousCallers()
    {
        using var host = new ServiceHost<Console.ConsoleOptions>("console");
        using var client = host.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, BaseAddress = new("https://localhost") });
        var endpoints = host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();
        var pages = endpoints.Where(endpoint => endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Components.RouteAttribute>() is not null
            || endpoint.Metadata.Any(metadata => metadata.GetType().Name == "ComponentTypeMetadata")).ToList();
        Assert.True(pages.Count >= 6, $"The console maps only {pages.Count} pages; the enumeration missed some.");
        var problems = new List<string>();

        foreach (var endpoint in endpoints)
        {
            var pattern = "/" + endpoint.RoutePattern.RawText!.TrimStart('/');
            var methods = endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"];
            if (endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null)
            {
                var staticFile = methods.All(method => method is "GET" or "HEAD")
                    && Path.HasExtension(pattern) && !pattern.Contains('{', StringComparison.Ordinal);
                // Signing out needs no session (and takes a form with its antiforgery token).
                var open = OpenPages.Contains(pattern) || staticFile || pattern == "/sign-out" || IsOpenServiceRoute(pattern);
                if (!open)
                {
                    problems.Add($"{pattern} allows anonymous callers.");
                }

                continue;
            }

            // Pages and the interactive components' hub: both behind the sign-in.
            var path = EveryEndpointTests.SamplePath(endpoint.RoutePattern);
            using var anonymous = await client.SendAsync(new HttpRequestMessage(new HttpMethod(methods[0]), path));
            // A page sends the browser to sign in; the hub, which scripts call, says 401.
            var refused = anonymous.StatusCode == HttpStatusCode.Unauthorized
                || (anonymous.StatusCode == HttpStatusCode.Redirect && anonymous.Headers.Location?.AbsolutePath == "/sign-in");
            if (!refused)
            {
                problems.Add($"{methods[0]} {path} answered an anonymous caller with {(int)anonymous.StatusCode} {anonymous.Headers.Location}.");
            }
        }

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    // The routes every service opens: probes, the OpenAPI document and its reference page.
    private static bool IsOpenServiceRoute(string pattern) =>
        pattern is "/health" or "/alive" or "/openapi/{documentName}.json" || pattern.StartsWith(ApiReference.Path + "/", StringComparison.Ordinal);
}

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.Routing;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Each service's API reference: its OpenAPI document at <c>/openapi/v1.json</c> says how callers authenticate, and an
/// interactive reference of it (Scalar, served from the package's own files: no CDN) is at <c>/scalar/</c>, with requests
/// sent to the service it was opened from, directly or through the gateway (<c>/registry/scalar/</c>).
/// </summary>
public static class ApiReference
{
    /// <summary>The name of the API key scheme in the OpenAPI documents.</summary>
    public const string SecuritySchemeName = "ApiKey";

    /// <summary>The interactive reference's path.</summary>
    public const string Path = "/scalar";

    /// <summary>Declares <c>Authorization: Bearer &lt;key&gt;</c> as the way every operation is called.</summary>
    public static OpenApiOptions AddApiKeySecurity(this OpenApiOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[SecuritySchemeName] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                BearerFormat = "API key",
                Description = "An API key from the identity service (POST /api-keys), sent as 'Authorization: Bearer <key>'. "
                    + "Each route names the roles it needs; the probes and this document need none.",
            };
            document.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SecuritySchemeName, document)] = [] }];
            return Task.CompletedTask;
        });
        return options;
    }

    /// <summary>Maps the interactive reference, open to all as the document it renders is.</summary>
    public static IEndpointConventionBuilder MapApiReference(this IEndpointRouteBuilder app, string title) =>
        app.MapScalarApiReference(Path, options => options
                .WithTitle(title)
                // Requests go where the page was opened, so "try it" works behind the gateway's prefix too.
                .WithDynamicBaseServerUrl()
                .AddPreferredSecuritySchemes(SecuritySchemeName))
            .AllowAnonymous();
}

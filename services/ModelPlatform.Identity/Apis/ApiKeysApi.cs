using Microsoft.AspNetCore.Http.HttpResults;
using ModelPlatform.Contracts;
using ModelPlatform.Identity.Keys;
using ModelPlatform.Storage;

namespace ModelPlatform.Identity.Apis;

public static class ApiKeysApi
{
    public const int MaxNameLength = 128;

    public static IEndpointRouteBuilder MapApiKeysApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api-keys").WithTags("API keys");
        var admin = api.MapGroup("").RequireRoles(PlatformRoles.Admin);

        admin.MapPost("/", CreateKey)
            .WithName("CreateApiKey")
            .WithSummary("Create an API key with a name, roles and an optional expiry; the answer is the only time its secret is shown");
        admin.MapGet("/", ListKeys)
            .WithName("ListApiKeys")
            .WithSummary("List API keys, without secrets, with when each was last used");
        admin.MapGet("/{id}", GetKey)
            .WithName("GetApiKey")
            .WithSummary("Get one API key, without its secret");
        admin.MapDelete("/{id}", RevokeKey)
            .WithName("RevokeApiKey")
            .WithSummary("Revoke an API key; every replica of every service refuses it within the key cache period");
        api.MapPost("/introspect", Introspect)
            .WithName("IntrospectApiKey")
            .WithSummary("Say who holds a presented key and with which roles (for the platform's services)")
            .RequireRoles(PlatformRoles.Service);

        return app;
    }

    public static async Task<Results<Created<CreatedApiKey>, ValidationProblem>> CreateKey(
        CreateApiKeyRequest request, ApiKeyStore store, TimeProvider clock, HttpContext context, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Length > MaxNameLength)
        {
            errors["name"] = [$"must be 1 to {MaxNameLength} characters"];
        }

        if (request.Roles is not { Count: > 0 } roles)
        {
            errors["roles"] = [$"must name at least one of {string.Join(", ", PlatformRoles.UserRoles)}"];
        }
        else if (roles.Where(role => !PlatformRoles.UserRoles.Contains(role)).ToList() is { Count: > 0 } unknown)
        {
            errors["roles"] = [$"'{string.Join("', '", unknown)}' is not a role; the roles are {string.Join(", ", PlatformRoles.UserRoles)}"];
        }

        if (request.ExpiresAt <= clock.GetUtcNow())
        {
            errors["expiresAt"] = ["must be in the future"];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var created = await store.CreateAsync(request, AuditActor.From(context), cancellationToken);
        return TypedResults.Created($"/api-keys/{created.Info.Id}", created);
    }

    public static async Task<Ok<IReadOnlyList<ApiKeyInfo>>> ListKeys(ApiKeyStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(await store.ListAsync(cancellationToken));

    public static async Task<Results<Ok<ApiKeyInfo>, NotFound>> GetKey(string id, ApiKeyStore store, CancellationToken cancellationToken) =>
        await store.GetAsync(id, cancellationToken) is { } key ? TypedResults.Ok(key) : TypedResults.NotFound();

    public static async Task<Results<Ok<ApiKeyInfo>, NotFound>> RevokeKey(
        string id, ApiKeyStore store, HttpContext context, CancellationToken cancellationToken) =>
        await store.RevokeAsync(id, AuditActor.From(context), cancellationToken) is { } key ? TypedResults.Ok(key) : TypedResults.NotFound();

    public static async Task<Ok<ApiKeyIntrospection>> Introspect(
        ApiKeyIntrospectionRequest request, ApiKeyStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(await store.IntrospectAsync(request.Key ?? "", cancellationToken));
}

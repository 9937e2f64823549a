using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using ModelPlatform.Contracts;
using ModelPlatform.Messaging;
using ModelPlatform.ML;
using ModelPlatform.Registry.Models;

namespace ModelPlatform.Registry.Apis;

/// <summary>Where an alias should send traffic: <c>{"version": 3}</c>, optionally with a canary share and a shadow.</summary>
public sealed record SetAliasRequest(int Version, CanaryRoute? Canary = null, int? Shadow = null);

public static class ModelsApi
{
    public static IEndpointRouteBuilder MapModelsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/models").WithTags("Models");

        api.MapGet("/", ListModels).WithName("ListModels").WithSummary("List registered models with their aliases");
        api.MapGet("/{name}", GetModel).WithName("GetModel").WithSummary("Get a model and its versions");
        api.MapPost("/{name}/versions", RegisterVersion)
            .WithName("RegisterModelVersion")
            .WithSummary("Register an immutable version: multipart form with 'metadata' (JSON) and 'artifact' (an ML.NET model zip, or an ensemble's)")
            .DisableAntiforgery();
        api.MapGet("/{name}/versions/{version:int}", GetVersion).WithName("GetModelVersion").WithSummary("Get a version's signature, metrics and lineage");
        api.MapGet("/{name}/versions/{version:int}/artifact", GetArtifact)
            .WithName("GetModelArtifact")
            .WithSummary("Download a version's artifact; the X-Checksum-Sha256 header carries its SHA-256");
        api.MapGet("/{name}/aliases/{alias}", GetAlias).WithName("GetModelAlias").WithSummary("Resolve an alias to its version, canary and shadow");
        api.MapPut("/{name}/aliases/{alias}", SetAlias)
            .WithName("SetModelAlias")
            .WithSummary("Point an alias (such as 'production') at a version, optionally with a canary share of traffic and a shadow version; "
                + "promotion and rollback alike");

        return app;
    }

    public static async Task<Ok<IReadOnlyList<ModelInfo>>> ListModels(ModelStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(await store.ListAsync(null, cancellationToken));

    public static async Task<Results<Ok<ModelDetails>, NotFound<ProblemDetails>>> GetModel(string name, ModelStore store, CancellationToken cancellationToken)
    {
        var model = (await store.ListAsync(name, cancellationToken)).SingleOrDefault();
        return model is null
            ? ProblemResults.NotFound($"There is no model '{name}'.")
            : TypedResults.Ok(new ModelDetails(model, await store.GetVersionsAsync(name, cancellationToken)));
    }

    public static async Task<Results<Created<ModelVersionInfo>, Ok<ModelVersionInfo>, ValidationProblem>> RegisterVersion(
        string name, HttpContext context, ModelStore store, IEventBus eventBus, IOptions<RegistryOptions> options, CancellationToken cancellationToken)
    {
        if (ResourceNames.NameError(name) is { } nameError)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["name"] = [nameError] });
        }

        var maxBytes = options.Value.MaxArtifactBytes;
        context.SetMaxRequestBodySize(maxBytes);
        if (!context.Request.HasFormContentType)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["body"] = ["must be multipart/form-data with 'metadata' and 'artifact' parts"],
            });
        }

        var form = await context.Request.ReadFormAsync(new FormOptions { MultipartBodyLengthLimit = maxBytes }, cancellationToken);
        var (request, errors) = ReadMetadata(form["metadata"]);
        var artifactFile = form.Files.GetFile("artifact");
        if (artifactFile is null || artifactFile.Length == 0)
        {
            errors["artifact"] = ["is required: the ML.NET model zip, or an ensemble's"];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var artifact = new byte[artifactFile!.Length];
        await using (var stream = artifactFile.OpenReadStream())
        {
            await stream.ReadExactlyAsync(artifact, cancellationToken);
        }

        // A version that does not load, or does not fit its signature, would fail every request routed to it: refuse it here.
        try
        {
            ModelPredictor.Load(new MemoryStream(artifact, writable: false), request!.Signature);
        }
        catch (InvalidDataException ex)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["artifact"] = [ex.Message] });
        }

        var (version, created) = await store.RegisterAsync(name, request!, artifact, cancellationToken);
        if (!created)
        {
            return TypedResults.Ok(version);
        }

        await eventBus.PublishAsync(
            new ModelVersionRegistered(name, version.Version, version.Sha256, request!.Lineage.TrainingJobId), cancellationToken: cancellationToken);
        return TypedResults.Created($"/models/{name}/versions/{version.Version}", version);
    }

    public static async Task<Results<Ok<ModelVersionInfo>, NotFound<ProblemDetails>>> GetVersion(
        string name, int version, ModelStore store, CancellationToken cancellationToken)
    {
        var info = await store.GetVersionAsync(name, version, cancellationToken);
        return info is null ? ProblemResults.NotFound($"Model '{name}' has no version {version}.") : TypedResults.Ok(info);
    }

    public static async Task<Results<PhysicalFileHttpResult, NotFound<ProblemDetails>>> GetArtifact(
        string name, int version, ModelStore store, HttpResponse response, CancellationToken cancellationToken)
    {
        var info = await store.GetVersionAsync(name, version, cancellationToken);
        if (info is null)
        {
            return ProblemResults.NotFound($"Model '{name}' has no version {version}.");
        }

        response.Headers["X-Checksum-Sha256"] = info.Sha256;
        return TypedResults.PhysicalFile(
            store.ArtifactPath(info.Sha256), "application/zip", $"{name}-v{version}.zip",
            entityTag: new Microsoft.Net.Http.Headers.EntityTagHeaderValue($"\"{info.Sha256}\""));
    }

    public static async Task<Results<Ok<AliasInfo>, NotFound<ProblemDetails>>> GetAlias(
        string name, string alias, ModelStore store, CancellationToken cancellationToken)
    {
        var route = await store.GetAliasAsync(name, alias, cancellationToken);
        return route is null
            ? ProblemResults.NotFound($"Model '{name}' has no alias '{alias}'.")
            : TypedResults.Ok(new AliasInfo(name, alias, route.Version, null, route.Canary, route.Shadow));
    }

    public static async Task<Results<Ok<AliasInfo>, NotFound<ProblemDetails>, ValidationProblem>> SetAlias(
        string name, string alias, SetAliasRequest request, ModelStore store, IEventBus eventBus, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (ResourceNames.AliasError(alias) is { } aliasError)
        {
            errors["alias"] = [aliasError];
        }

        if (request.Canary is { } canary)
        {
            if (canary.Percent is < 1 or > 99)
            {
                errors["canary.percent"] = [$"must be from 1 to 99 (the share of traffic the canary gets), got {canary.Percent}"];
            }

            if (canary.Version == request.Version)
            {
                errors["canary.version"] = ["must differ from version"];
            }
        }

        if (request.Shadow is { } shadow && (shadow == request.Version || shadow == request.Canary?.Version))
        {
            errors["shadow"] = ["must differ from version and canary.version: a shadow gets a copy of traffic it does not answer"];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var route = new AliasRoute(request.Version, request.Canary, request.Shadow);
        foreach (var version in route.Versions())
        {
            if (await store.GetVersionAsync(name, version, cancellationToken) is null)
            {
                return ProblemResults.NotFound($"Model '{name}' has no version {version}.");
            }
        }

        var previous = await store.SetAliasAsync(name, alias, route, cancellationToken);
        var changed = new AliasInfo(name, alias, route.Version, previous, route.Canary, route.Shadow);
        await eventBus.PublishAsync(new AliasChanged(changed), cancellationToken: cancellationToken);
        return TypedResults.Ok(changed);
    }

    private static (RegisterModelVersionRequest? Request, Dictionary<string, string[]> Errors) ReadMetadata(string? metadata)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(metadata))
        {
            errors["metadata"] = ["is required: JSON with signature, metrics and lineage"];
            return (null, errors);
        }

        RegisterModelVersionRequest? request = null;
        try
        {
            request = JsonSerializer.Deserialize<RegisterModelVersionRequest>(metadata, JsonSerializerOptions.Web);
        }
        catch (JsonException ex)
        {
            errors["metadata"] = [$"is not valid JSON for a model version: {ex.Message}"];
            return (null, errors);
        }

        if (request?.Signature is not { Inputs.Count: > 0, Label: not null })
        {
            errors["metadata.signature"] = ["is required, with at least one input and a label"];
        }
        else if (request.Signature.Task != MLTask.Regression && request.Signature.Classes is not { Count: >= 2 })
        {
            errors["metadata.signature.classes"] = ["a classifier needs at least two classes"];
        }

        if (request?.Lineage is null)
        {
            errors["metadata.lineage"] = ["is required: the dataset and version the model was trained on"];
        }

        if (request is not null && request.Metrics is null)
        {
            request = request with { Metrics = new Dictionary<string, double>() };
        }

        return (request, errors);
    }

}

public sealed record ModelDetails(ModelInfo Model, IReadOnlyList<ModelVersionInfo> Versions);

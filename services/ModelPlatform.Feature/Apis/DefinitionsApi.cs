using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using ModelPlatform.Contracts;
using ModelPlatform.Feature.Datasets;
using ModelPlatform.Feature.Definitions;
using ModelPlatform.Feature.Offline;
using ModelPlatform.Features;
using ModelPlatform.Messaging;
using ModelPlatform.Storage;

namespace ModelPlatform.Feature.Apis;

/// <summary>
/// Entities, feature views and feature services: listed, read by version, and changed by putting a new version. A change
/// that breaks a definition depending on it is refused (409) with the dependents named.
/// </summary>
public static class DefinitionsApi
{
    public static IEndpointRouteBuilder MapDefinitionsApi(this IEndpointRouteBuilder app)
    {
        Map(app, DefinitionKind<EntityDefinition>.Entity, "Entities", "an entity (a named join key, or several)", PutEntity);
        Map(app, DefinitionKind<FeatureViewDefinition>.FeatureView, "Feature views", "a feature view (features about an entity, from a dataset)", PutView);
        Map(app, DefinitionKind<FeatureServiceDefinition>.FeatureService, "Feature services", "a feature service (the features a model uses)", PutService);
        app.MapPost("/feature-services/{name}/training-sets", BuildTrainingSet)
            .WithTags("Feature services")
            .WithName("BuildTrainingSet")
            .WithSummary("Join the service's features onto a dataset of entity rows as of each row's time, into a new dataset version")
            .RequireRoles(PlatformRoles.Scientist, PlatformRoles.TrainingService);
        return app;
    }

    private static void Map<T>(IEndpointRouteBuilder app, DefinitionKind<T> kind, string tag, string what, Delegate put)
    {
        var api = app.MapGroup($"/{kind.Path}").WithTags(tag);
        var reads = api.MapGroup("").RequireRoles(PlatformRoles.Reader, PlatformRoles.TrainingService, PlatformRoles.InferenceService);
        api.MapPut("/{name}", put)
            .WithName($"Put{tag.Replace(" ", "", StringComparison.Ordinal)}")
            .WithSummary($"Create or change {what}: a new version, unless it is the same as the latest")
            .RequireRoles(PlatformRoles.Scientist);
        reads.MapGet("/", (DefinitionStore store, CancellationToken cancellationToken) => List(kind, store, cancellationToken))
            .WithSummary($"List the latest version of every one of the {tag.ToLowerInvariant()}");
        reads.MapGet("/{name}", (string name, int? version, DefinitionStore store, CancellationToken cancellationToken) =>
                Get(kind, name, version, store, cancellationToken))
            .WithSummary($"Read {what}: the latest version, or ?version=N");
        reads.MapGet("/{name}/versions", (string name, DefinitionStore store, CancellationToken cancellationToken) =>
                Versions(kind, name, store, cancellationToken))
            .WithSummary("List every version, oldest first");
    }

    public static Task<Results<
            Created<DefinitionVersion<EntityDefinition>>, Ok<DefinitionVersion<EntityDefinition>>, ValidationProblem, Conflict<ProblemDetails>,
            ProblemHttpResult>>
        PutEntity(string name, EntityDefinition entity, DefinitionStore store, HttpContext context, CancellationToken cancellationToken) =>
        PutAsync(
            DefinitionKind<EntityDefinition>.Entity, name, entity.Name, () => Task.FromResult(DefinitionChecks.PrepareEntity(entity with { Name = name })),
            store, context, cancellationToken);

    public static Task<Results<
            Created<DefinitionVersion<FeatureViewDefinition>>, Ok<DefinitionVersion<FeatureViewDefinition>>, ValidationProblem, Conflict<ProblemDetails>,
            ProblemHttpResult>>
        PutView(
            string name, FeatureViewDefinition view, DefinitionStore store, DatasetStore datasets, RegistryClient registry, HttpContext context,
            CancellationToken cancellationToken) =>
        PutAsync(
            DefinitionKind<FeatureViewDefinition>.FeatureView, name, view.Name,
            async () => DefinitionChecks.PrepareView(
                view with { Name = name },
                ResourceNames.NameError(view.Dataset) is null ? await datasets.GetVersionAsync(view.Dataset, null, cancellationToken) : null,
                await registry.GetVersionsUsingFeaturesAsync(cancellationToken)),
            store, context, cancellationToken);

    public static Task<Results<
            Created<DefinitionVersion<FeatureServiceDefinition>>, Ok<DefinitionVersion<FeatureServiceDefinition>>, ValidationProblem, Conflict<ProblemDetails>,
            ProblemHttpResult>>
        PutService(
            string name, FeatureServiceDefinition service, DefinitionStore store, RegistryClient registry, HttpContext context,
            CancellationToken cancellationToken) =>
        PutAsync(
            DefinitionKind<FeatureServiceDefinition>.FeatureService, name, service.Name,
            async () => DefinitionChecks.PrepareService(service with { Name = name }, await registry.GetVersionsUsingFeaturesAsync(cancellationToken)),
            store, context, cancellationToken);

    /// <summary>Stores what <paramref name="prepare"/> makes as the next version of the definition the path names.</summary>
    private static async Task<Results<Created<DefinitionVersion<T>>, Ok<DefinitionVersion<T>>, ValidationProblem, Conflict<ProblemDetails>, ProblemHttpResult>>
        PutAsync<T>(
        DefinitionKind<T> kind,
        string name,
        string? nameInBody,
        Func<Task<Func<DefinitionStore.DefinitionReader, Task<(T, DefinitionProblems)>>>> prepare,
        DefinitionStore store,
        HttpContext context,
        CancellationToken cancellationToken)
    {
        if (NameProblems(name, nameInBody ?? name) is { } nameProblems)
        {
            return TypedResults.ValidationProblem(nameProblems);
        }

        Func<DefinitionStore.DefinitionReader, Task<(T, DefinitionProblems)>> prepared;
        try
        {
            prepared = await prepare();
        }
        catch (HttpRequestException)
        {
            // Without the registry's answer the change might break a model: refuse it rather than guess.
            return TypedResults.Problem(
                "The registry could not be asked which models use these features, so the change was not made. Try again shortly.",
                statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        return Answer(kind, name, await store.PutAsync(kind, name, prepared, AuditActor.From(context), cancellationToken));
    }

    public static async Task<Results<Created<DatasetVersionInfo>, ValidationProblem>> BuildTrainingSet(
        string name, TrainingSetRequest request, TrainingSets trainingSets, OutboxRelay relay, HttpContext context,
        CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (ResourceNames.NameError(request.EntityDataset) is { } datasetError)
        {
            errors["entityDataset"] = [datasetError];
        }

        if (string.IsNullOrWhiteSpace(request.TimestampField))
        {
            errors["timestampField"] = ["must name the entity rows' timestamp column"];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        try
        {
            var version = await trainingSets.BuildAsync(name, request, AuditActor.From(context), cancellationToken);
            relay.Wake();
            return TypedResults.Created($"/datasets/{version.Name}/versions/{version.Version}", version);
        }
        catch (FeatureRequestException ex)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { [ex.Field] = [ex.Message] }, detail: ex.Message);
        }
    }

    private static async Task<Ok<IReadOnlyList<DefinitionVersion<T>>>> List<T>(
        DefinitionKind<T> kind, DefinitionStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(await store.ListAsync(kind, cancellationToken));

    private static async Task<Results<Ok<DefinitionVersion<T>>, NotFound<ProblemDetails>>> Get<T>(
        DefinitionKind<T> kind, string name, int? version, DefinitionStore store, CancellationToken cancellationToken) =>
        await store.GetAsync(kind, name, version, cancellationToken) is { } found
            ? TypedResults.Ok(found)
            : ProblemResults.NotFound(version is null ? $"There is no {kind.Path} '{name}'." : $"{kind.Path} '{name}' has no version {version}.");

    private static async Task<Results<Ok<IReadOnlyList<DefinitionVersion<T>>>, NotFound<ProblemDetails>>> Versions<T>(
        DefinitionKind<T> kind, string name, DefinitionStore store, CancellationToken cancellationToken) =>
        await store.GetVersionsAsync(kind, name, cancellationToken) is { Count: > 0 } versions
            ? TypedResults.Ok(versions)
            : ProblemResults.NotFound($"There is no {kind.Path} '{name}'.");

    private static Dictionary<string, string[]>? NameProblems(string path, string body) =>
        ResourceNames.NameError(path) is { } error ? new() { ["name"] = [error] }
        : body != path ? new() { ["name"] = [$"'{body}' differs from the name in the path, '{path}'"] }
        : null;

    private static Results<Created<DefinitionVersion<T>>, Ok<DefinitionVersion<T>>, ValidationProblem, Conflict<ProblemDetails>, ProblemHttpResult> Answer<T>(
        DefinitionKind<T> kind, string name, PutResult<T> result)
    {
        if (result.Problems.Invalid.Count > 0)
        {
            return TypedResults.ValidationProblem(result.Problems.Invalid);
        }

        if (result.Problems.Breaks.Count > 0)
        {
            return TypedResults.Conflict(new ProblemDetails
            {
                Title = "The change would break definitions that depend on this one.",
                Status = StatusCodes.Status409Conflict,
                Detail = string.Join(" ", result.Problems.Breaks),
                Extensions = { ["breaks"] = result.Problems.Breaks },
            });
        }

        return result.Changed
            ? TypedResults.Created($"/{kind.Path}/{name}?version={result.Stored!.Version}", result.Stored)
            : TypedResults.Ok(result.Stored!);
    }
}

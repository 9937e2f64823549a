using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using ModelPlatform.Contracts;
using ModelPlatform.Feature.Definitions;
using ModelPlatform.Feature.Offline;
using ModelPlatform.Feature.Online;
using ModelPlatform.Features;
using ModelPlatform.Features.Online;
using ModelPlatform.Storage;

namespace ModelPlatform.Feature.Apis;

/// <summary>The features to read for which entities: <c>view:feature</c> references or a feature service, and each join key's values in order.</summary>
public sealed record OnlineFeaturesRequest(
    Dictionary<string, List<JsonElement>> Entities, IReadOnlyList<string>? Features = null, string? FeatureService = null);

/// <summary>The online store: materialization into Redis, and reads by entity key with a status per value.</summary>
public static class OnlineApi
{
    /// <summary>The most entities one read may ask for.</summary>
    public const int MaxEntities = 10_000;

    /// <summary>The most runs one list answers.</summary>
    public const int MaxRuns = 1000;

    public static IEndpointRouteBuilder MapOnlineApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/feature-views/{name}/materialize", Materialize)
            .WithTags("Feature views")
            .WithName("Materialize")
            .WithSummary("Load the latest value per entity in an event-time window (by default since the last run) into the online store")
            .RequireRoles(PlatformRoles.Scientist);
        app.MapGet("/feature-views/{name}/materializations", ListMaterializations)
            .WithTags("Feature views")
            .WithName("ListMaterializations")
            .WithSummary("List a view's materialization runs, newest first: window, rows, seconds, and whether its schedule ran it")
            .RequireRoles(PlatformRoles.Reader, PlatformRoles.TrainingService, PlatformRoles.InferenceService);
        app.MapPost("/online-features", Read)
            .WithTags("Online features")
            .WithName("GetOnlineFeatures")
            .WithSummary("Read features by entity key: per value, present, null, not_found or outside_max_age (older than its view's TTL)")
            .RequireRoles(PlatformRoles.Reader, PlatformRoles.Predictor, PlatformRoles.InferenceService);
        return app;
    }

    public static async Task<Results<Ok<MaterializationRun>, ValidationProblem>> Materialize(
        string name, MaterializeRequest? request, Materialization materialization, HttpContext context, CancellationToken cancellationToken)
    {
        try
        {
            return TypedResults.Ok(await materialization.RunAsync(name, request ?? new(), AuditActor.From(context), scheduled: false, cancellationToken));
        }
        catch (FeatureRequestException ex)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { [ex.Field] = [ex.Message] }, detail: ex.Message);
        }
    }

    public static async Task<Results<Ok<IReadOnlyList<MaterializationRun>>, NotFound<ProblemDetails>, ValidationProblem>> ListMaterializations(
        string name, Materialization materialization, DefinitionStore definitions, CancellationToken cancellationToken, int limit = 100)
    {
        if (limit is < 1 or > MaxRuns)
        {
            return Invalid("limit", $"must be between 1 and {MaxRuns}");
        }

        if (await definitions.GetAsync(DefinitionKind<FeatureViewDefinition>.FeatureView, name, null, cancellationToken) is null)
        {
            return ProblemResults.NotFound($"There is no feature view '{name}'.");
        }

        return TypedResults.Ok(await materialization.ListAsync(name, limit, cancellationToken));
    }

    public static async Task<Results<BufferedJsonResult<OnlineFeatureTable>, ValidationProblem>> Read(
        OnlineFeaturesRequest request, DefinitionStore definitions, OnlineStore online, CancellationToken cancellationToken)
    {
        var references = request.Features;
        if (request.FeatureService is { } service)
        {
            var found = await definitions.GetServingAsync(DefinitionKind<FeatureServiceDefinition>.FeatureService, service, cancellationToken);
            references = found?.Definition.Features;
            if (references is null)
            {
                return Invalid("featureService", $"There is no feature service '{service}'.");
            }
        }

        if (references is not { Count: > 0 })
        {
            return Invalid("features", "name at least one view:feature, or a featureService");
        }

        IReadOnlyList<OnlineFeatureRequest> features;
        try
        {
            features = await OnlineFeatureLookup.ResolveAsync(
                references,
                async view => (await definitions.GetServingAsync(DefinitionKind<FeatureViewDefinition>.FeatureView, view, cancellationToken))?.Definition,
                async entity => (await definitions.GetServingAsync(DefinitionKind<EntityDefinition>.Entity, entity, cancellationToken))?.Definition);
        }
        catch (FeatureRequestException ex)
        {
            return Invalid(ex.Field, ex.Message);
        }

        var counts = request.Entities?.Values.Select(values => values.Count).Distinct().ToList() ?? [];
        if (counts is not [var count and > 0])
        {
            return Invalid("entities", "give each join key a list of values, all of one length");
        }

        if (count > MaxEntities)
        {
            return Invalid("entities", $"at most {MaxEntities:N0} entities in one read");
        }

        var entities = Enumerable.Range(0, count)
            .Select(i => (IReadOnlyDictionary<string, object?>)request.Entities!.ToDictionary(key => key.Key, key => (object?)key.Value[i]))
            .ToList();
        try
        {
            return new BufferedJsonResult<OnlineFeatureTable>(await online.ReadAsync(features, entities, cancellationToken));
        }
        catch (ArgumentException ex)
        {
            return Invalid("entities", ex.Message);
        }
    }

    private static ValidationProblem Invalid(string field, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] }, detail: message);
}

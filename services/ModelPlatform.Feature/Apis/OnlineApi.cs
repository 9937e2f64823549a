using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
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

    public static IEndpointRouteBuilder MapOnlineApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/feature-views/{name}/materialize", Materialize)
            .WithTags("Feature views")
            .WithName("Materialize")
            .WithSummary("Load the latest value per entity in an event-time window (by default since the last run) into the online store")
            .RequireRoles(PlatformRoles.Scientist);
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
            return TypedResults.Ok(await materialization.RunAsync(name, request ?? new(), AuditActor.From(context), cancellationToken));
        }
        catch (FeatureRequestException ex)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { [ex.Field] = [ex.Message] }, detail: ex.Message);
        }
    }

    public static async Task<Results<Ok<OnlineFeatureTable>, ValidationProblem>> Read(
        OnlineFeaturesRequest request, DefinitionStore definitions, OnlineStore online, CancellationToken cancellationToken)
    {
        var references = request.Features;
        if (request.FeatureService is { } service)
        {
            var found = await definitions.GetAsync(DefinitionKind<FeatureServiceDefinition>.FeatureService, service, null, cancellationToken);
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
                async view => (await definitions.GetAsync(DefinitionKind<FeatureViewDefinition>.FeatureView, view, null, cancellationToken))?.Definition,
                async entity => (await definitions.GetAsync(DefinitionKind<EntityDefinition>.Entity, entity, null, cancellationToken))?.Definition);
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
            return TypedResults.Ok(await online.ReadAsync(features, entities, cancellationToken));
        }
        catch (ArgumentException ex)
        {
            return Invalid("entities", ex.Message);
        }
    }

    private static ValidationProblem Invalid(string field, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] }, detail: message);
}

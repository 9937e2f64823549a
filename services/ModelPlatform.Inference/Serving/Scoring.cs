using System.Diagnostics;
using ModelPlatform.Contracts;
using ModelPlatform.ML;

namespace ModelPlatform.Inference.Serving;

/// <summary>The version that answers a request, loaded, and the alias's shadow version if it has one.</summary>
public sealed record ServingTarget(ModelVersionInfo Version, ModelPredictor Predictor, int? Shadow);

/// <summary>
/// What every protocol (JSON, CSV, Open Inference Protocol) shares: which version answers, and scoring records with it,
/// through the prediction cache, with metrics and a copy for the shadow.
/// </summary>
public sealed class Scoring(ModelCatalog catalog, LoadedModels models, PredictionCache cache, ShadowTraffic shadow, InferenceMetrics metrics)
{
    public const string DefaultAlias = "production";

    /// <summary>
    /// The version that answers for <paramref name="model"/>: <paramref name="version"/> if given, else the one
    /// <paramref name="alias"/> (default <c>production</c>) routes <paramref name="routingKey"/> to. Null with the reason
    /// when there is no such model, alias or version.
    /// </summary>
    public async Task<(ServingTarget? Target, string? NotFound)> ResolveAsync(
        string model, int? version, string? alias, string? routingKey, CancellationToken cancellationToken)
    {
        int? shadowVersion = null;
        if (version is null)
        {
            var route = await catalog.ResolveAliasAsync(model, alias ?? DefaultAlias, cancellationToken);
            if (route is null)
            {
                return (null, $"Model '{model}' has no alias '{alias ?? DefaultAlias}'. Point one at a version with PUT /models/{model}/aliases/{alias ?? DefaultAlias} on the registry, or ask for a version.");
            }

            version = TrafficSplit.Choose(route, routingKey);
            shadowVersion = route.Shadow;
        }

        var info = await catalog.GetVersionAsync(model, version.Value, cancellationToken);
        if (info is null)
        {
            return (null, $"Model '{model}' has no version {version}.");
        }

        return (new ServingTarget(info, await models.GetAsync(info, cancellationToken), shadowVersion), null);
    }

    /// <summary>Scores records already read against the target's signature.</summary>
    public async Task<Prediction[]> PredictAsync(ServingTarget target, IReadOnlyList<ModelRecord> records, string protocol)
    {
        var started = Stopwatch.GetTimestamp();
        var predictions = await cache.PredictAsync(target.Version, target.Predictor, records);
        metrics.Scored(target.Version.ModelName, target.Version.Version, protocol, records.Count, Stopwatch.GetElapsedTime(started));
        if (target.Shadow is { } shadowVersion)
        {
            shadow.Send(new ShadowCopy(target.Version, shadowVersion, records, predictions));
        }

        return predictions;
    }
}

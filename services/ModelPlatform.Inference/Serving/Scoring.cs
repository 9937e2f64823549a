using System.Diagnostics;
using System.Runtime.CompilerServices;
using ModelPlatform.Contracts;
using ModelPlatform.ML;
using ModelPlatform.ML.Explanations;

namespace ModelPlatform.Inference.Serving;

/// <summary>The version that answers a request, loaded, and the alias's shadow version if it has one.</summary>
public sealed record ServingTarget(ModelVersionInfo Version, ModelPredictor Predictor, int? Shadow);

/// <summary>
/// What every protocol (JSON, CSV, Open Inference Protocol) shares: which version answers, and scoring records with it,
/// through the prediction cache, with metrics, the rows counted as the version's live traffic, a copy for the shadow, and
/// the rows offered to the version's drift sample.
/// </summary>
public sealed class Scoring(
    ModelCatalog catalog,
    LoadedModels models,
    PredictionCache cache,
    ShadowTraffic shadow,
    InputSample sample,
    InferenceMetrics metrics,
    LiveTrafficTally liveTraffic)
{
    public const string DefaultAlias = "production";

    /// <summary>
    /// The version that answers for <paramref name="model"/>: <paramref name="version"/> if given, else the one
    /// <paramref name="alias"/> (default <c>production</c>) routes <paramref name="routingKey"/> to. Null with the reason
    /// when there is no such model, alias or version. When the route, the version and its model are in memory (every
    /// request but the first), it is answered at once: no task, no state machine.
    /// </summary>
    public ValueTask<(ServingTarget? Target, string? NotFound)> ResolveAsync(
        string model, int? version, string? alias, string? routingKey, CancellationToken cancellationToken)
    {
        if (version is { } number)
        {
            return ResolveVersionAsync(model, number, null, cancellationToken);
        }

        var route = catalog.ResolveAliasAsync(model, alias ?? DefaultAlias, cancellationToken);
        return route.IsCompletedSuccessfully
            ? FromRoute(model, alias, route.Result, routingKey, cancellationToken)
            : ResolveRouteAsync(model, alias, route, routingKey, cancellationToken);
    }

    private async ValueTask<(ServingTarget? Target, string? NotFound)> ResolveRouteAsync(
        string model, string? alias, ValueTask<AliasRoute?> route, string? routingKey, CancellationToken cancellationToken) =>
        await FromRoute(model, alias, await route, routingKey, cancellationToken);

    private ValueTask<(ServingTarget? Target, string? NotFound)> FromRoute(
        string model, string? alias, AliasRoute? route, string? routingKey, CancellationToken cancellationToken)
    {
        if (route is null)
        {
            return ValueTask.FromResult<(ServingTarget?, string?)>((null, $"Model '{model}' has no alias '{alias ?? DefaultAlias}'. Point one at a version "
                + $"with PUT /models/{model}/aliases/{alias ?? DefaultAlias} on the registry, or ask for a version."));
        }

        // A main version that shadows its canary scores copies of the canary's requests only, not of its own.
        var chosen = TrafficSplit.Choose(route, routingKey);
        return ResolveVersionAsync(model, chosen, route.Shadow == chosen ? null : route.Shadow, cancellationToken);
    }

    private ValueTask<(ServingTarget? Target, string? NotFound)> ResolveVersionAsync(
        string model, int version, int? shadowVersion, CancellationToken cancellationToken)
    {
        var info = catalog.GetVersionAsync(model, version, cancellationToken);
        if (!info.IsCompletedSuccessfully)
        {
            return LoadVersionAsync(model, version, info, shadowVersion, cancellationToken);
        }

        // A ValueTask is consumed once: its result is read here and handed on, never awaited again.
        var known = info.Result;
        return known is not null && models.TryGetLoaded(known, out var predictor)
            ? ValueTask.FromResult<(ServingTarget?, string?)>((new ServingTarget(known, predictor, shadowVersion), null))
            : LoadVersionAsync(model, version, ValueTask.FromResult(known), shadowVersion, cancellationToken);
    }

    private async ValueTask<(ServingTarget? Target, string? NotFound)> LoadVersionAsync(
        string model, int version, ValueTask<ModelVersionInfo?> pending, int? shadowVersion, CancellationToken cancellationToken)
    {
        var info = await pending;
        if (info is null)
        {
            return (null, $"Model '{model}' has no version {version}.");
        }

        return (new ServingTarget(info, await models.GetAsync(info, cancellationToken), shadowVersion), null);
    }

    /// <summary>
    /// Each record's explanation by the target version (<see cref="ModelPredictor.Explain"/>), or why there can be none: a
    /// Shapley explanation measures from the version's reference row, which a version brought without one lacks.
    /// </summary>
    public (Explanation[]? Explanations, string? Problem) Explain(ServingTarget target, IReadOnlyList<ModelRecord> records)
    {
        var (version, predictor) = (target.Version, target.Predictor);
        ModelRecord reference;
        if (version.Reference is { } row)
        {
            reference = References.GetValue(version, info => ReferenceRow.ToRecord(info.Signature.Inputs, info.Reference!));
        }
        else if (predictor.ExplanationMethod == Explanation.ShapleySampling)
        {
            return (null, $"{version.ModelName} v{version.Version} has no reference row to measure its predictions from; register the model "
                + "with metadata.reference (a typical value for each input column) to have it explained");
        }
        else
        {
            // Feature contributions measure from the model's own bias, not from a row.
            reference = ModelRecord.Empty(version.Signature.Inputs.Count);
        }

        var started = Stopwatch.GetTimestamp();
        var explanations = records.Select(record => predictor.Explain(record, reference)).ToArray();
        metrics.Explained(version, predictor.ExplanationMethod, Stopwatch.GetElapsedTime(started));
        return (explanations, null);
    }

    // Each version's reference row as its model reads it, made once.
    private static readonly ConditionalWeakTable<ModelVersionInfo, ModelRecord> References = [];

    /// <summary>Scores records already read against the target's signature (at once, unless the prediction cache is asked).</summary>
    public ValueTask<Prediction[]> PredictAsync(ServingTarget target, IReadOnlyList<ModelRecord> records, string protocol)
    {
        var started = Stopwatch.GetTimestamp();
        var predictions = cache.PredictAsync(target.Version, target.Predictor, records);
        return predictions.IsCompletedSuccessfully
            ? ValueTask.FromResult(Scored(target, records, protocol, started, predictions.Result))
            : PredictCachedAsync(target, records, protocol, started, predictions);
    }

    private async ValueTask<Prediction[]> PredictCachedAsync(
        ServingTarget target, IReadOnlyList<ModelRecord> records, string protocol, long started, ValueTask<Prediction[]> predictions) =>
        Scored(target, records, protocol, started, await predictions);

    private Prediction[] Scored(ServingTarget target, IReadOnlyList<ModelRecord> records, string protocol, long started, Prediction[] predictions)
    {
        metrics.Scored(target.Version.ModelName, target.Version.Version, protocol, records.Count, Stopwatch.GetElapsedTime(started));
        liveTraffic.Scored(target.Version.ModelName, target.Version.Version, records.Count);
        sample.Offer(target.Version, records);
        if (target.Shadow is { } shadowVersion)
        {
            shadow.Send(new ShadowCopy(target.Version, shadowVersion, records, predictions));
        }

        return predictions;
    }
}

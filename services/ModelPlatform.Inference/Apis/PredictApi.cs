using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using ModelPlatform.Contracts;
using ModelPlatform.Inference.Serving;

namespace ModelPlatform.Inference.Apis;

public sealed record PredictRequest(IReadOnlyList<JsonElement>? Records);

public sealed record PredictResponse(string Model, int Version, IReadOnlyList<Prediction> Predictions);

public static class PredictApi
{
    public const string DefaultAlias = "production";

    public static IEndpointRouteBuilder MapPredictApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/models/{name}/predict", Predict)
            .WithTags("Predictions")
            .WithName("Predict")
            .WithSummary($"Score records with a model version, chosen by ?version= or ?alias= (default '{DefaultAlias}')");
        return app;
    }

    public static async Task<Results<Ok<PredictResponse>, ValidationProblem, NotFound<ProblemDetails>>> Predict(
        string name,
        PredictRequest request,
        ModelCatalog catalog,
        LoadedModels models,
        InferenceMetrics metrics,
        IOptions<InferenceOptions> options,
        CancellationToken cancellationToken,
        int? version = null,
        string? alias = null)
    {
        var errors = new Dictionary<string, string[]>();
        if (version is not null && alias is not null)
        {
            errors["version"] = ["give either version or alias, not both"];
        }

        var maxRecords = options.Value.MaxRecordsPerRequest;
        if (request.Records is not { Count: > 0 } records)
        {
            errors["records"] = ["is required: a non-empty array of objects mapping column names to values"];
        }
        else if (records.Count > maxRecords)
        {
            errors["records"] = [$"has {records.Count} records; at most {maxRecords} are allowed per request"];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var resolved = version ?? await catalog.ResolveAliasAsync(name, alias ?? DefaultAlias, cancellationToken);
        if (resolved is null)
        {
            return NotFound($"Model '{name}' has no alias '{alias ?? DefaultAlias}'. Point one at a version with PUT /models/{name}/aliases/{alias ?? DefaultAlias} on the registry, or pass ?version=.");
        }

        var info = await catalog.GetVersionAsync(name, resolved.Value, cancellationToken);
        if (info is null)
        {
            return NotFound($"Model '{name}' has no version {resolved}.");
        }

        var predictor = await models.GetAsync(info, cancellationToken);
        var started = Stopwatch.GetTimestamp();
        var outcome = predictor.Predict(request.Records!);
        if (!outcome.IsValid)
        {
            return TypedResults.ValidationProblem(
                outcome.Errors, title: $"The records do not match the signature of {name} v{info.Version}.");
        }

        metrics.Scored(name, info.Version, outcome.Predictions.Count, Stopwatch.GetElapsedTime(started));
        return TypedResults.Ok(new PredictResponse(name, info.Version, outcome.Predictions));
    }

    private static NotFound<ProblemDetails> NotFound(string detail) => TypedResults.NotFound(new ProblemDetails
    {
        Title = "Not found",
        Status = StatusCodes.Status404NotFound,
        Detail = detail,
    });
}

using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using ModelPlatform.Contracts;
using ModelPlatform.Features.Statistics;
using ModelPlatform.Inference.Protocols;
using ModelPlatform.Inference.Serving;
using StackExchange.Redis;

namespace ModelPlatform.Inference.Apis;

/// <summary>The friendly API: JSON records in and out, or a CSV file scored as a stream.</summary>
public static class PredictApi
{
    /// <summary>Requests with the same key go to the same version of an alias with a canary.</summary>
    public const string RoutingKeyHeader = "X-Routing-Key";

    /// <summary>Every answer says which version gave it.</summary>
    public const string ModelVersionHeader = "X-Model-Version";

    public static IEndpointRouteBuilder MapPredictApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/models/{name}/predict", Predict)
            .WithTags("Predictions")
            .WithName("Predict")
            .WithSummary($"Score records with a model version, chosen by ?version= or ?alias= (default '{Scoring.DefaultAlias}')")
            .WithDescription($"""
                JSON: {"{"}"records": [{"{"}"column": value, …{"}"}]{"}"} in, {"{"}model, version, predictions{"}"} out.
                A model trained from a feature service also takes {"{"}"entities": {"{"}"customer_id": [1, 2], "amount": [9.5, 3]{"}"}{"}"}: its
                features are read from the online store by the join keys, beside any request-time columns; missingFeatures says,
                per record, which were not present (the model imputes them), and ?include=features returns every value read.
                CSV (Content-Type: text/csv, a header row naming the model's columns): scored as a stream, one prediction per row
                in the same order, as CSV or, with Accept: application/x-ndjson, as JSON lines. ?explain=true (JSON, at most
                {new InferenceOptions().MaxExplainedRecords} records by default) adds each record's explanation: every input column's
                contribution to its prediction, by ML.NET's feature contributions or by Shapley values. The {ModelVersionHeader} header says
                which version answered; {RoutingKeyHeader} keeps a caller on one side of a canary split.
                """)
            .Accepts<PredictRequest>("application/json", "text/csv")
            // The JSON answer, the 400 and the 404 come from the handler's result types; the CSV answers and these problems do not.
            .Produces(StatusCodes.Status200OK, contentType: "text/csv")
            .Produces(StatusCodes.Status200OK, contentType: CsvScoring.JsonLinesContentType)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .RequireRoles(PlatformRoles.Predictor)
            .CountsLiveTraffic();
        // These reads are for readers, and for the training service: its pipelines judge a canary live by them.
        app.MapGet("/models/{name}/shadow", GetShadowComparisons)
            .WithTags("Predictions")
            .WithName("GetShadowComparisons")
            .WithSummary("How the shadow versions of a model's aliases compare with the versions that answered")
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .RequireRoles(PlatformRoles.Reader, PlatformRoles.TrainingService);
        app.MapGet("/models/{name}/versions/{version:int}/live", GetLiveTraffic)
            .WithTags("Predictions")
            .WithName("GetLiveTraffic")
            .WithSummary("What a version has answered live on every replica since it was first served: requests, errors, rows, latencies")
            .WithDescription($"""
                Cumulative figures, added up from every replica about every {new InferenceOptions().LiveTrafficFlushSeconds} s: a window is the
                difference of two readings. A request counts for the version that answered it (the {ModelVersionHeader} header), on
                every protocol; it is an error when its answer is 400 or more (records the version cannot read, a fault). The latency
                list counts requests per bucket, the i-th up to 0.1 ms × 1.25^i, the last everything above about 100 s. All zeros
                before the version answered anything.
                """)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .RequireRoles(PlatformRoles.Reader, PlatformRoles.TrainingService);
        app.MapGet("/models/{name}/versions/{version:int}/drift", GetDrift)
            .WithTags("Predictions")
            .WithName("GetServingDrift")
            .WithSummary("How the inputs a version was sent in this window (or ?window=previous) moved from its training data")
            .WithDescription("""
                A uniform sample of the rows the version scored in the window, on every replica, compared column by column with
                the dataset version it was trained on, by the feature service's tests: Kolmogorov-Smirnov or chi-square while the
                training data is small, normalised Wasserstein or Jensen-Shannon once it is large, with the PSI beside each.
                """)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .RequireRoles(PlatformRoles.Reader, PlatformRoles.TrainingService);
        return app;
    }

    public static async Task<Results<Ok<PredictResponse>, EmptyHttpResult, ValidationProblem, NotFound<ProblemDetails>, ProblemHttpResult>> Predict(
        string name,
        HttpContext context,
        Scoring scoring,
        EntityFeatures features,
        IOptions<InferenceOptions> options,
        CancellationToken cancellationToken,
        int? version = null,
        string? alias = null,
        string? include = null,
        bool explain = false)
    {
        if (version is not null && alias is not null)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["version"] = ["give either version or alias, not both"] });
        }

        var isCsv = CsvScoring.IsCsv(context.Request);
        if (!isCsv && !IsJson(context.Request))
        {
            return Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
                "Send JSON (Content-Type: application/json) or a CSV file (Content-Type: text/csv).");
        }

        var (target, notFound) = await scoring.ResolveAsync(name, version, alias, context.Request.Headers[RoutingKeyHeader], cancellationToken);
        if (target is null)
        {
            return ProblemResults.NotFound(notFound!);
        }

        // Named at once, so an answer this version cannot give (records it cannot read) is counted as its error.
        context.Response.Headers[ModelVersionHeader] = target.Version.Version.ToString();
        if (isCsv)
        {
            context.SetMaxRequestBodySize(options.Value.MaxCsvBytes);
            return await CsvScoring.ScoreAsync(context, target, scoring, options.Value.MaxCsvBytes, cancellationToken) is { } csvProblem
                ? csvProblem
                : TypedResults.Empty;
        }

        context.SetMaxRequestBodySize(options.Value.MaxJsonBytes);
        using var body = await RequestBody.ReadAsync(context.Request, cancellationToken);
        using var document = ParseJson(body);
        if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("entities", out var entities))
        {
            return await PredictByEntitiesAsync(target, entities, include, explain, scoring, features, options.Value, cancellationToken);
        }

        var (records, problem) = PredictRequest.ReadRecords(document.RootElement, options.Value.MaxRecordsPerRequest);
        if (records is null)
        {
            return TypedResults.ValidationProblem(problem!);
        }

        var (read, errors) = target.Predictor.Read(records);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: $"The records do not match the signature of {name} v{target.Version.Version}.");
        }

        var (explanations, explainProblem) = Explain(explain, scoring, target, read, options.Value);
        if (explainProblem is not null)
        {
            return explainProblem;
        }

        var predictions = await scoring.PredictAsync(target, read, "json");
        return TypedResults.Ok(new PredictResponse(name, target.Version.Version, predictions, Explanations: explanations));
    }

    /// <summary>
    /// The records' explanations when asked, before anything is scored; or why not: more records than a request may have
    /// explained, or a version that cannot be.
    /// </summary>
    private static (Explanation[]? Explanations, ValidationProblem? Problem) Explain(
        bool explain, Scoring scoring, ServingTarget target, IReadOnlyList<ML.ModelRecord> records, InferenceOptions options)
    {
        if (!explain)
        {
            return (null, null);
        }

        var problem = records.Count > options.MaxExplainedRecords
            ? $"explains at most {options.MaxExplainedRecords} records a request; this one has {records.Count}"
            : null;
        var (explanations, cannot) = problem is null ? scoring.Explain(target, records) : (null, null);
        return (problem ?? cannot) is { } error
            ? (null, TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["explain"] = [error] },
                title: $"The predictions of {target.Version.ModelName} v{target.Version.Version} cannot be explained as asked."))
            : (explanations, null);
    }

    /// <summary>Predicts for entity keys: the model's features from the online store, the rest of its inputs from the request.</summary>
    private static async Task<Results<Ok<PredictResponse>, EmptyHttpResult, ValidationProblem, NotFound<ProblemDetails>, ProblemHttpResult>>
        PredictByEntitiesAsync(
            ServingTarget target,
            JsonElement entities,
            string? include,
            bool explain,
            Scoring scoring,
            EntityFeatures features,
            InferenceOptions options,
            CancellationToken cancellationToken)
    {
        var (model, version) = (target.Version.ModelName, target.Version.Version);
        if (target.Version.Lineage.TrainingSet is not { } trainingSet)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["entities"] = [$"{model} v{version} was not trained from a feature service: send its columns as records"],
            });
        }

        if (include is not (null or "features"))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["include"] = ["can only be 'features'"] });
        }

        EntityRecords? read;
        Dictionary<string, string[]>? problems;
        try
        {
            (read, problems) = await features.ReadAsync(
                trainingSet, target.Predictor.Signature.Inputs, entities, options.MaxRecordsPerRequest, cancellationToken);
        }
        catch (RedisException)
        {
            return Problem(StatusCodes.Status503ServiceUnavailable, "The online store is unreachable",
                $"{model} v{version} reads its features from the online store (Redis), which is unreachable; send its columns as records.");
        }

        if (read is null)
        {
            return TypedResults.ValidationProblem(problems!);
        }

        using (read)
        {
            var (records, errors) = target.Predictor.Read(read.Records);
            if (errors.Count > 0)
            {
                return TypedResults.ValidationProblem(errors, title: $"The request-time columns do not match the signature of {model} v{version}.");
            }

            var (explanations, explainProblem) = Explain(explain, scoring, target, records, options);
            if (explainProblem is not null)
            {
                return explainProblem;
            }

            var predictions = await scoring.PredictAsync(target, records, "entities");
            return TypedResults.Ok(new PredictResponse(model, version, predictions, read.Missing, include is null ? null : read.Features, explanations));
        }
    }

    public static async Task<Results<Ok<List<ShadowComparison>>, ProblemHttpResult>> GetShadowComparisons(string name, ShadowTotals shadowTotals) =>
        await shadowTotals.ReadAsync(name) is { } comparisons
            ? TypedResults.Ok(comparisons)
            : Problem(StatusCodes.Status503ServiceUnavailable, "Redis is unreachable", "Shadow comparisons are kept in Redis, which is unreachable.");

    public static async Task<Results<Ok<LiveTraffic>, ProblemHttpResult>> GetLiveTraffic(string name, int version, LiveTrafficTotals liveTraffic) =>
        await liveTraffic.ReadAsync(name, version) is { } traffic
            ? TypedResults.Ok(traffic)
            : Problem(StatusCodes.Status503ServiceUnavailable, "Redis is unreachable", "Live traffic totals are kept in Redis, which is unreachable.");

    public static async Task<Results<Ok<ServingDriftReport>, ValidationProblem, NotFound<ProblemDetails>, ProblemHttpResult>> GetDrift(
        string name, int version, ModelCatalog catalog, ServingDrift drift, CancellationToken cancellationToken, string? window = null)
    {
        if (window is not (null or "current" or "previous"))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["window"] = ["can be 'current' (the default) or 'previous'"] });
        }

        if (await catalog.GetVersionAsync(name, version, cancellationToken) is not { } info)
        {
            return ProblemResults.NotFound($"Model '{name}' has no version {version}.");
        }

        var (report, failure, detail) = await drift.CompareAsync(info, window == "previous", cancellationToken);
        return failure switch
        {
            null => TypedResults.Ok(report!),
            ServingDriftFailure.SampleUnavailable => Problem(StatusCodes.Status503ServiceUnavailable, "Redis is unreachable", detail!),
            ServingDriftFailure.FeatureServiceUnavailable => Problem(StatusCodes.Status503ServiceUnavailable, "The feature service is unreachable", detail!),
            ServingDriftFailure.TrainingDataMissing => ProblemResults.NotFound(detail!),
            _ => Problem(StatusCodes.Status409Conflict, "The version's inputs do not fit its training data", detail!),
        };
    }

    /// <summary>Parses the body once, in place (no copy per record); malformed JSON is a 400 naming where.</summary>
    private static JsonDocument ParseJson(RequestBody body)
    {
        try
        {
            return PredictRequest.Parse(body.Memory);
        }
        catch (JsonException ex)
        {
            throw new BadHttpRequestException("The request body is not valid JSON.", StatusCodes.Status400BadRequest, ex);
        }
    }

    /// <summary>The usual <c>application/json</c> is recognised without parsing the header; anything else as ASP.NET Core reads it.</summary>
    private static bool IsJson(HttpRequest request) =>
        string.Equals(request.ContentType, "application/json", StringComparison.OrdinalIgnoreCase) || request.HasJsonContentType();

    private static ProblemHttpResult Problem(int status, string title, string detail) =>
        TypedResults.Problem(new ProblemDetails { Status = status, Title = title, Detail = detail });
}

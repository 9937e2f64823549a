using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using ModelPlatform.Contracts;
using ModelPlatform.Inference.Serving;

namespace ModelPlatform.Inference.Apis;

public sealed record PredictRequest(IReadOnlyList<JsonElement>? Records);

public sealed record PredictResponse(string Model, int Version, IReadOnlyList<Prediction> Predictions);

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
                CSV (Content-Type: text/csv, a header row naming the model's columns): scored as a stream, one prediction per row
                in the same order, as CSV or, with Accept: application/x-ndjson, as JSON lines. The {ModelVersionHeader} header says
                which version answered; {RoutingKeyHeader} keeps a caller on one side of a canary split.
                """)
            .Accepts<PredictRequest>("application/json", "text/csv")
            .Produces<PredictResponse>(contentType: "application/json")
            .Produces(StatusCodes.Status200OK, contentType: "text/csv")
            .Produces(StatusCodes.Status200OK, contentType: CsvScoring.JsonLinesContentType)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        app.MapGet("/models/{name}/shadow", GetShadowComparisons)
            .WithTags("Predictions")
            .WithName("GetShadowComparisons")
            .WithSummary("How the shadow versions of a model's aliases compare with the versions that answered");
        return app;
    }

    public static async Task<IResult> Predict(
        string name,
        HttpContext context,
        Scoring scoring,
        IOptions<InferenceOptions> options,
        CancellationToken cancellationToken,
        int? version = null,
        string? alias = null)
    {
        if (version is not null && alias is not null)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["version"] = ["give either version or alias, not both"] });
        }

        var isCsv = CsvScoring.IsCsv(context.Request);
        if (!isCsv && !context.Request.HasJsonContentType())
        {
            return Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
                "Send JSON (Content-Type: application/json) or a CSV file (Content-Type: text/csv).");
        }

        var (target, notFound) = await scoring.ResolveAsync(name, version, alias, context.Request.Headers[RoutingKeyHeader], cancellationToken);
        if (target is null)
        {
            return Problem(StatusCodes.Status404NotFound, "Not found", notFound!);
        }

        context.Response.Headers[ModelVersionHeader] = target.Version.Version.ToString();
        if (isCsv)
        {
            context.SetMaxRequestBodySize(options.Value.MaxCsvBytes);
            return await CsvScoring.ScoreAsync(context, target, scoring, options.Value.MaxCsvBytes, cancellationToken);
        }

        context.SetMaxRequestBodySize(options.Value.MaxJsonBytes);
        using var body = await ReadJsonAsync(context.Request, cancellationToken);
        var maxRecords = options.Value.MaxRecordsPerRequest;
        if (!body.RootElement.TryGetProperty("records", out var records) || records.ValueKind != JsonValueKind.Array || records.GetArrayLength() == 0)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["records"] = ["is required: a non-empty array of objects mapping column names to values"],
            });
        }

        if (records.GetArrayLength() > maxRecords)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["records"] = [$"has {records.GetArrayLength()} records; at most {maxRecords} are allowed per request"],
            });
        }

        var (read, errors) = target.Predictor.Read([.. records.EnumerateArray()]);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: $"The records do not match the signature of {name} v{target.Version.Version}.");
        }

        var predictions = await scoring.PredictAsync(target, read, "json");
        return TypedResults.Ok(new PredictResponse(name, target.Version.Version, predictions));
    }

    public static async Task<IResult> GetShadowComparisons(string name, ShadowTotals shadowTotals) =>
        await shadowTotals.ReadAsync(name) is { } comparisons
            ? TypedResults.Ok(comparisons)
            : Problem(StatusCodes.Status503ServiceUnavailable, "Redis is unreachable", "Shadow comparisons are kept in Redis, which is unreachable.");

    /// <summary>Parses the body into one pooled document (no copy per record); malformed JSON is a 400 naming where.</summary>
    private static async Task<JsonDocument> ReadJsonAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return await JsonDocument.ParseAsync(request.Body, default, cancellationToken);
        }
        catch (JsonException ex)
        {
            throw new BadHttpRequestException("The request body is not valid JSON.", StatusCodes.Status400BadRequest, ex);
        }
    }

    private static IResult Problem(int status, string title, string detail) =>
        TypedResults.Problem(new ProblemDetails { Status = status, Title = title, Detail = detail });
}

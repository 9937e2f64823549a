using System.Globalization;
using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using ModelPlatform.Contracts;
using ModelPlatform.Inference.Protocols;
using ModelPlatform.Inference.Serving;

namespace ModelPlatform.Inference.Apis;

/// <summary>
/// The Open Inference Protocol (v2) REST API that KServe and Triton clients speak: health, server and model metadata,
/// model readiness and inference. A model without a version in the URL means its <c>production</c> alias.
/// Every answer, errors included (<c>{"error": "…"}</c>), is written with the protocol's JSON options.
/// </summary>
public static class OpenInferenceApi
{
    public static IEndpointRouteBuilder MapOpenInferenceApi(this IEndpointRouteBuilder app)
    {
        // Client applications (predictors) read metadata and infer; the server's health routes are probes, open to all.
        var v2 = app.MapGroup("/v2").WithTags("Open Inference Protocol");
        var reads = v2.MapGroup("").RequireRoles(PlatformRoles.Reader, PlatformRoles.Predictor);
        reads.MapGet("/", ServerMetadata).WithName("OipServerMetadata").WithSummary("Server metadata")
            .Produces<ServerMetadataResponse>();
        v2.MapGet("/health/live", ServerLive).WithName("OipServerLive").WithSummary("Server live")
            .Produces<ServerLiveResponse>().AllowAnonymous();
        v2.MapGet("/health/ready", ServerReady).WithName("OipServerReady").WithSummary("Server ready: every production model is loaded and warm")
            .Produces<ServerReadyResponse>().Produces<ServerReadyResponse>(StatusCodes.Status503ServiceUnavailable).AllowAnonymous();
        reads.MapGet("/models/{name}", ModelMetadata).WithName("OipModelMetadata").WithSummary("Metadata of the production version")
            .Produces<ModelMetadataResponse>().ProducesErrors(StatusCodes.Status404NotFound);
        reads.MapGet("/models/{name}/versions/{version}", ModelMetadata).WithName("OipModelVersionMetadata").WithSummary("Metadata of a version")
            .Produces<ModelMetadataResponse>().ProducesErrors(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);
        reads.MapGet("/models/{name}/ready", ModelReady).WithName("OipModelReady").WithSummary("Whether the production version is loaded")
            .ProducesReadiness().ProducesErrors(StatusCodes.Status404NotFound);
        reads.MapGet("/models/{name}/versions/{version}/ready", ModelReady).WithName("OipModelVersionReady").WithSummary("Whether a version is loaded")
            .ProducesReadiness().ProducesErrors(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);
        v2.MapPost("/models/{name}/infer", Infer).WithName("OipInfer").WithSummary("Inference with the production version (or its canary)")
            .ProducesInference().RequireRoles(PlatformRoles.Predictor).CountsLiveTraffic();
        v2.MapPost("/models/{name}/versions/{version}/infer", Infer).WithName("OipVersionInfer").WithSummary("Inference with a version")
            .ProducesInference().RequireRoles(PlatformRoles.Predictor).CountsLiveTraffic();
        return app;
    }

    public static JsonHttpResult<ServerMetadataResponse> ServerMetadata() => Json(StatusCodes.Status200OK, new ServerMetadataResponse(
        "modelplatform-inference",
        typeof(OpenInferenceApi).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "1.0.0",
        []));

    public static JsonHttpResult<ServerLiveResponse> ServerLive() => Json(StatusCodes.Status200OK, new ServerLiveResponse(true));

    public static JsonHttpResult<ServerReadyResponse> ServerReady(ServingReadiness readiness) =>
        Json(readiness.IsReady ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable, new ServerReadyResponse(readiness.IsReady));

    public static async Task<Results<JsonHttpResult<ModelMetadataResponse>, JsonHttpResult<InferenceError>>> ModelMetadata(
        string name, ModelCatalog catalog, CancellationToken cancellationToken, string? version = null)
    {
        var (versions, notFound) = await VersionsAsync(name, version, catalog, cancellationToken);
        if (versions is null)
        {
            return Error(notFound!.Value.Status, notFound.Value.Message);
        }

        var info = await catalog.GetVersionAsync(name, versions[0], cancellationToken);
        if (info is null)
        {
            return Error(StatusCodes.Status404NotFound, $"Model '{name}' has no version {versions[0]}.");
        }

        var signature = info.Signature;
        var properties = new Dictionary<string, string>
        {
            ["task"] = signature.Task.ToString().ToLowerInvariant(),
            ["label"] = signature.Label.Name,
            ["sha256"] = info.Sha256,
        };
        if (signature.Classes is { } classes)
        {
            properties["classes"] = JsonSerializer.Serialize(classes);
        }

        return Json(StatusCodes.Status200OK, new ModelMetadataResponse(
            name, [.. versions.Select(v => v.ToString(CultureInfo.InvariantCulture))], OpenInferenceTensors.PlatformOf(info),
            OpenInferenceTensors.Inputs(signature), OpenInferenceTensors.Outputs(signature), properties));
    }

    public static async Task<Results<JsonHttpResult<ModelReadyResponse>, JsonHttpResult<InferenceError>>> ModelReady(
        string name, ModelCatalog catalog, LoadedModels models, CancellationToken cancellationToken, string? version = null)
    {
        var (versions, notFound) = await VersionsAsync(name, version, catalog, cancellationToken);
        if (versions is null)
        {
            return Error(notFound!.Value.Status, notFound.Value.Message);
        }

        var ready = versions.All(v => models.IsLoaded(name, v));
        return Json(ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable, new ModelReadyResponse(name, version, ready));
    }

    public static async Task<Results<JsonHttpResult<InferenceResponse>, JsonHttpResult<InferenceError>>> Infer(
        string name, HttpContext context, Scoring scoring, IOptions<InferenceOptions> options, CancellationToken cancellationToken, string? version = null)
    {
        var (versionNumber, versionError) = ParseVersion(version);
        if (versionError is not null)
        {
            return Error(StatusCodes.Status400BadRequest, versionError);
        }

        context.SetMaxRequestBodySize(options.Value.MaxJsonBytes);
        RequestBody body;
        try
        {
            body = await RequestBody.ReadAsync(context.Request, cancellationToken);
        }
        catch (BadHttpRequestException ex)
        {
            return Error(ex.StatusCode, ex.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? $"The request body is larger than the limit of {options.Value.MaxJsonBytes} bytes."
                : ex.Message);
        }

        using (body)
        {
            InferenceRequest? request;
            JsonDocument? document;
            try
            {
                request = InferenceRequestReader.Read(body.Memory, out document);
            }
            catch (JsonException ex)
            {
                return Error(StatusCodes.Status400BadRequest,
                    $"The request body is not a valid inference request: {(ex.Path is { Length: > 2 } path ? $"'{path[2..]}' " : "")}could not be read "
                    + $"(line {ex.LineNumber + 1}). NaN and Infinity are not JSON; send null for a missing value.");
            }

            // The request's tensors are elements of the document: it lives until the answer is written.
            using (document)
            {
                return request is null
                    ? Error(StatusCodes.Status400BadRequest, "The request body is empty; send an inference request with 'inputs'.")
                    : await InferAsync(name, versionNumber, request, context, scoring, options.Value, cancellationToken);
            }
        }
    }

    private static async Task<Results<JsonHttpResult<InferenceResponse>, JsonHttpResult<InferenceError>>> InferAsync(
        string name,
        int? version,
        InferenceRequest request,
        HttpContext context,
        Scoring scoring,
        InferenceOptions options,
        CancellationToken cancellationToken)
    {
        var routingKey = request.Parameters?.TryGetValue("routing_key", out var key) == true && key.ValueKind == JsonValueKind.String
            ? key.GetString()
            : context.Request.Headers[PredictApi.RoutingKeyHeader].ToString();
        var (target, notFound) = await scoring.ResolveAsync(name, version, null, routingKey, cancellationToken);
        if (target is null)
        {
            return Error(StatusCodes.Status404NotFound, notFound!);
        }

        // Named at once, so an answer this version cannot give (inputs it cannot read) is counted as its error.
        var answered = target.Version.Version.ToString(CultureInfo.InvariantCulture);
        context.Response.Headers[PredictApi.ModelVersionHeader] = answered;
        var signature = target.Version.Signature;
        var (records, inputError) = OpenInferenceTensors.ReadInputs(signature, request, options.MaxRecordsPerRequest);
        if ((inputError ?? OpenInferenceTensors.RequestedOutputsError(signature, request.Outputs)) is { } requestError)
        {
            return Error(StatusCodes.Status400BadRequest, requestError);
        }

        Explanation[]? explanations = null;
        if (request.Parameters?.TryGetValue("explain", out var explain) == true)
        {
            if (explain.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                return Error(StatusCodes.Status400BadRequest, "parameter 'explain' must be true or false");
            }

            if (explain.ValueKind == JsonValueKind.True)
            {
                if (records!.Count > options.MaxExplainedRecords)
                {
                    return Error(StatusCodes.Status400BadRequest,
                        $"parameter 'explain' explains at most {options.MaxExplainedRecords} rows a request; this one has {records.Count}");
                }

                (explanations, var cannot) = scoring.Explain(target, records);
                if (cannot is not null)
                {
                    return Error(StatusCodes.Status400BadRequest, cannot);
                }
            }
        }

        var predictions = await scoring.PredictAsync(target, records!, "oip");
        var outputs = OpenInferenceTensors.WriteOutputs(signature, predictions, request.Outputs);
        if (explanations is not null)
        {
            outputs.AddRange(OpenInferenceTensors.ExplanationOutputs(signature, explanations));
        }

        return Json(StatusCodes.Status200OK, new InferenceResponse(name, answered, request.Id, outputs));
    }

    /// <summary>The versions a URL means: the one it names, else those the production alias routes to (main first).</summary>
    private static async Task<(List<int>? Versions, (int Status, string Message)? NotFound)> VersionsAsync(
        string name, string? version, ModelCatalog catalog, CancellationToken cancellationToken)
    {
        var parsed = ParseVersion(version);
        if (parsed.Error is { } error)
        {
            return (null, (StatusCodes.Status400BadRequest, error));
        }

        if (parsed.Version is { } number)
        {
            return await catalog.GetVersionAsync(name, number, cancellationToken) is null
                ? (null, (StatusCodes.Status404NotFound, $"Model '{name}' has no version {number}."))
                : ([number], null);
        }

        var route = await catalog.ResolveAliasAsync(name, Scoring.DefaultAlias, cancellationToken);
        return route is null
            ? (null, (StatusCodes.Status404NotFound, $"Model '{name}' is unknown or has no '{Scoring.DefaultAlias}' alias; name a version in the URL."))
            : (route.Canary is { } canary ? [route.Version, canary.Version] : [route.Version], null);
    }

    private static (int? Version, string? Error) ParseVersion(string? version) =>
        version is null ? (null, null)
        : int.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number > 0 ? (number, null)
        : (null, $"Model version '{version}' is not a version number (1, 2, …).");

    private static JsonHttpResult<InferenceError> Error(int status, string message) => Json(status, new InferenceError(message));

    private static JsonHttpResult<T> Json<T>(int status, T body) => TypedResults.Json(body, OpenInferenceTensors.Json, statusCode: status);

    private static RouteHandlerBuilder ProducesErrors(this RouteHandlerBuilder route, params int[] statuses)
    {
        foreach (var status in statuses)
        {
            route.Produces<InferenceError>(status);
        }

        return route;
    }

    private static RouteHandlerBuilder ProducesReadiness(this RouteHandlerBuilder route) =>
        route.Produces<ModelReadyResponse>().Produces<ModelReadyResponse>(StatusCodes.Status503ServiceUnavailable);

    private static RouteHandlerBuilder ProducesInference(this RouteHandlerBuilder route) =>
        route.Accepts<InferenceRequest>("application/json")
            .Produces<InferenceResponse>()
            .ProducesErrors(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound, StatusCodes.Status413PayloadTooLarge);
}

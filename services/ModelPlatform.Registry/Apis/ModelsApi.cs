using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using ModelPlatform.Contracts;
using ModelPlatform.Messaging;
using ModelPlatform.ML;
using ModelPlatform.ML.Explanations;
using ModelPlatform.Registry.Models;
using ModelPlatform.Storage;

namespace ModelPlatform.Registry.Apis;

/// <summary>Where an alias should send traffic: <c>{"version": 3}</c>, optionally with a canary share and a shadow.</summary>
public static class ModelsApi
{
    public static IEndpointRouteBuilder MapModelsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/models").WithTags("Models");
        // Readers, the inference service, which loads the versions its aliases name, and the training service, whose batch
        // prediction jobs score with a version.
        var reads = api.MapGroup("").RequireRoles(PlatformRoles.Reader, PlatformRoles.InferenceService, PlatformRoles.TrainingService);

        reads.MapGet("/", ListModels).WithName("ListModels").WithSummary("List registered models with their aliases");
        reads.MapGet("/{name}", GetModel).WithName("GetModel").WithSummary("Get a model and its versions");
        api.MapPost("/{name}/versions", RegisterVersion)
            .WithName("RegisterModelVersion")
            .WithSummary("Register an immutable version: multipart form with 'metadata' (JSON) and 'artifact' (an ML.NET model zip, an ensemble's, "
                + "or with format 'onnx' an ONNX graph)")
            .DisableAntiforgery()
            .RequireRoles(PlatformRoles.Scientist, PlatformRoles.TrainingService);
        reads.MapGet("/{name}/versions/{version:int}", GetVersion).WithName("GetModelVersion").WithSummary("Get a version's signature, metrics and lineage");
        reads.MapGet("/{name}/versions/{version:int}/artifact", GetArtifact)
            .WithName("GetModelArtifact")
            .WithSummary("Download a version's artifact; the X-Checksum-Sha256 header carries its SHA-256");
        reads.MapGet("/{name}/versions/{version:int}/onnx", GetOnnxExport)
            .WithName("GetModelOnnxExport")
            .WithSummary("Download a trained version's ONNX export, to serve in Triton or KServe; 404 says why a version has none");
        reads.MapGet("/{name}/aliases/{alias}/history", GetAliasHistory)
            .WithName("GetModelAliasHistory")
            .WithSummary("Every move of an alias, newest first: who, when, and its route before and after");
        reads.MapGet("/{name}/aliases/{alias}", GetAlias).WithName("GetModelAlias").WithSummary("Resolve an alias to its version, canary and shadow");
        api.MapPut("/{name}/aliases/{alias}", SetAlias)
            .WithName("SetModelAlias")
            .WithSummary("Point an alias (such as 'production') at a version, optionally with a canary share of traffic and a shadow version; "
                + "promotion and rollback alike")
            // Deployers; and the training service for its pipelines, whose moves are audited under the pipeline's identity.
            .RequireRoles(PlatformRoles.Deployer, PlatformRoles.TrainingService);

        // Readers, and the feature service, which refuses a definition change that would break a version using it.
        app.MapGet("/model-versions", ListVersionsUsingFeatures)
            .WithTags("Models")
            .WithName("ListModelVersionsUsingFeatures")
            .WithSummary("List the versions, of every model, trained from a feature service: all, or those of ?featureService= or reading ?featureView=")
            .RequireRoles(PlatformRoles.Reader, PlatformRoles.FeatureService);

        return app;
    }

    public static async Task<Ok<IReadOnlyList<ModelVersionInfo>>> ListVersionsUsingFeatures(
        ModelStore store, CancellationToken cancellationToken, string? featureService = null, string? featureView = null)
    {
        var versions = await store.GetVersionsUsingFeaturesAsync(featureService, cancellationToken);
        return TypedResults.Ok<IReadOnlyList<ModelVersionInfo>>(featureView is null
            ? versions
            : [.. versions.Where(version => version.Lineage.TrainingSet!.Views.Any(view => view.View == featureView))]);
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

    public static async Task<Results<Created<ModelVersionInfo>, Ok<ModelVersionInfo>, ValidationProblem, ProblemHttpResult>> RegisterVersion(
        string name, HttpContext context, ModelStore store, OutboxRelay relay, IOptions<RegistryOptions> options, CancellationToken cancellationToken)
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
            errors["artifact"] = ["is required: the ML.NET model zip (or an ensemble's), or the ONNX graph"];
        }

        var exportFile = form.Files.GetFile("onnx");
        if ((exportFile is { Length: > 0 }) != (request?.OnnxExport?.Binding is not null))
        {
            errors["onnx"] = ["an ONNX export is sent as the 'onnx' part together with metadata.onnxExport.binding, or neither is sent"];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        // A job's result is the training service's to register: nobody else can claim a job, or pre-empt its version.
        if (request!.Lineage.TrainingJobId is { } jobId && !context.User.IsInRole(PlatformRoles.TrainingService))
        {
            return TypedResults.Problem(
                $"Only the training service registers the version of training job {jobId}; leave lineage.trainingJobId out.",
                statusCode: StatusCodes.Status403Forbidden);
        }

        // Streamed to disk while hashed: artifacts may be larger than any array.
        using var artifact = await store.ReceiveArtifactAsync(artifactFile!.OpenReadStream(), cancellationToken);

        // A version that does not load, or does not fit its signature, would fail every request routed to it: refuse it here.
        // An ONNX graph's signature is read from the graph itself.
        OnnxBinding? onnx = null;
        if (request.Format == ModelFormats.Onnx)
        {
            var (signature, binding, graphErrors) = OnnxGraph.Describe(await File.ReadAllBytesAsync(artifact.TemporaryPath, cancellationToken), request.Onnx);
            if (graphErrors.Count > 0)
            {
                return TypedResults.ValidationProblem(graphErrors);
            }

            (request, onnx) = (request with { Signature = signature! }, binding);
        }

        try
        {
            await using var file = File.OpenRead(artifact.TemporaryPath);
            using var loaded = ModelPredictor.Load(file, request.Signature, onnx);
        }
        catch (InvalidDataException ex)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["artifact"] = [ex.Message] });
        }

        if (request.Reference is { } reference && ReferenceRowError(request.Signature, reference) is { } referenceError)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["metadata.reference"] = [referenceError] });
        }

        // An export is kept only when it serves: it is checked as an ONNX version would be.
        using var export = exportFile is null ? null : await store.ReceiveArtifactAsync(exportFile.OpenReadStream(), cancellationToken);
        if (export is not null)
        {
            try
            {
                await using var file = File.OpenRead(export.TemporaryPath);
                using var loaded = OnnxPredictor.FromGraph(file, request.Signature, request.OnnxExport!.Binding!);
            }
            catch (InvalidDataException ex)
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["onnx"] = [ex.Message] });
            }
        }

        var (version, created) = await store.RegisterAsync(name, request, onnx, artifact, export, AuditActor.From(context), cancellationToken);
        if (!created)
        {
            // A retried registration of the job answers with its version, and only for the model the job trained.
            return version.ModelName == name
                ? TypedResults.Ok(version)
                : TypedResults.Problem(
                    $"Training job {request.Lineage.TrainingJobId} registered model '{version.ModelName}', not '{name}'.",
                    statusCode: StatusCodes.Status409Conflict);
        }

        relay.Wake();
        return TypedResults.Created($"/models/{name}/versions/{version.Version}", version);
    }

    public static async Task<Results<Ok<ModelVersionInfo>, NotFound<ProblemDetails>>> GetVersion(
        string name, int version, ModelStore store, CancellationToken cancellationToken)
    {
        var info = await store.GetVersionAsync(name, version, cancellationToken);
        return info is null ? ProblemResults.NotFound($"Model '{name}' has no version {version}.") : TypedResults.Ok(info);
    }

    public static async Task<Results<FileStreamHttpResult, NotFound<ProblemDetails>>> GetArtifact(
        string name, int version, ModelStore store, HttpResponse response, CancellationToken cancellationToken)
    {
        var info = await store.GetVersionAsync(name, version, cancellationToken);
        if (info is null || await store.OpenArtifactAsync(info.Sha256, cancellationToken) is not { } artifact)
        {
            return ProblemResults.NotFound($"Model '{name}' has no version {version}.");
        }

        // Streamed from the database and checked as it goes: damaged bytes end the response with an error, not a good status.
        response.Headers["X-Checksum-Sha256"] = info.Sha256;
        var (contentType, extension) = info.Onnx is null ? ("application/zip", "zip") : ("application/octet-stream", "onnx");
        return TypedResults.Stream(
            artifact, contentType, $"{name}-v{version}.{extension}",
            entityTag: new Microsoft.Net.Http.Headers.EntityTagHeaderValue($"\"{info.Sha256}\""));
    }

    public static async Task<Results<FileStreamHttpResult, NotFound<ProblemDetails>>> GetOnnxExport(
        string name, int version, ModelStore store, CancellationToken cancellationToken)
    {
        var info = await store.GetVersionAsync(name, version, cancellationToken);
        if (info is null)
        {
            return ProblemResults.NotFound($"Model '{name}' has no version {version}.");
        }

        if (info.OnnxExport?.Sha256 is not { } sha256 || await store.OpenArtifactAsync(sha256, cancellationToken) is not { } export)
        {
            var reason = info.OnnxExport?.Reason
                ?? (info.Onnx is not null ? "it is an ONNX graph already; download its artifact." : "it was registered without one.");
            return ProblemResults.NotFound($"Version {version} of '{name}' has no ONNX export: {reason}");
        }

        return TypedResults.Stream(export, "application/octet-stream", $"{name}-v{version}.onnx",
            entityTag: new Microsoft.Net.Http.Headers.EntityTagHeaderValue($"\"{sha256}\""));
    }

    public static async Task<Results<Ok<AliasInfo>, NotFound<ProblemDetails>>> GetAlias(
        string name, string alias, ModelStore store, CancellationToken cancellationToken)
    {
        var info = await store.GetAliasAsync(name, alias, cancellationToken);
        return info is null ? ProblemResults.NotFound($"Model '{name}' has no alias '{alias}'.") : TypedResults.Ok(info);
    }

    public static async Task<Results<Ok<AliasInfo>, NotFound<ProblemDetails>, ValidationProblem, ProblemHttpResult>> SetAlias(
        string name, string alias, SetAliasRequest request, ModelStore store, OutboxRelay relay, HttpContext context,
        CancellationToken cancellationToken)
    {
        var errors = request.Errors();
        if (ResourceNames.AliasError(alias) is { } aliasError)
        {
            errors["alias"] = [aliasError];
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

        var actor = AuditActor.From(context);
        if (!context.User.IsInRole(PlatformRoles.Deployer) && !actor.Id.StartsWith(PipelineCalls.ActorId(""), StringComparison.Ordinal))
        {
            return TypedResults.Problem(
                $"The training service moves aliases only for a pipeline, named in the {PipelineCalls.Header} header.",
                statusCode: StatusCodes.Status403Forbidden);
        }

        var changed = await store.SetAliasAsync(name, alias, route, actor, cancellationToken);
        relay.Wake();
        return TypedResults.Ok(changed);
    }

    public static Task<Results<Ok<AuditPage>, ValidationProblem>> GetAliasHistory(
        string name, string alias, long? before, ServiceDatabase database, CancellationToken cancellationToken, int limit = 100) =>
        AuditLog.PageAsync(database, actor: null, ModelStore.AliasResource(name, alias), "alias.moved", from: null, to: null, before, limit,
            cancellationToken);

    /// <summary>Why a reference row does not fit the signature (a column missing, a value of the wrong type), or null.</summary>
    private static string? ReferenceRowError(ModelSignature signature, IReadOnlyDictionary<string, JsonElement> reference)
    {
        try
        {
            ReferenceRow.ToRecord(signature.Inputs, reference);
            return null;
        }
        catch (InvalidDataException ex)
        {
            return ex.Message;
        }
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

        if (request?.Format is { } format && format != ModelFormats.MLNet && format != ModelFormats.Onnx)
        {
            errors["metadata.format"] = [$"must be '{ModelFormats.MLNet}' (an ML.NET model zip) or '{ModelFormats.Onnx}' (an ONNX graph), got '{format}'"];
        }
        else if (request?.Format == ModelFormats.Onnx)
        {
            if (request.Signature is not null)
            {
                errors["metadata.signature"] = ["is read from an ONNX graph; name its columns, classes or output under 'onnx' instead"];
            }
        }
        else if (request?.Onnx is not null)
        {
            errors["metadata.onnx"] = ["describes an ONNX graph; set format to 'onnx' to register one"];
        }
        else if (request?.Signature is not { Inputs.Count: > 0, Label: not null })
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

using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using ModelPlatform.Contracts;
using ModelPlatform.Messaging;
using ModelPlatform.Storage;
using ModelPlatform.Training.Jobs;

namespace ModelPlatform.Training.Apis;

public static class BatchPredictionsApi
{
    private const string Kind = "batch prediction";

    public static IEndpointRouteBuilder MapBatchPredictionsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/batch-predictions").WithTags("Batch predictions");

        api.MapPost("/", SubmitJob)
            .WithName("SubmitBatchPrediction")
            .WithSummary("Queue a job that scores every row of a dataset version with a model version (or alias) into a new dataset version")
            .RequireRoles(PlatformRoles.Scientist);
        api.MapGet("/{id:guid}", GetJob).WithName("GetBatchPrediction")
            .WithSummary("Get a job's status, progress, attempts, history and the dataset version its predictions became")
            .RequireRoles(PlatformRoles.Reader);
        api.MapPost("/{id:guid}/cancel", CancelJob)
            .WithName("CancelBatchPrediction")
            .WithSummary("Cancel a queued job at once, or ask a running one to stop (within seconds)")
            .RequireRoles(PlatformRoles.Scientist);
        api.MapGet("/", ListJobs).WithName("ListBatchPredictions").WithSummary("List jobs, newest first, optionally by status and model")
            .RequireRoles(PlatformRoles.Reader);

        return app;
    }

    /// <summary>
    /// Resolves the model version (an alias to the version it points at: a canary or shadow beside it is live traffic's, not
    /// the batch's) and the dataset version (the latest when left out) now, so the job scores what was asked whenever it runs;
    /// checks the dataset holds every column the model takes.
    /// </summary>
    public static async Task<Results<Accepted<BatchPredictionJob>, ValidationProblem>> SubmitJob(
        SubmitBatchPredictionRequest request,
        FeatureClient features,
        RegistryClient registry,
        BatchPredictionStore jobs,
        OutboxRelay relay,
        TimeProvider clock,
        HttpContext context,
        CancellationToken cancellationToken)
    {
        var errors = Validate(request);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var model = request.Model!;
        ModelVersionInfo? version = null;
        if (request.Alias is { } alias)
        {
            if (await registry.GetAliasAsync(model, alias, cancellationToken) is { } target)
            {
                version = await registry.GetVersionAsync(model, target.Version, cancellationToken);
            }
            else
            {
                errors["alias"] = [$"model '{model}' has no alias '{alias}' in the registry"];
            }
        }
        else if ((version = await registry.GetVersionAsync(model, request.Version!.Value, cancellationToken)) is null)
        {
            errors["version"] = [$"model '{model}' has no version {request.Version} in the registry"];
        }

        var dataset = await features.GetVersionAsync(request.Dataset!, request.DatasetVersion, cancellationToken);
        if (dataset is null)
        {
            var which = request.DatasetVersion is { } number ? $"version {number} of dataset '{request.Dataset}'" : $"dataset '{request.Dataset}'";
            errors[request.DatasetVersion is null ? "dataset" : "datasetVersion"] = [$"{which} does not exist in the feature service"];
        }
        else if (version is not null && BatchScoring.InputProblem(dataset.Columns, version.Signature) is { } problem)
        {
            errors["dataset"] = [$"{dataset.Name} v{dataset.Version} {problem} ({model} v{version.Version})"];
        }

        var output = request.Output ?? $"{request.Dataset}-predictions";
        if (ResourceNames.NameError(output) is { } outputError)
        {
            errors["output"] = [$"'{output}' {outputError}"];
        }
        else if (output == request.Dataset)
        {
            errors["output"] = ["must be another dataset than the one scored"];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var queued = BatchPredictionJob.Queued(Guid.CreateVersion7(), model, version!.Version, request.Alias, dataset!.Name, dataset.Version, output,
            dataset.Rows, request.MaxAttempts ?? TrainingJobsApi.DefaultMaxAttempts, clock.GetUtcNow(), TrainingJobsApi.PriorityOf(request.Priority));
        var job = await jobs.AddAsync(queued, AuditActor.From(context), cancellationToken);
        relay.Wake();
        return TypedResults.Accepted($"/batch-predictions/{job.Id}", job);
    }

    public static Task<Results<Ok<BatchPredictionJob>, NotFound<ProblemDetails>>> GetJob(
        Guid id, BatchPredictionStore jobs, CancellationToken cancellationToken) =>
        JobEndpoints.GetAsync(jobs, id, Kind, cancellationToken);

    public static Task<Results<Accepted<BatchPredictionJob>, NotFound<ProblemDetails>, Conflict<ProblemDetails>>> CancelJob(
        Guid id, BatchPredictionStore jobs, HttpContext context, CancellationToken cancellationToken) =>
        JobEndpoints.CancelAsync(jobs, id, Kind, job => job.Status, context, cancellationToken);

    public static Task<Results<Ok<IReadOnlyList<BatchPredictionJob>>, ValidationProblem>> ListJobs(
        BatchPredictionStore jobs, CancellationToken cancellationToken, string? status = null, string? model = null, int limit = 100) =>
        JobEndpoints.ListAsync(jobs, status, model, limit, cancellationToken);

    internal static Dictionary<string, string[]> Validate(SubmitBatchPredictionRequest request)
    {
        var errors = new Dictionary<string, string[]>();
        if (ResourceNames.NameError(request.Model) is { } modelError)
        {
            errors["model"] = [modelError];
        }

        if ((request.Version is null) == (request.Alias is null))
        {
            errors["version"] = ["give the model's version or an alias (such as production), one of the two"];
        }
        else if (request.Version is <= 0)
        {
            errors["version"] = ["must be a positive version number"];
        }
        else if (request.Alias is not null && ResourceNames.NameError(request.Alias) is { } aliasError)
        {
            errors["alias"] = [aliasError];
        }

        if (ResourceNames.NameError(request.Dataset) is { } datasetError)
        {
            errors["dataset"] = [datasetError];
        }

        if (request.DatasetVersion is <= 0)
        {
            errors["datasetVersion"] = ["must be a positive version number, or left out for the latest"];
        }

        TrainingJobsApi.Check(errors, "maxAttempts", request.MaxAttempts, 1, 10);
        TrainingJobsApi.CheckPriority(errors, request.Priority);
        return errors;
    }
}

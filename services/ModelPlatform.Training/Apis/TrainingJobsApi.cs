using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using ModelPlatform.Contracts;
using ModelPlatform.ML;
using ModelPlatform.Training.Jobs;

namespace ModelPlatform.Training.Apis;

public static class TrainingJobsApi
{
    public static IEndpointRouteBuilder MapTrainingJobsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/training-jobs").WithTags("Training jobs");

        api.MapPost("/", SubmitJob)
            .WithName("SubmitTrainingJob")
            .WithSummary("Queue a job that trains a model on a dataset version and registers it");
        api.MapGet("/{id:guid}", GetJob).WithName("GetTrainingJob").WithSummary("Get a job's status, metrics and model version");
        api.MapGet("/", ListJobs).WithName("ListTrainingJobs").WithSummary("List jobs, newest first, optionally by status and model");

        return app;
    }

    public static async Task<Results<Accepted<TrainingJob>, ValidationProblem>> SubmitJob(
        SubmitTrainingJobRequest request, FeatureClient features, TrainingJobStore jobs, OutboxRelay relay, TimeProvider clock, CancellationToken cancellationToken)
    {
        var errors = Validate(request);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var dataset = await features.GetVersionAsync(request.Dataset!, request.DatasetVersion, cancellationToken);
        if (dataset is null)
        {
            var which = request.DatasetVersion is { } version ? $"version {version} of dataset '{request.Dataset}'" : $"dataset '{request.Dataset}'";
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                [request.DatasetVersion is null ? "dataset" : "datasetVersion"] = [$"{which} does not exist in the feature service"],
            });
        }

        var label = dataset.Columns.FirstOrDefault(column => column.Name == request.Label);
        if (label is null)
        {
            errors["label"] = [$"'{request.Label}' is not a column of {dataset.Name} v{dataset.Version}; columns: {string.Join(", ", dataset.Columns.Select(c => c.Name))}"];
        }
        else if (request.Task == MLTask.Regression && label.Type != ColumnType.Numeric)
        {
            errors["label"] = [$"regression needs a numeric label, but '{label.Name}' is {label.Type.ToString().ToLowerInvariant()}"];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var task = request.Task!.Value;
        var job = await jobs.AddAsync(new TrainingJob(
            Guid.CreateVersion7(), JobStatus.Queued, request.ModelName!, dataset.Name, dataset.Version, request.Label!, task,
            request.Trainer is null ? Trainers.DefaultFor(task) : Trainers.Canonical(task, request.Trainer)!,
            request.PositiveClass, null, null, null, clock.GetUtcNow(), null, null), cancellationToken);
        relay.Wake();
        return TypedResults.Accepted($"/training-jobs/{job.Id}", job);
    }

    public static async Task<Results<Ok<TrainingJob>, NotFound<ProblemDetails>>> GetJob(Guid id, TrainingJobStore jobs, CancellationToken cancellationToken)
    {
        var job = await jobs.GetAsync(id, cancellationToken);
        return job is null
            ? TypedResults.NotFound(new ProblemDetails { Title = "Not found", Status = StatusCodes.Status404NotFound, Detail = $"There is no training job '{id}'." })
            : TypedResults.Ok(job);
    }

    public static async Task<Ok<IReadOnlyList<TrainingJob>>> ListJobs(
        TrainingJobStore jobs, CancellationToken cancellationToken, JobStatus? status = null, string? model = null, int limit = 100) =>
        TypedResults.Ok(await jobs.ListAsync(status, model, Math.Clamp(limit, 1, 1000), cancellationToken));

    internal static Dictionary<string, string[]> Validate(SubmitTrainingJobRequest request)
    {
        var errors = new Dictionary<string, string[]>();
        if (ResourceNames.NameError(request.ModelName) is { } modelError)
        {
            errors["modelName"] = [modelError];
        }

        if (ResourceNames.NameError(request.Dataset) is { } datasetError)
        {
            errors["dataset"] = [datasetError];
        }

        if (request.DatasetVersion is <= 0)
        {
            errors["datasetVersion"] = ["must be a positive version number, or left out for the latest"];
        }

        if (string.IsNullOrWhiteSpace(request.Label))
        {
            errors["label"] = ["is required: the column to predict"];
        }

        if (request.Task is not { } task)
        {
            errors["task"] = ["is required: binary, multiclass or regression"];
        }
        else if (request.Trainer is not null && Trainers.Canonical(task, request.Trainer) is null)
        {
            errors["trainer"] = [$"'{request.Trainer}' is not a {task.ToString().ToLowerInvariant()} trainer; choose one of {string.Join(", ", Trainers.NamesFor(task))}"];
        }

        if (request.PositiveClass is not null && request.Task is not MLTask.Binary)
        {
            errors["positiveClass"] = ["applies only to binary tasks"];
        }

        return errors;
    }
}

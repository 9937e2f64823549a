using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using ModelPlatform.Contracts;
using ModelPlatform.ML;
using ModelPlatform.Storage;
using ModelPlatform.Training.Jobs;

namespace ModelPlatform.Training.Apis;

public static class TrainingJobsApi
{
    public const int DefaultBudgetSeconds = 60;
    public const int MinBudgetSeconds = 5;
    public const int MaxBudgetSeconds = 24 * 3600;
    public const int DefaultFolds = 5;
    public const int DefaultSeed = 42;
    public const int DefaultMaxAttempts = 3;

    private const string Kind = "training job";

    public static IEndpointRouteBuilder MapTrainingJobsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/training-jobs").WithTags("Training jobs");

        api.MapPost("/", SubmitJob)
            .WithName("SubmitTrainingJob")
            .WithSummary("Queue a job that trains a model on a dataset version, or on entity rows joined to a feature service's features, and registers it")
            .RequireRoles(PlatformRoles.Scientist);
        api.MapGet("/{id:guid}", GetJob).WithName("GetTrainingJob").WithSummary("Get a job's status, progress, attempts, history, metrics and model version")
            .RequireRoles(PlatformRoles.Reader);
        api.MapPost("/{id:guid}/cancel", CancelJob)
            .WithName("CancelTrainingJob")
            .WithSummary("Cancel a queued job at once, or ask a running one to stop (within seconds)")
            .RequireRoles(PlatformRoles.Scientist);
        api.MapGet("/", ListJobs).WithName("ListTrainingJobs").WithSummary("List jobs, newest first, optionally by status and model")
            .RequireRoles(PlatformRoles.Reader);
        app.MapGet("/trainers", ListTrainers).WithTags("Training jobs").WithName("ListTrainers")
            .WithSummary("List the trainers a job may name per task, with their hyperparameters' ranges and defaults, and 'auto'")
            .RequireRoles(PlatformRoles.Reader);

        return app;
    }

    public static Ok<TrainerCatalog> ListTrainers() => TypedResults.Ok(new TrainerCatalog(
        Trainers.Auto,
        new BudgetRange(MinBudgetSeconds, DefaultBudgetSeconds, MaxBudgetSeconds),
        [
            .. Enum.GetValues<MLTask>().SelectMany(task => Trainers.For(task).Select(trainer => new TrainerInfo(
                trainer.Name, task, trainer.Name == Trainers.DefaultFor(task),
                [.. trainer.Hyperparameters.Select(parameter => new HyperparameterInfo(
                    parameter.Name, parameter.Min, parameter.Max, parameter.Default, parameter.IsInteger, parameter.LogScale))]))),
        ],
        [
            .. Enum.GetValues<MLTask>().SelectMany(task => ModelMetrics.NamesFor(task).Select(metric => new MetricInfo(
                metric, task, metric == ModelMetrics.DefaultFor(task), ModelMetrics.HigherIsBetter(task, metric)!.Value))),
        ]));

    public static async Task<Results<Accepted<TrainingJob>, ValidationProblem>> SubmitJob(
        SubmitTrainingJobRequest request, TrainingJobSubmitter submitter, HttpContext context, CancellationToken cancellationToken)
    {
        var (job, errors) = await submitter.SubmitAsync(request, Guid.CreateVersion7(), AuditActor.From(context), cancellationToken);
        return job is null ? TypedResults.ValidationProblem(errors!) : TypedResults.Accepted($"/training-jobs/{job.Id}", job);
    }

    public static Task<Results<Ok<TrainingJob>, NotFound<ProblemDetails>>> GetJob(Guid id, TrainingJobStore jobs, CancellationToken cancellationToken) =>
        JobEndpoints.GetAsync(jobs, id, Kind, cancellationToken);

    public static Task<Results<Accepted<TrainingJob>, NotFound<ProblemDetails>, Conflict<ProblemDetails>>> CancelJob(
        Guid id, TrainingJobStore jobs, HttpContext context, CancellationToken cancellationToken) =>
        JobEndpoints.CancelAsync(jobs, id, Kind, job => job.Status, context, cancellationToken);

    public static Task<Results<Ok<IReadOnlyList<TrainingJob>>, ValidationProblem>> ListJobs(
        TrainingJobStore jobs, CancellationToken cancellationToken, string? status = null, string? model = null, int limit = 100) =>
        JobEndpoints.ListAsync(jobs, status, model, limit, cancellationToken);

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

        if (request.FeatureService is not null && ResourceNames.NameError(request.FeatureService) is { } serviceError)
        {
            errors["featureService"] = [serviceError];
        }

        if (request.FeatureService is not null && string.IsNullOrWhiteSpace(request.TimestampField))
        {
            errors["timestampField"] = ["is required with featureService: the entity rows' timestamp column, the time their features are joined as of"];
        }
        else if (request.FeatureService is null && request.TimestampField is not null)
        {
            errors["timestampField"] = ["applies only with featureService"];
        }

        if (request.CompareWith is not null && ResourceNames.AliasError(request.CompareWith) is { } aliasError)
        {
            errors["compareWith"] = [aliasError];
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
        else
        {
            ValidateTrainer(request, task, errors);
        }

        Check(errors, "budgetSeconds", request.BudgetSeconds, MinBudgetSeconds, MaxBudgetSeconds);
        Check(errors, "folds", request.Folds, 2, 10);
        Check(errors, "maxTrials", request.MaxTrials, 1, 10_000);
        Check(errors, "maxAttempts", request.MaxAttempts, 1, 10);
        CheckPriority(errors, request.Priority);

        if (request.PositiveClass is not null && request.Task is not MLTask.Binary)
        {
            errors["positiveClass"] = ["applies only to binary tasks"];
        }

        return errors;
    }

    private static void ValidateTrainer(SubmitTrainingJobRequest request, MLTask task, Dictionary<string, string[]> errors)
    {
        var auto = string.Equals(request.Trainer, Trainers.Auto, StringComparison.OrdinalIgnoreCase);
        var trainer = request.Trainer is null ? Trainers.Find(task, Trainers.DefaultFor(task)) : Trainers.Find(task, request.Trainer);
        if (!auto && trainer is null)
        {
            errors["trainer"] = [$"'{request.Trainer}' is not a {Name(task)} trainer; choose auto or one of {string.Join(", ", Trainers.NamesFor(task))}"];
        }
        else if (auto && request.Hyperparameters is { Count: > 0 })
        {
            errors["hyperparameters"] = ["apply to a named trainer; the automatic search chooses its own"];
        }
        else if (trainer is not null)
        {
            foreach (var (key, messages) in Trainers.Validate(trainer, request.Hyperparameters))
            {
                errors[key] = messages;
            }
        }

        if (request.Metric is not null && ModelMetrics.HigherIsBetter(task, request.Metric) is null)
        {
            errors["metric"] = [$"'{request.Metric}' is not a {Name(task)} metric; choose one of {string.Join(", ", ModelMetrics.NamesFor(task))}"];
        }

        if (!auto && (request.BudgetSeconds ?? request.MaxTrials ?? request.Folds) is not null)
        {
            errors["trainer"] = ["budgetSeconds, maxTrials and folds apply to the automatic search: set trainer to auto"];
        }
    }

    internal static void Check(Dictionary<string, string[]> errors, string field, int? value, int min, int max)
    {
        if (value is { } given && (given < min || given > max))
        {
            errors[field] = [$"must be from {min} to {max}"];
        }
    }

    /// <summary>
    /// Checks a request's priority, read as text rather than bound as an enum: an unknown one gets this error naming the
    /// choices, not the framework's "malformed".
    /// </summary>
    internal static void CheckPriority(Dictionary<string, string[]> errors, string? priority)
    {
        if (priority is not null && !JobPriorities.TryParse(priority, out _))
        {
            errors["priority"] = [$"'{priority}' is not a priority; choose {string.Join(" or ", JobPriorities.Names)}"];
        }
    }

    /// <summary>A checked request's priority; interactive when left out.</summary>
    internal static JobPriority PriorityOf(string? priority) =>
        priority is not null && JobPriorities.TryParse(priority, out var parsed) ? parsed : JobPriority.Interactive;

    private static string Name(MLTask task) => task.ToString().ToLowerInvariant();
}

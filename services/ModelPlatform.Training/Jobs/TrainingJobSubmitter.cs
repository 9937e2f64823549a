using ModelPlatform.Contracts;
using ModelPlatform.Messaging;
using ModelPlatform.ML;
using ModelPlatform.Storage;
using ModelPlatform.Training.Apis;

namespace ModelPlatform.Training.Jobs;

/// <summary>
/// Accepts a training job, from the API or from a pipeline's run: checks the request, resolves its dataset version (or joins
/// its training set from a feature service) and queues the job. A problem comes back by field, and nothing is queued.
/// </summary>
public sealed class TrainingJobSubmitter(FeatureClient features, TrainingJobStore jobs, OutboxRelay relay, TimeProvider clock)
{
    /// <summary>Queues the job as <paramref name="id"/>; or, when the request cannot run, the problems by field.</summary>
    public async Task<(TrainingJob? Job, Dictionary<string, string[]>? Errors)> SubmitAsync(
        SubmitTrainingJobRequest request, Guid id, AuditActor actor, CancellationToken cancellationToken)
    {
        var errors = TrainingJobsApi.Validate(request);
        if (errors.Count > 0)
        {
            return (null, errors);
        }

        var dataset = await features.GetVersionAsync(request.Dataset!, request.DatasetVersion, cancellationToken);
        if (dataset is null)
        {
            var which = request.DatasetVersion is { } version ? $"version {version} of dataset '{request.Dataset}'" : $"dataset '{request.Dataset}'";
            return (null, new() { [request.DatasetVersion is null ? "dataset" : "datasetVersion"] = [$"{which} does not exist in the feature service"] });
        }

        var label = dataset.Columns.FirstOrDefault(column => column.Name == request.Label);
        if (label is null)
        {
            var columns = string.Join(", ", dataset.Columns.Select(c => c.Name));
            return (null, new() { ["label"] = [$"'{request.Label}' is not a column of {dataset.Name} v{dataset.Version}; columns: {columns}"] });
        }

        if (request.Task == MLTask.Regression && label.Type != ColumnType.Numeric)
        {
            return (null, new() { ["label"] = [$"regression needs a numeric label, but '{label.Name}' is {label.Type.ToString().ToLowerInvariant()}"] });
        }

        // Trained from a feature service: the job trains on the entity rows joined to the service's features as of each row.
        TrainingSetLineage? trainingSet = null;
        if (request.FeatureService is { } featureService)
        {
            var (joined, problems) = await features.BuildTrainingSetAsync(featureService, dataset, request.TimestampField!, cancellationToken);
            if (problems is not null)
            {
                return (null, problems.ToDictionary(problem => TrainingRequestField(problem.Key), problem => problem.Value));
            }

            dataset = joined!;
            trainingSet = dataset.Lineage;
        }

        var options = new TrainingJobOptions(
            request.Hyperparameters,
            request.BudgetSeconds ?? TrainingJobsApi.DefaultBudgetSeconds,
            request.Metric,
            request.Folds ?? TrainingJobsApi.DefaultFolds,
            request.Seed ?? TrainingJobsApi.DefaultSeed,
            request.MaxTrials,
            request.MaxAttempts ?? TrainingJobsApi.DefaultMaxAttempts,
            request.CompareWith);
        var queued = TrainingJob.Queued(id, model: request.ModelName!, dataset: dataset.Name, datasetVersion: dataset.Version,
            label: request.Label!, task: request.Task!.Value, trainer: TrainerName(request), positiveClass: request.PositiveClass, options,
            at: clock.GetUtcNow(), trainingSet, TrainingJobsApi.PriorityOf(request.Priority));
        var job = await jobs.AddAsync(queued, dataset.Columns, actor, cancellationToken);
        relay.Wake();
        return (job, null);
    }

    /// <summary>The field of a training job request that a field of the feature service's training-set request comes from.</summary>
    private static string TrainingRequestField(string featureField) => featureField switch
    {
        "name" => "featureService",
        "entityDataset" => "dataset",
        "entityDatasetVersion" => "datasetVersion",
        _ => featureField,
    };

    private static string TrainerName(SubmitTrainingJobRequest request) => request.Trainer switch
    {
        null => Trainers.DefaultFor(request.Task!.Value),
        var name when string.Equals(name, Trainers.Auto, StringComparison.OrdinalIgnoreCase) => Trainers.Auto,
        var name => Trainers.Canonical(request.Task!.Value, name)!,
    };
}

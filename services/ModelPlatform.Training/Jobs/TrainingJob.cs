using System.Text.Json.Serialization;
using ModelPlatform.Contracts;
using ModelPlatform.ML;

namespace ModelPlatform.Training.Jobs;

[JsonConverter(typeof(JsonStringEnumConverter<JobStatus>))]
public enum JobStatus
{
    [JsonStringEnumMemberName("queued")] Queued,
    [JsonStringEnumMemberName("running")] Running,
    [JsonStringEnumMemberName("succeeded")] Succeeded,
    [JsonStringEnumMemberName("failed")] Failed,
    [JsonStringEnumMemberName("cancelled")] Cancelled,
}

/// <summary>Job statuses as the API writes them: <c>queued</c>, <c>running</c>, <c>succeeded</c>, <c>failed</c>, <c>cancelled</c>.</summary>
public static class JobStatuses
{
    public static IReadOnlyList<string> Names => ApiNames<JobStatus>.All;

    public static string Name(JobStatus status) => ApiNames<JobStatus>.Name(status);

    /// <summary>Reads a status as the API writes it, in any letter case.</summary>
    public static bool TryParse(string text, out JobStatus status) => ApiNames<JobStatus>.TryParse(text, out status);
}

/// <param name="Dataset">The rows to train on; with <paramref name="FeatureService"/>, the entity rows (keys, a timestamp,
/// the label and any request-time columns) that the service's features are joined onto as of each row's time.</param>
/// <param name="TimestampField">With <paramref name="FeatureService"/>, the entity rows' timestamp column.</param>
/// <param name="CompareWith">An alias of the model (such as <c>production</c>): the version behind it is scored on the same
/// held-out rows as the new model, and the report's <c>comparison</c> holds both.</param>
/// <param name="Priority"><c>interactive</c> (the default) or <c>background</c>, for scheduled and bulk jobs: each runs in a
/// lane of its own, so an interactive job never waits behind a background one.</param>
public sealed record SubmitTrainingJobRequest(
    string? ModelName,
    string? Dataset,
    int? DatasetVersion,
    string? Label,
    MLTask? Task,
    string? Trainer = null,
    string? PositiveClass = null,
    Dictionary<string, double>? Hyperparameters = null,
    int? BudgetSeconds = null,
    string? Metric = null,
    int? Folds = null,
    int? Seed = null,
    int? MaxTrials = null,
    int? MaxAttempts = null,
    string? FeatureService = null,
    string? TimestampField = null,
    string? CompareWith = null,
    string? Priority = null);

/// <summary>How a job trains: the settings it was submitted with, defaults filled in.</summary>
public sealed record TrainingJobOptions(
    IReadOnlyDictionary<string, double>? Hyperparameters,
    int BudgetSeconds,
    string? Metric,
    int Folds,
    int Seed,
    int? MaxTrials,
    int MaxAttempts,
    string? CompareWith = null)
{
    public TrainingSettings ToSettings(string trainer) => new(trainer, Hyperparameters, BudgetSeconds, Metric, Seed, Folds, MaxTrials);
}

/// <summary>What a running job is doing: loading-data, searching, training, evaluating or registering.</summary>
public sealed record JobProgress(string Phase, double Percent);

/// <summary>What a finished job learned beyond its metrics.</summary>
/// <param name="Evaluation">How the metrics were measured (a hold-out, or cross-validation when the data is small).</param>
/// <param name="SearchSeconds">How long the automatic search took, against the job's <c>budgetSeconds</c>.</param>
/// <param name="Warnings">What to know before trusting the model (small data, a budget too small for it), also logged.</param>
/// <param name="Comparison">With <c>compareWith</c>: the model and the version behind that alias on the same held-out rows.</param>
public sealed record TrainingReport(
    string Trainer,
    IReadOnlyDictionary<string, double> Hyperparameters,
    IReadOnlyList<DroppedColumn> DroppedColumns,
    IReadOnlyList<SearchTrial>? Leaderboard,
    int TrainingRows,
    ModelEvaluation? Evaluation = null,
    double? SearchSeconds = null,
    IReadOnlyList<string>? Warnings = null,
    SearchEnsemble? Ensemble = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ModelComparison? Comparison = null);

public sealed record JobAttempt(int Attempt, string Worker, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt, string? Error);

public sealed record JobStatusChange(JobStatus Status, DateTimeOffset At, string? Detail);

public sealed record TrainingJob(
    Guid Id,
    JobStatus Status,
    JobPriority Priority,
    string ModelName,
    string Dataset,
    int DatasetVersion,
    string Label,
    MLTask Task,
    string Trainer,
    string? PositiveClass,
    TrainingJobOptions Options,
    JobProgress? Progress,
    bool CancelRequested,
    IReadOnlyDictionary<string, double>? Metrics,
    int? ModelVersion,
    string? Error,
    TrainingReport? Report,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    IReadOnlyList<JobAttempt>? Attempts = null,
    IReadOnlyList<JobStatusChange>? History = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] TrainingSetLineage? TrainingSet = null,
    [property: JsonIgnore] IReadOnlyList<ColumnSchema>? DatasetColumns = null)
{
    /// <summary>A job as it is accepted: queued to train <paramref name="model"/> on a dataset version, nothing run yet.</summary>
    /// <param name="trainingSet">When the dataset version is a training set a feature service joined: what from.</param>
    public static TrainingJob Queued(
        Guid id, string model, string dataset, int datasetVersion, string label, MLTask task, string trainer, string? positiveClass,
        TrainingJobOptions options, DateTimeOffset at, TrainingSetLineage? trainingSet = null, JobPriority priority = JobPriority.Interactive) =>
        new(id, JobStatus.Queued, priority, model, dataset, datasetVersion, label, task, trainer, positiveClass, options,
            Progress: null, CancelRequested: false, Metrics: null, ModelVersion: null, Error: null, Report: null,
            CreatedAt: at, StartedAt: null, FinishedAt: null, TrainingSet: trainingSet);

    /// <summary>
    /// Columns of the training set that are no inputs of the model: the entity keys and the rows' timestamp, which say
    /// which row and when rather than describing it. Served by entity key, the keys find the features instead.
    /// </summary>
    public IReadOnlyList<DroppedColumn> EntityColumns() => TrainingSet is null
        ? []
        : [
            .. TrainingSet.JoinKeys.Select(key => new DroppedColumn(key, "an entity key: it finds the features, and is no feature itself")),
            new DroppedColumn(TrainingSet.TimestampField, "the entity rows' timestamp: the time the features were joined as of"),
        ];
}

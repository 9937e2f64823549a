using ModelPlatform.Contracts;

namespace ModelPlatform.Training.Jobs;

/// <summary>Score every row of a dataset version with a model version (or the version an alias points at).</summary>
/// <param name="DatasetVersion">The version to score; the latest when left out.</param>
/// <param name="Output">The dataset the predictions become a version of; <c>{dataset}-predictions</c> when left out.</param>
/// <param name="Priority"><c>interactive</c> (the default) or <c>background</c>, as a training job's.</param>
public sealed record SubmitBatchPredictionRequest(
    string? Model,
    int? Version = null,
    string? Alias = null,
    string? Dataset = null,
    int? DatasetVersion = null,
    string? Output = null,
    int? MaxAttempts = null,
    string? Priority = null);

/// <summary>
/// A batch prediction job: a dataset version scored by a model version into a new version of <see cref="Output"/>, holding
/// the input's columns and the model's prediction columns.
/// </summary>
/// <param name="ModelVersion">The version that scores, resolved from <see cref="Alias"/> when the job was submitted by alias.</param>
/// <param name="Rows">The rows of the dataset version, each scored.</param>
/// <param name="OutputVersion">The version of <see cref="Output"/> the predictions became, once the job succeeded.</param>
/// <param name="PhaseSeconds">Where the successful attempt's time went, phase by phase (loading-model, loading-data, scoring, storing).</param>
public sealed record BatchPredictionJob(
    Guid Id,
    JobStatus Status,
    JobPriority Priority,
    string Model,
    int ModelVersion,
    string? Alias,
    string Dataset,
    int DatasetVersion,
    string Output,
    int? OutputVersion,
    int Rows,
    int MaxAttempts,
    JobProgress? Progress,
    bool CancelRequested,
    string? Error,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    IReadOnlyList<JobAttempt>? Attempts = null,
    IReadOnlyList<JobStatusChange>? History = null,
    IReadOnlyDictionary<string, double>? PhaseSeconds = null)
{
    /// <summary>A job as it is accepted: queued, nothing run yet.</summary>
    public static BatchPredictionJob Queued(
        Guid id, string model, int modelVersion, string? alias, string dataset, int datasetVersion, string output, int rows, int maxAttempts,
        DateTimeOffset at, JobPriority priority = JobPriority.Interactive) =>
        new(id, JobStatus.Queued, priority, model, modelVersion, alias, dataset, datasetVersion, output, OutputVersion: null, rows, maxAttempts,
            Progress: null, CancelRequested: false, Error: null, CreatedAt: at, StartedAt: null, FinishedAt: null);
}

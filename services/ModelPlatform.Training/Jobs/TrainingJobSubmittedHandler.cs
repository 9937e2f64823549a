using ModelPlatform.Contracts;
using ModelPlatform.Messaging;
using ModelPlatform.ML;

namespace ModelPlatform.Training.Jobs;

/// <summary>
/// Runs one training job (through <see cref="JobRunner"/>, which holds its lease and ends it on failure): reads the dataset,
/// trains (or searches) and evaluates, registers the model, and only then marks the job succeeded.
/// </summary>
public sealed partial class TrainingJobSubmittedHandler(
    TrainingJobStore jobs,
    FeatureClient features,
    RegistryClient registry,
    TrainingMetrics metrics,
    JobRunner runner,
    ILogger<TrainingJobSubmittedHandler> logger) : IIntegrationEventHandler<TrainingJobSubmitted>
{
    public Task HandleAsync(TrainingJobSubmitted @event, CancellationToken stopping) =>
        runner.RunAsync(jobs, @event.JobId, RunAsync, metrics.JobFinished, stopping);

    /// <summary>Trains the job's model; the dataset's columns are asked of the feature service only for a job stored without them.</summary>
    private async Task RunAsync(TrainingJob job, IProgress<TrainingProgress> progress, CancellationToken cancellationToken)
    {
        progress.Report(new TrainingProgress("loading-data", 0));
        var columns = job.DatasetColumns ?? (await features.GetVersionAsync(job.Dataset, job.DatasetVersion, cancellationToken))?.Columns ?? throw Gone();
        var table = await features.GetTableAsync(job.Dataset, job.DatasetVersion, columns, cancellationToken) ?? throw Gone();
        var data = TrainingData.Create(table, job.Label, job.Task, job.PositiveClass, job.EntityColumns());
        LogMemory(job.Id, "loaded");

        var (baselineVersion, baseline) = await LoadBaselineAsync(job, cancellationToken);
        using var baselineModel = baseline;

        // Training is CPU-bound: off the consumer's dispatch thread, and stopped through the token.
        var trained = await Task.Run(() => Train(data, job, progress, baseline, cancellationToken), cancellationToken).WaitAsync(cancellationToken);
        LogMemory(job.Id, "trained");

        progress.Report(new TrainingProgress("registering", 0));
        var version = await registry.RegisterAsync(
            job.ModelName,
            new RegisterModelVersionRequest(
                trained.Signature,
                trained.Metrics,
                new ModelLineage(job.Dataset, job.DatasetVersion, job.Id, trained.Trainer, job.TrainingSet),
                trained.Importance,
                OnnxExport: trained.OnnxExport is { } export ? new OnnxExportInfo(export.Binding, Reason: export.Reason) : null,
                Reference: trained.Reference),
            trained.Artifact,
            trained.OnnxExport?.Graph,
            cancellationToken);

        foreach (var warning in trained.Warnings)
        {
            LogTrainingWarning(job.Id, warning);
        }

        var report = new TrainingReport(
            trained.Trainer, trained.Hyperparameters, trained.DroppedColumns, trained.Leaderboard, data.Rows, trained.Evaluation, trained.SearchSeconds,
            trained.Warnings, trained.Ensemble, Comparison(job, baselineVersion, trained.Comparison));
        await jobs.SucceedAsync(job.Id, trained.Metrics, version.Version, report, CancellationToken.None);
        LogSucceeded(job.Id, job.ModelName, version.Version);

        TrainingDataException Gone() => new($"Dataset '{job.Dataset}' version {job.DatasetVersion} no longer exists.");
    }

    /// <summary>With <c>compareWith</c>: the version behind that alias, loaded; nothing when the alias points nowhere yet.</summary>
    private async Task<(ModelVersionInfo? Version, ModelPredictor? Model)> LoadBaselineAsync(TrainingJob job, CancellationToken cancellationToken)
    {
        if (job.Options.CompareWith is not { } alias || await registry.GetAliasAsync(job.ModelName, alias, cancellationToken) is not { } route)
        {
            return (null, null);
        }

        var version = await registry.GetVersionAsync(job.ModelName, route.Version, cancellationToken)
            ?? throw new InvalidOperationException($"{job.ModelName}'s {alias} points at version {route.Version}, which the registry does not have.");
        return (version, await registry.LoadAsync(version, cancellationToken));
    }

    private static ModelComparison? Comparison(TrainingJob job, ModelVersionInfo? baseline, HoldOutComparison? comparison) =>
        job.Options.CompareWith is not { } alias ? null
        : baseline is null ? new ModelComparison(alias, null, 0, null, null, $"{job.ModelName} has no alias '{alias}' yet: nothing to compare with")
        : new ModelComparison(alias, baseline.Version, comparison!.Rows, comparison.Candidate, comparison.Baseline,
            comparison.Problem is null ? null : $"version {baseline.Version} and the new model could not be compared: {comparison.Problem}");

    /// <summary>Trains; a failure of the training itself is a <see cref="TrainingFailedException"/>, not retried.</summary>
    private static TrainedModel Train(
        TrainingData data, TrainingJob job, IProgress<TrainingProgress> progress, ModelPredictor? baseline, CancellationToken cancellationToken)
    {
        try
        {
            return ModelTrainer.Train(data, job.Options.ToSettings(job.Trainer), progress, cancellationToken, baseline);
        }
        catch (Exception ex) when (ex is not (OperationCanceledException or TrainingDataException or OutOfMemoryException))
        {
            // Memory may be there on another attempt or worker; nothing else about the run would change.
            throw new TrainingFailedException(ex);
        }
    }

    /// <summary>
    /// Logs the worker's memory at a point of a job (a worker runs one job at a time): what the process holds resident, beside
    /// the managed heap as the GC counted it at its last collection. Resident memory above the GC's committed bytes is the
    /// runtime's own, native memory (LightGBM's), or heap the GC has freed and kept. docs/performance.md reads these lines.
    /// </summary>
    private void LogMemory(Guid jobId, string point)
    {
        var gc = GC.GetGCMemoryInfo();
        LogMemory(jobId, point, MiB(Environment.WorkingSet), MiB(gc.HeapSizeBytes), MiB(gc.FragmentedBytes), MiB(gc.TotalCommittedBytes),
            MiB(GC.GetTotalMemory(forceFullCollection: false)));

        static long MiB(long bytes) => bytes >> 20;
    }

    [LoggerMessage(LogLevel.Information, "Job {JobId} memory when {Point}: resident {ResidentMiB} MiB; managed heap {HeapMiB} MiB at the last GC, "
        + "{FreeMiB} MiB of it free; GC committed {CommittedMiB} MiB; allocated now {AllocatedMiB} MiB")]
    private partial void LogMemory(Guid jobId, string point, long residentMiB, long heapMiB, long freeMiB, long committedMiB, long allocatedMiB);

    [LoggerMessage(LogLevel.Information, "Job {JobId} registered {ModelName} version {Version}")]
    private partial void LogSucceeded(Guid jobId, string modelName, int version);

    [LoggerMessage(LogLevel.Warning, "Job {JobId}: {Warning}")]
    private partial void LogTrainingWarning(Guid jobId, string warning);
}

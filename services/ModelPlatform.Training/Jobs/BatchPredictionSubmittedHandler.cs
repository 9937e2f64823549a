using System.Diagnostics;
using ModelPlatform.Contracts;
using ModelPlatform.Messaging;
using ModelPlatform.ML;

namespace ModelPlatform.Training.Jobs;

/// <summary>
/// Runs one batch prediction job (through <see cref="JobRunner"/>, which holds its lease and ends it on failure): loads the
/// model version, downloads the dataset version's file, scores it a row group at a time into a file of predictions, stores
/// that as a new dataset version, and only then marks the job succeeded. A retry after the version was stored finds it: the
/// feature service answers a job's upload sent again with the version it made.
/// </summary>
public sealed partial class BatchPredictionSubmittedHandler(
    BatchPredictionStore jobs,
    FeatureClient features,
    RegistryClient registry,
    TrainingMetrics metrics,
    JobRunner runner,
    ILogger<BatchPredictionSubmittedHandler> logger) : IIntegrationEventHandler<BatchPredictionSubmitted>
{
    public Task HandleAsync(BatchPredictionSubmitted @event, CancellationToken stopping) =>
        runner.RunAsync(jobs, @event.JobId, RunAsync, metrics.BatchPredictionFinished, stopping);

    private async Task RunAsync(BatchPredictionJob job, IProgress<TrainingProgress> progress, CancellationToken cancellationToken)
    {
        var phases = new PhaseClock(progress);
        phases.Start("loading-model");
        var version = await registry.GetVersionAsync(job.Model, job.ModelVersion, cancellationToken)
            ?? throw new TrainingDataException($"Model '{job.Model}' version {job.ModelVersion} no longer exists.");
        using var model = await registry.LoadAsync(version, cancellationToken);

        phases.Start("loading-data");
        var dataset = await features.GetVersionAsync(job.Dataset, job.DatasetVersion, cancellationToken) ?? throw Gone();
        if (BatchScoring.InputProblem(dataset.Columns, version.Signature) is { } problem)
        {
            throw new TrainingDataException($"{job.Dataset} v{job.DatasetVersion} {problem}.");
        }

        await using var input = await features.DownloadAsync(job.Dataset, job.DatasetVersion, cancellationToken) ?? throw Gone();
        await using var output = FeatureClient.TemporaryFile();
        phases.Start("scoring");
        // Scoring is CPU-bound: off the consumer's dispatch thread.
        var rows = await Task.Run(
            () => BatchScoring.ScoreAsync(input, dataset.Columns, dataset.Rows, model, output, progress, cancellationToken), cancellationToken);
        metrics.RowsScored(rows);

        phases.Start("storing");
        output.Position = 0;
        var stored = await features.UploadPredictionsAsync(
            job.Output, BatchScoring.OutputColumns(dataset.Columns, version.Signature),
            new PredictionLineage(job.Dataset, job.DatasetVersion, job.Model, job.ModelVersion, job.Id), output, cancellationToken);
        await jobs.SucceedAsync(job.Id, stored.Version, phases.Stop(), CancellationToken.None);
        LogSucceeded(job.Id, rows, job.Output, stored.Version);

        TrainingDataException Gone() => new($"Dataset '{job.Dataset}' version {job.DatasetVersion} no longer exists.");
    }

    /// <summary>Reports each phase as it starts, and times it.</summary>
    private sealed class PhaseClock(IProgress<TrainingProgress> progress)
    {
        private readonly Dictionary<string, double> _seconds = [];
        private (string Name, long Started)? _current;

        public void Start(string phase)
        {
            Stop();
            progress.Report(new TrainingProgress(phase, 0));
            _current = (phase, Stopwatch.GetTimestamp());
        }

        public IReadOnlyDictionary<string, double> Stop()
        {
            if (_current is var (name, started))
            {
                _seconds[name] = Math.Round(Stopwatch.GetElapsedTime(started).TotalSeconds, 3);
                _current = null;
            }

            return _seconds;
        }
    }

    [LoggerMessage(LogLevel.Information, "Batch prediction {JobId} scored {Rows} rows into {Output} version {Version}")]
    private partial void LogSucceeded(Guid jobId, long rows, string output, int version);
}

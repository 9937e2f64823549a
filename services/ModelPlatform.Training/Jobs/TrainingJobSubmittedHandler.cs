using System.Diagnostics;
using System.Diagnostics.Metrics;
using ModelPlatform.Contracts;
using ModelPlatform.Messaging;
using ModelPlatform.ML;

namespace ModelPlatform.Training.Jobs;

/// <summary>
/// Runs one training job: reads the dataset, trains and evaluates the pipeline, registers the model, and
/// only then marks the job succeeded (the message is acked after this returns). A redelivered message for a
/// finished job does nothing, and the registry refuses a second version for the same job.
/// </summary>
public sealed partial class TrainingJobSubmittedHandler(
    TrainingJobStore jobs,
    FeatureClient features,
    RegistryClient registry,
    TrainingMetrics metrics,
    ILogger<TrainingJobSubmittedHandler> logger) : IIntegrationEventHandler<TrainingJobSubmitted>
{
    public async Task HandleAsync(TrainingJobSubmitted @event, CancellationToken cancellationToken)
    {
        var job = await jobs.GetAsync(@event.JobId, cancellationToken);
        if (job is null || job.Status is JobStatus.Succeeded or JobStatus.Failed)
        {
            LogSkipped(@event.JobId, job?.Status);
            return;
        }

        Activity.Current?.SetTag("training.job.id", job.Id);
        await jobs.MarkRunningAsync(job.Id, cancellationToken);
        var started = Stopwatch.GetTimestamp();
        try
        {
            var rows = await features.GetRowsAsync(job.Dataset, job.DatasetVersion, cancellationToken);
            var dataset = await features.GetVersionAsync(job.Dataset, job.DatasetVersion, cancellationToken)
                ?? throw new TrainingDataException($"Dataset '{job.Dataset}' version {job.DatasetVersion} no longer exists.");
            var data = TrainingData.Create(dataset.Columns, job.Label, job.Task, rows, job.PositiveClass);

            // Training is CPU-bound; keep it off the consumer's dispatch thread.
            var trained = await Task.Run(() => ModelTrainer.Train(data, new TrainingSettings(job.Trainer)), cancellationToken);
            var version = await registry.RegisterAsync(
                job.ModelName,
                new RegisterModelVersionRequest(trained.Signature, trained.Metrics, new ModelLineage(job.Dataset, job.DatasetVersion, job.Id, trained.Trainer)),
                trained.Artifact,
                cancellationToken);

            await jobs.MarkSucceededAsync(job.Id, trained.Metrics, version.Version, CancellationToken.None);
            metrics.JobFinished(job, "succeeded", Stopwatch.GetElapsedTime(started));
            LogSucceeded(job.Id, job.ModelName, version.Version);
        }
        catch (TrainingDataException ex)
        {
            // The data cannot train this model: retrying would fail the same way.
            await jobs.MarkFailedAsync(job.Id, ex.Message, CancellationToken.None);
            metrics.JobFinished(job, "failed", Stopwatch.GetElapsedTime(started));
            LogFailed(ex, job.Id);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            await jobs.MarkFailedAsync(job.Id, ex.Message, CancellationToken.None);
            metrics.JobFinished(job, "failed", Stopwatch.GetElapsedTime(started));
            throw;
        }
    }

    [LoggerMessage(LogLevel.Information, "Job {JobId} is {Status}; nothing to do")]
    private partial void LogSkipped(Guid jobId, JobStatus? status);

    [LoggerMessage(LogLevel.Information, "Job {JobId} registered {ModelName} version {Version}")]
    private partial void LogSucceeded(Guid jobId, string modelName, int version);

    [LoggerMessage(LogLevel.Warning, "Job {JobId} failed")]
    private partial void LogFailed(Exception exception, Guid jobId);
}

/// <summary>Training metrics, shown in the Aspire dashboard under the ModelPlatform.Training meter.</summary>
public sealed class TrainingMetrics
{
    public const string MeterName = "ModelPlatform.Training";

    private readonly Counter<long> _jobs;
    private readonly Histogram<double> _duration;

    public TrainingMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _jobs = meter.CreateCounter<long>("modelplatform.training.jobs", unit: "{job}", description: "Training jobs finished, by outcome");
        _duration = meter.CreateHistogram<double>("modelplatform.training.duration", unit: "s", description: "Time from a job starting to its model being registered");
    }

    public void JobFinished(TrainingJob job, string outcome, TimeSpan duration)
    {
        var tags = new TagList { { "outcome", outcome }, { "task", job.Task.ToString().ToLowerInvariant() }, { "trainer", job.Trainer } };
        _jobs.Add(1, tags);
        _duration.Record(duration.TotalSeconds, tags);
    }
}

using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ModelPlatform.Training.Jobs;

/// <summary>Training and batch prediction metrics, shown in the Aspire dashboard under the ModelPlatform.Training meter.</summary>
public sealed class TrainingMetrics
{
    public const string MeterName = "ModelPlatform.Training";

    private readonly Counter<long> _jobs;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _batchPredictions;
    private readonly Histogram<double> _batchDuration;
    private readonly Counter<long> _rowsScored;

    public TrainingMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _jobs = meter.CreateCounter<long>("modelplatform.training.jobs", unit: "{job}", description: "Training jobs finished, by outcome");
        _duration = meter.CreateHistogram<double>("modelplatform.training.duration", unit: "s",
            description: "Time from a job starting to its model being registered");
        _batchPredictions = meter.CreateCounter<long>(
            "modelplatform.batch_prediction.jobs", unit: "{job}", description: "Batch prediction jobs finished, by outcome");
        _batchDuration = meter.CreateHistogram<double>("modelplatform.batch_prediction.duration", unit: "s",
            description: "Time from a batch prediction job starting to its predictions being stored");
        _rowsScored = meter.CreateCounter<long>("modelplatform.batch_prediction.rows", unit: "{row}", description: "Rows scored by batch prediction jobs");
    }

    public void JobFinished(TrainingJob job, string outcome, TimeSpan duration)
    {
        var tags = new TagList { { "outcome", outcome }, { "task", job.Task.ToString().ToLowerInvariant() }, { "trainer", job.Trainer } };
        _jobs.Add(1, tags);
        _duration.Record(duration.TotalSeconds, tags);
    }

    public void BatchPredictionFinished(BatchPredictionJob job, string outcome, TimeSpan duration)
    {
        var tags = new TagList { { "outcome", outcome }, { "model", job.Model } };
        _batchPredictions.Add(1, tags);
        _batchDuration.Record(duration.TotalSeconds, tags);
    }

    public void RowsScored(long rows) => _rowsScored.Add(rows);
}

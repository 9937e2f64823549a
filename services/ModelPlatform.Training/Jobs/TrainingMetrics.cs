using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ModelPlatform.Training.Jobs;

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
        _duration = meter.CreateHistogram<double>("modelplatform.training.duration", unit: "s",
            description: "Time from a job starting to its model being registered");
    }

    public void JobFinished(TrainingJob job, string outcome, TimeSpan duration)
    {
        var tags = new TagList { { "outcome", outcome }, { "task", job.Task.ToString().ToLowerInvariant() }, { "trainer", job.Trainer } };
        _jobs.Add(1, tags);
        _duration.Record(duration.TotalSeconds, tags);
    }
}

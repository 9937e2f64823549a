using System.Diagnostics;
using System.Diagnostics.Metrics;
using ModelPlatform.Contracts;
using ModelPlatform.Training.Jobs;

namespace ModelPlatform.Training.Pipelines;

/// <summary>Pipeline metrics, under the ModelPlatform.Training meter in the Aspire dashboard.</summary>
public sealed class PipelineMetrics
{
    // A run takes from seconds (a small model, no soak) to days (a long soak).
    private static readonly InstrumentAdvice<double> SecondsAdvice = new()
    {
        HistogramBucketBoundaries = [1, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 7 * 24 * 3600],
    };

    private readonly Counter<long> _runs;
    private readonly Histogram<double> _toProduction;

    public PipelineMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(TrainingMetrics.MeterName);
        _runs = meter.CreateCounter<long>("modelplatform.pipeline.runs", unit: "{run}", description: "Pipeline runs ended, by pipeline and outcome");
        _toProduction = meter.CreateHistogram("modelplatform.pipeline.time_to_production", unit: "s",
            description: "Time from a run's trigger to its candidate serving as production", advice: SecondsAdvice);
    }

    /// <summary>Counts a run that ended.</summary>
    public void RunEnded(PipelineRun run, string outcome) =>
        _runs.Add(1, new TagList { { "pipeline", run.Pipeline }, { "outcome", outcome }, { "trigger", run.Trigger.Kind } });

    /// <summary>Times a run whose candidate came to serve all of production at <paramref name="now"/> (the pipelines' clock).</summary>
    public void ReachedProduction(PipelineRun run, DateTimeOffset now) =>
        _toProduction.Record((now - run.TriggeredAt).TotalSeconds, new TagList { { "pipeline", run.Pipeline }, { "trigger", run.Trigger.Kind } });
}

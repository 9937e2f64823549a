using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ModelPlatform.Features.Online;

/// <summary>
/// The online store's spans and metrics, under the name ServiceDefaults picks up (<c>ModelPlatform.*</c>).
/// </summary>
public static class OnlineTelemetry
{
    public const string Name = "ModelPlatform.Features.Online";

    internal static readonly ActivitySource Source = new(Name);

    private static readonly Meter Meter = new(Name);

    // A read of a few hundred values takes well under a millisecond to a few; the default buckets start at 5 s.
    private static readonly InstrumentAdvice<double> SecondsAdvice = new()
    {
        HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    };

    internal static readonly Counter<long> RowsWritten = Meter.CreateCounter<long>("modelplatform.features.online.rows.written", "{row}",
        "Rows materialization stored in the online store, by feature view");

    internal static readonly Counter<long> RowsSkipped = Meter.CreateCounter<long>("modelplatform.features.online.rows.skipped", "{row}",
        "Rows materialization left out because the online store already held a row as new or newer, by feature view");

    internal static readonly Histogram<double> WriteDuration = Meter.CreateHistogram("modelplatform.features.online.write.duration", "s",
        "Time to write one batch of rows of a feature view", advice: SecondsAdvice);

    internal static readonly Histogram<double> ReadDuration = Meter.CreateHistogram("modelplatform.features.online.read.duration", "s",
        "Time to read one request's features for all its entities", advice: SecondsAdvice);

    internal static readonly Counter<long> Values = Meter.CreateCounter<long>("modelplatform.features.online.values", "{value}",
        "Feature values read, by feature view and status (present, null, not_found, outside_max_age)");

    internal const string ViewTag = "feature_view";
    internal const string StatusTag = "status";
}

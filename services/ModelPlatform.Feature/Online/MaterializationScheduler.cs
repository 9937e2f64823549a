using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using ModelPlatform.Feature.Datasets;
using ModelPlatform.Feature.Definitions;
using ModelPlatform.Features;
using ModelPlatform.Storage;

namespace ModelPlatform.Feature.Online;

/// <summary>
/// Materializes the online views that have a schedule (<see cref="FeatureViewDefinition.MaterializeEverySeconds"/>) on their
/// own, from the last run on, as Feast's materialize_incremental. Every replica checks every
/// <see cref="FeatureOptions.MaterializationCheckSeconds"/>, with no leader: a due view runs on the replica that claims it
/// (<see cref="MaterializationLeases"/>). A view that fails is logged, counted and tried again later; the others go on.
/// </summary>
public sealed partial class MaterializationScheduler(
    DefinitionStore definitions,
    DatasetStore datasets,
    Materialization materialization,
    MaterializationLeases leases,
    IOptions<FeatureOptions> options,
    TimeProvider clock,
    IMeterFactory meterFactory,
    ILogger<MaterializationScheduler> logger) : BackgroundService
{
    /// <summary>The longest a view that failed waits for its next try; one with a shorter schedule waits one interval.</summary>
    public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMinutes(5);

    // Runs take from milliseconds (nothing new) to minutes (a first run over a large dataset).
    private static readonly InstrumentAdvice<double> SecondsAdvice = new()
    {
        HistogramBucketBoundaries = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600],
    };

    private readonly Counter<long> _runs = meterFactory.Create(Materialization.TelemetryName).CreateCounter<long>(
        "modelplatform.feature.materialization.scheduled_runs", "{run}", "Scheduled materializations, by feature view and outcome");

    private readonly Histogram<double> _duration = meterFactory.Create(Materialization.TelemetryName).CreateHistogram(
        "modelplatform.feature.materialization.scheduled_run.duration", "s", "Time a scheduled materialization took", advice: SecondsAdvice);

    // Its own per instance, so two schedulers in one process (as in the tests) are two replicas.
    private readonly string _owner = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.MaterializationCheckSeconds), clock);
        try
        {
            do
            {
                try
                {
                    await RunDueAsync(stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    LogCheckFailed(ex);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Runs, one after another, each scheduled view that is due and that this replica claims; returns how many succeeded.</summary>
    public async Task<int> RunDueAsync(CancellationToken cancellationToken)
    {
        var lease = TimeSpan.FromSeconds(options.Value.MaterializationLeaseSeconds);
        var views = (await definitions.ListAsync(DefinitionKind<FeatureViewDefinition>.FeatureView, cancellationToken))
            .Select(version => version.Definition).Where(view => view.Online && view.MaterializeEvery is not null);
        var succeeded = 0;
        foreach (var view in views)
        {
            try
            {
                // A view whose dataset has no version yet waits: a run would move its window past the rows the first upload brings.
                if (await datasets.GetVersionAsync(view.Dataset, null, cancellationToken) is not null
                    && await leases.TryClaimAsync(view.Name, view.MaterializeEvery!.Value, _owner, lease, cancellationToken)
                    && await RunClaimedAsync(view, cancellationToken))
                {
                    succeeded++;
                }
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                LogClaimFailed(ex, view.Name);
            }
        }

        return succeeded;
    }

    private async Task<bool> RunClaimedAsync(FeatureViewDefinition view, CancellationToken cancellationToken)
    {
        using var activity = Materialization.Source.StartActivity($"scheduled materialize {view.Name}");
        var started = clock.GetTimestamp();
        DateTimeOffset? retryAt = null;
        try
        {
            // The platform's own change, under this trace.
            var actor = AuditActor.Platform with { Name = "materialization schedule" };
            await materialization.RunAsync(view.Name, new MaterializeRequest(), actor, scheduled: true, cancellationToken);
            Count(view, "succeeded", started);
            return true;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            var every = view.MaterializeEvery!.Value;
            retryAt = clock.GetUtcNow() + (every < MaxRetryDelay ? every : MaxRetryDelay);
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            Count(view, "failed", started);
            LogRunFailed(ex, view.Name, retryAt.Value);
            return false;
        }
        finally
        {
            // Not cancellable: a replica that stops gives the view back at once, for another to run.
            await leases.ReleaseAsync(view.Name, _owner, retryAt, CancellationToken.None);
        }
    }

    private void Count(FeatureViewDefinition view, string outcome, long started)
    {
        var tags = new TagList { { "feature_view", view.Name }, { "outcome", outcome } };
        _runs.Add(1, tags);
        _duration.Record(clock.GetElapsedTime(started).TotalSeconds, tags);
    }

    [LoggerMessage(LogLevel.Error, "Scheduled materialization of feature view {View} failed; it is tried again from {RetryAt:O}")]
    private partial void LogRunFailed(Exception exception, string view, DateTimeOffset retryAt);

    [LoggerMessage(LogLevel.Warning, "Looking whether feature view {View} is due failed; trying again at the next check")]
    private partial void LogClaimFailed(Exception exception, string view);

    [LoggerMessage(LogLevel.Warning, "Looking for feature views due for materialization failed; trying again at the next check")]
    private partial void LogCheckFailed(Exception exception);
}

using Microsoft.Extensions.Options;
using ModelPlatform.Contracts;

namespace ModelPlatform.Training.Pipelines;

/// <summary>
/// Runs pipelines, on every replica, with no leader: at each check it starts the runs whose schedule ticked or whose new data
/// waited out its debounce (<see cref="PipelineStore.TriggerDueAsync"/>, one run per tick whichever replica sees it first),
/// then takes each active run it can lease its next step (<see cref="PipelineRunner"/>). A tick that passed while every
/// replica was down is due at the first check after start, and runs once.
/// </summary>
public sealed partial class PipelineScheduler(
    PipelineStore pipelines,
    IServiceScopeFactory scopes,
    PipelineMetrics metrics,
    PipelineClock clock,
    PipelineWakeUp wakeUp,
    IOptions<PipelineOptions> options,
    ILogger<PipelineScheduler> logger) : BackgroundService
{
    /// <summary>A run takes at most this many steps in one check (say, trained, then gated and promoted).</summary>
    private const int MaxStepsPerCheck = 4;

    // Its own per instance, so two schedulers in one process (as in the tests) are two replicas.
    private readonly string _owner = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await CheckAsync(stoppingToken);
                await wakeUp.WaitAsync(TimeSpan.FromSeconds(options.Value.CheckSeconds), stoppingToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Starts the runs that are due, then takes every active run this replica can lease as far as it can go now.</summary>
    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            foreach (var run in await pipelines.TriggerDueAsync(clock.GetUtcNow(), cancellationToken))
            {
                LogTriggered(run.Pipeline, run.Id, run.Trigger.Kind, run.Status);
                if (run.Status == PipelineRunStatuses.Skipped)
                {
                    metrics.RunEnded(run, run.Status);
                }
            }
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogTriggerFailed(ex);
        }

        IReadOnlyList<PipelineRun> active;
        try
        {
            active = await pipelines.ListActiveRunsAsync(cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogStepFailed(ex, "(any)", Guid.Empty);
            return;
        }

        foreach (var run in active)
        {
            await AdvanceAsync(run, cancellationToken);
        }
    }

    private async Task AdvanceAsync(PipelineRun run, CancellationToken cancellationToken)
    {
        var lease = TimeSpan.FromSeconds(options.Value.RunLeaseSeconds);
        try
        {
            if (!await pipelines.TryLeaseRunAsync(run.Id, _owner, clock.GetUtcNow() + lease, cancellationToken))
            {
                return;
            }

            await using var scope = scopes.CreateAsyncScope();
            var runner = scope.ServiceProvider.GetRequiredService<PipelineRunner>();
            // Read again under the lease: another replica may have taken the step between the list and the lease.
            var current = await pipelines.GetRunAsync(run.Id, cancellationToken);
            for (var step = 0; step < MaxStepsPerCheck && current is not null && PipelineRunStatuses.Active.Contains(current.Status); step++)
            {
                if (!await runner.AdvanceAsync(current, cancellationToken))
                {
                    break;
                }

                current = await pipelines.GetRunAsync(run.Id, cancellationToken);
            }
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Most often a service out of reach: the step is taken again at the next check.
            LogStepFailed(ex, run.Pipeline, run.Id);
        }
        finally
        {
            // Not cancellable: a replica that stops gives its runs back at once, for another to take.
            await pipelines.ReleaseRunAsync(run.Id, _owner, CancellationToken.None);
        }
    }

    [LoggerMessage(LogLevel.Information, "Pipeline {Pipeline} triggered run {RunId} ({Trigger}): {Status}")]
    private partial void LogTriggered(string pipeline, Guid runId, string trigger, string status);

    [LoggerMessage(LogLevel.Warning, "Looking for pipelines due to run failed; trying again at the next check")]
    private partial void LogTriggerFailed(Exception exception);

    [LoggerMessage(LogLevel.Warning, "Taking pipeline {Pipeline} run {RunId} its next step failed; trying again at the next check")]
    private partial void LogStepFailed(Exception exception, string pipeline, Guid runId);
}

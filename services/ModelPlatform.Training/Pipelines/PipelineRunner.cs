using ModelPlatform.Contracts;
using ModelPlatform.Storage;
using ModelPlatform.Training.Jobs;

namespace ModelPlatform.Training.Pipelines;

/// <summary>
/// Takes a pipeline run its next step: submits its training job (an ordinary one, with the run's id, so a step taken twice
/// submits it once), follows the job, applies the gate to the candidate it registered, and promotes a candidate that passes.
/// A step that cannot be taken now (a service unreachable) is tried again at the next check; a run that cannot go on ends,
/// with the reason.
/// </summary>
public sealed partial class PipelineRunner(
    PipelineStore pipelines,
    TrainingJobStore jobs,
    TrainingJobSubmitter submitter,
    RegistryClient registry,
    PipelineMetrics metrics,
    PipelineClock clock,
    ILogger<PipelineRunner> logger)
{
    public const string ProductionAlias = "production";

    /// <summary>Takes the run's next step, if it has one now; returns whether it moved.</summary>
    public async Task<bool> AdvanceAsync(PipelineRun run, CancellationToken cancellationToken)
    {
        var definition = (await pipelines.ListVersionsAsync(run.Pipeline, cancellationToken))
            .Single(version => version.Version == run.PipelineVersion).Definition;
        var change = run.Status switch
        {
            PipelineRunStatuses.Pending => await SubmitJobAsync(run, definition, cancellationToken),
            PipelineRunStatuses.Training => await FollowJobAsync(run, definition, cancellationToken),
            PipelineRunStatuses.Gating => await GateAsync(run, definition, cancellationToken),
            _ => null,
        };
        if (change is null)
        {
            return false;
        }

        if (!await pipelines.AdvanceAsync(run, change, cancellationToken))
        {
            return false;
        }

        if (!PipelineRunStatuses.Active.Contains(change.Status))
        {
            metrics.RunEnded(run, change.Status, clock.GetUtcNow());
            LogRunEnded(run.Pipeline, run.Id, change.Status, change.Reason ?? change.Detail);
        }

        return true;
    }

    private async Task<RunChange> SubmitJobAsync(PipelineRun run, PipelineDefinition definition, CancellationToken cancellationToken)
    {
        // A step retried after the job was stored (a crash in between) finds it rather than submitting another.
        if (await jobs.GetAsync(run.Id, cancellationToken) is { } submitted)
        {
            return Submitted(submitted);
        }

        var request = PipelineValidation.JobRequest(definition) with
        {
            CompareWith = definition.Gate is null ? null : ProductionAlias,
        };
        var (job, errors) = await submitter.SubmitAsync(request, run.Id, AuditActor.Pipeline(run.Pipeline), cancellationToken);
        if (job is not null)
        {
            return Submitted(job);
        }

        var reason = "the training job was refused: " + string.Join("; ", errors!.Select(error => $"{error.Key}: {string.Join(" ", error.Value)}"));
        return new RunChange(PipelineRunStatuses.Failed, "failed", reason, Reason: reason);

        static RunChange Submitted(TrainingJob job) =>
            new(PipelineRunStatuses.Training, "training", $"training job {job.Id} queued on {job.Dataset} v{job.DatasetVersion}", JobId: job.Id);
    }

    private async Task<RunChange?> FollowJobAsync(PipelineRun run, PipelineDefinition definition, CancellationToken cancellationToken)
    {
        var job = await jobs.GetAsync(run.JobId!.Value, cancellationToken);
        switch (job?.Status)
        {
            case JobStatus.Queued or JobStatus.Running:
                return null;
            case JobStatus.Succeeded:
                var metric = definition.Gate?.Metric ?? job.Options.Metric;
                var measured = metric is not null && job.Metrics!.TryGetValue(metric, out var value) ? $"; {metric} {value:0.####}" : "";
                return new RunChange(PipelineRunStatuses.Gating, "trained", $"job {job.Id} registered {job.ModelName} v{job.ModelVersion}{measured}",
                    CandidateVersion: job.ModelVersion);
            case JobStatus.Cancelled:
                return new RunChange(PipelineRunStatuses.Cancelled, "cancelled", $"training job {job.Id} was cancelled",
                    Reason: "its training job was cancelled");
            default:
                var reason = $"the training job failed: {job?.Error ?? "it no longer exists"}";
                return new RunChange(PipelineRunStatuses.Failed, "failed", reason, Reason: reason);
        }
    }

    private async Task<RunChange> GateAsync(PipelineRun run, PipelineDefinition definition, CancellationToken cancellationToken)
    {
        if (definition.Gate is not { } gate)
        {
            const string ungated = "the pipeline has no gate: the candidate stays a registered version";
            return new RunChange(PipelineRunStatuses.Registered, "registered", ungated, Reason: ungated);
        }

        var job = (await jobs.GetAsync(run.JobId!.Value, cancellationToken))!;
        var comparison = job.Report?.Comparison
            ?? new ModelComparison(ProductionAlias, null, 0, null, null, "the training job did not compare its model with production");
        var verdict = PromotionGates.Decide(gate, job.Task, comparison, job.Metrics!);
        if (!verdict.Passed)
        {
            return new RunChange(PipelineRunStatuses.Registered, "gate failed", verdict.Reason, BaselineVersion: comparison.Version, Gate: verdict,
                Reason: $"failed its gate: {verdict.Reason}");
        }

        var moved = await registry.SetAliasAsync(job.ModelName, ProductionAlias, new SetAliasRequest(run.CandidateVersion!.Value), run.Pipeline,
            cancellationToken);
        var from = moved.PreviousVersion is { } previous ? $"from v{previous} " : "";
        return new RunChange(PipelineRunStatuses.Promoted, "promoted", $"gate passed ({verdict.Reason}); {ProductionAlias} moved {from}to v{moved.Version}",
            BaselineVersion: comparison.Version, Gate: verdict);
    }

    [LoggerMessage(LogLevel.Information, "Pipeline {Pipeline} run {RunId} ended {Status}: {Reason}")]
    private partial void LogRunEnded(string pipeline, Guid runId, string status, string reason);
}

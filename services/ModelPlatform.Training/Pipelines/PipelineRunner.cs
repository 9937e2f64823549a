using ModelPlatform.Contracts;
using ModelPlatform.Storage;
using ModelPlatform.Training.Jobs;

namespace ModelPlatform.Training.Pipelines;

/// <summary>
/// Takes a pipeline run its next step: submits its training job (an ordinary one, with the run's id, so a step taken twice
/// submits it once), follows the job, applies the gate to the candidate it registered, and rolls out a candidate that passes:
/// a canary beside the current version, then <c>production</c>, then a watch, rolling back when a live check fails or an alarm
/// trips. A step that cannot be taken now (a service unreachable) is tried again at the next check; a run that cannot go on
/// ends, with the reason. Every alias move is made idempotently (the same route set again), so a step retried after a crash
/// between the move and its record does no harm.
/// </summary>
public sealed partial class PipelineRunner(
    PipelineStore pipelines,
    TrainingJobStore jobs,
    TrainingJobSubmitter submitter,
    RegistryClient registry,
    InferenceClient inference,
    PipelineMetrics metrics,
    PipelineClock clock,
    ILogger<PipelineRunner> logger)
{
    public const string ProductionAlias = "production";

    /// <summary>Takes the run's next step, if it has one now; returns whether it moved.</summary>
    public async Task<bool> AdvanceAsync(PipelineRun run, CancellationToken cancellationToken)
    {
        var definition = (await pipelines.GetVersionAsync(run.Pipeline, run.PipelineVersion, cancellationToken))!.Definition;
        var change = run.Status switch
        {
            PipelineRunStatuses.Pending => await SubmitJobAsync(run, definition, cancellationToken),
            PipelineRunStatuses.Training => await FollowJobAsync(run, definition, cancellationToken),
            PipelineRunStatuses.Gating => await GateAsync(run, definition, cancellationToken),
            PipelineRunStatuses.Canary or PipelineRunStatuses.Watching => await RolloutAsync(run, definition, cancellationToken),
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

        if (change.ReachedProduction)
        {
            metrics.ReachedProduction(run, clock.GetUtcNow());
        }

        if (!PipelineRunStatuses.Active.Contains(change.Status))
        {
            metrics.RunEnded(run, change.Status);
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

        var (model, candidate) = (job.ModelName, run.CandidateVersion!.Value);
        var passed = $"gate passed ({verdict.Reason})";
        // The version production serves now is the control and where a rollback goes (it may have moved since the job compared).
        var control = (await registry.GetAliasAsync(model, ProductionAlias, cancellationToken))?.Version;
        if (definition.Rollout is { } rollout && control is { } current && current != candidate)
        {
            var percent = rollout.CanaryPercent ?? PipelineValidation.DefaultCanaryPercent;
            var shadowed = rollout.Current != PipelineRollout.Control;
            var route = new SetAliasRequest(current, new CanaryRoute(candidate, percent), shadowed ? current : null);
            // Read before the canary starts: the phase is judged on what comes after.
            var state = new RolloutState(PipelineRunStatuses.Canary, candidate, current, route, clock.GetUtcNow(),
                await inference.GetLiveTrafficAsync(model, candidate, cancellationToken),
                await inference.GetLiveTrafficAsync(model, current, cancellationToken),
                shadowed ? await inference.GetShadowAsync(model, candidate, current, cancellationToken) : null);
            await MoveProductionAsync(run, model, route, cancellationToken);
            var role = shadowed ? "answers the rest and shadows the canary" : "answers the rest";
            return new RunChange(PipelineRunStatuses.Canary, "canary", $"{passed}; {percent}% of {ProductionAlias} to v{candidate}, v{current} {role}",
                BaselineVersion: comparison.Version, Gate: verdict, Rollout: state);
        }

        return await PromoteAsync(run, definition, model, candidate, control, passed, cancellationToken) with
        {
            BaselineVersion = comparison.Version,
            Gate = verdict,
        };
    }

    /// <summary>Moves production to the candidate; then watches it when there are alarms and a version to go back to.</summary>
    private async Task<RunChange> PromoteAsync(
        PipelineRun run, PipelineDefinition definition, string model, int candidate, int? control, string why, CancellationToken cancellationToken)
    {
        var route = new SetAliasRequest(candidate);
        var watched = definition.Alarms is { } alarms && (alarms.WatchSeconds ?? PipelineValidation.DefaultWatchSeconds) > 0
            && control is { } back && back != candidate;
        // Only a watch needs the inference service: its reading before the move is where the watch's window starts.
        var candidateNow = watched ? await inference.GetLiveTrafficAsync(model, candidate, cancellationToken) : null;
        await MoveProductionAsync(run, model, route, cancellationToken);
        var from = control is { } previous && previous != candidate ? $"from v{previous} " : "";
        var detail = $"{why}; {ProductionAlias} moved {from}to v{candidate}";
        if (!watched)
        {
            return new RunChange(PipelineRunStatuses.Promoted, "promoted", detail, ReachedProduction: true);
        }

        var watch = new RolloutState(PipelineRunStatuses.Watching, candidate, control, route, clock.GetUtcNow(), candidateNow!, null, null);
        return new RunChange(PipelineRunStatuses.Watching, "promoted", $"{detail}; watching its alarms", Rollout: watch, ReachedProduction: true);
    }

    /// <summary>
    /// Looks at a canary or a watch: rolls back when an alarm trips or the canary's live checks fail at the end of its soak,
    /// promotes a canary that held, ends a watch that held; otherwise records the look and waits.
    /// </summary>
    private async Task<RunChange?> RolloutAsync(PipelineRun run, PipelineDefinition definition, CancellationToken cancellationToken)
    {
        var state = run.Rollout!;
        var model = definition.Model!;
        var canary = state.Phase == PipelineRunStatuses.Canary;
        var alias = await registry.GetAliasAsync(model, ProductionAlias, cancellationToken);
        var route = alias is null ? null : new SetAliasRequest(alias.Version, alias.Canary, alias.Shadow);
        if (route != state.Route)
        {
            return await MovedMeanwhileAsync(run, definition, state, route, cancellationToken);
        }

        var look = LiveRollouts.Observe(state, definition,
            await inference.GetLiveTrafficAsync(model, state.Candidate, cancellationToken),
            canary && state.Control is { } current ? await inference.GetLiveTrafficAsync(model, current, cancellationToken) : null,
            canary && state.Route.Shadow is { } shadow ? await inference.GetShadowAsync(model, state.Candidate, shadow, cancellationToken) : null,
            definition.Alarms?.MaxDriftedShare is null ? null : await inference.GetDriftedShareAsync(model, state.Candidate, cancellationToken),
            clock.GetUtcNow());
        var observed = state with { Latest = look };
        var (decision, reason) = LiveRollouts.Decide(state, definition, look);
        switch (decision)
        {
            case RolloutDecision.Wait:
                await pipelines.ObserveAsync(run, observed, cancellationToken);
                return null;
            case RolloutDecision.Promote:
                var promoted = await PromoteAsync(run, definition, model, state.Candidate, state.Control, $"canary held: {reason}", cancellationToken);
                // A watch that follows carries its own state; a promotion that ends the run keeps the canary's last look.
                return promoted.Rollout is null ? promoted with { Rollout = observed } : promoted;
            case RolloutDecision.Done:
                return new RunChange(PipelineRunStatuses.Promoted, "watched", reason, Rollout: observed);
            default:
                var back = state.Control!.Value;
                await MoveProductionAsync(run, model, new SetAliasRequest(back), cancellationToken);
                var rolledBack = $"rolled back to v{back}: {reason}";
                return new RunChange(PipelineRunStatuses.RolledBack, "rolled back", rolledBack, Rollout: observed, Reason: rolledBack);
        }
    }

    /// <summary>
    /// Production no longer routes as the phase set it. To the candidate during a canary: this pipeline's promotion, recorded
    /// now (a crash came between the move and its record). Back to the control: a rollback, the pipeline's or a person's. Any
    /// other route is someone else's decision, and the run leaves it alone.
    /// </summary>
    private async Task<RunChange> MovedMeanwhileAsync(
        PipelineRun run, PipelineDefinition definition, RolloutState state, SetAliasRequest? route, CancellationToken cancellationToken)
    {
        if (state.Phase == PipelineRunStatuses.Canary && route == new SetAliasRequest(state.Candidate))
        {
            return await PromoteAsync(run, definition, definition.Model!, state.Candidate, state.Control, "the canary was promoted", cancellationToken);
        }

        if (state.Control is { } control && route == new SetAliasRequest(control))
        {
            var back = $"{ProductionAlias} went back to v{control} during the {state.Phase}";
            return new RunChange(PipelineRunStatuses.RolledBack, "rolled back", back, Reason: back);
        }

        var moved = $"{ProductionAlias} was moved by someone else during the {state.Phase}; the pipeline leaves it as it is";
        return new RunChange(PipelineRunStatuses.Cancelled, "cancelled", moved, Reason: moved);
    }

    /// <summary>Points production where the pipeline wants it, audited in the registry under the pipeline's identity.</summary>
    private Task<AliasInfo> MoveProductionAsync(PipelineRun run, string model, SetAliasRequest route, CancellationToken cancellationToken) =>
        registry.SetAliasAsync(model, ProductionAlias, route, run.Pipeline, cancellationToken);

    [LoggerMessage(LogLevel.Information, "Pipeline {Pipeline} run {RunId} ended {Status}: {Reason}")]
    private partial void LogRunEnded(string pipeline, Guid runId, string status, string reason);
}

using ModelPlatform.Contracts;

namespace ModelPlatform.Training.Pipelines;

/// <summary>
/// What a look at a rollout (its phase is the run's status, canary or watching) decides: wait, promote the canary, end the
/// watch, or roll back (with why).
/// </summary>
public enum RolloutDecision
{
    Wait,
    Promote,
    Done,
    RollBack,
}

/// <summary>
/// Judges a candidate's live traffic, from what the inference service counted since its rollout phase began: the alarms at
/// every look, and at the end of a canary's soak the live checks against the current version (agreement, error rate, p99).
/// </summary>
public static class LiveRollouts
{
    public const string Check = "check";
    public const string Alarm = "alarm";

    /// <summary>
    /// The phase's figures so far and every check on them: the live traffic and shadow totals now, read against those the
    /// phase began with.
    /// </summary>
    public static LiveObservation Observe(
        RolloutState state,
        PipelineDefinition definition,
        LiveTraffic candidateNow,
        LiveTraffic? controlNow,
        ShadowComparison? shadowNow,
        double? driftedShare,
        DateTimeOffset now)
    {
        var candidate = candidateNow.Since(state.CandidateAtStart);
        var control = controlNow is not null && state.ControlAtStart is not null ? controlNow.Since(state.ControlAtStart) : null;
        var shadowRows = (shadowNow?.Rows ?? 0) - (state.ShadowAtStart?.Rows ?? 0);
        var agreed = (shadowNow?.Agreed ?? 0) - (state.ShadowAtStart?.Agreed ?? 0);
        double? agreement = shadowRows > 0 ? (double)agreed / shadowRows : null;

        var checks = new List<LiveCheck>();
        if (definition.Alarms is { } alarms)
        {
            // Too few requests say nothing: one failure in three is not a 33% error rate.
            var judged = candidate.Requests >= (alarms.MinRequests ?? PipelineValidation.DefaultMinRequests);
            AddIfSet(checks, "errorRate", Alarm, judged ? candidate.ErrorRate : null, alarms.MaxErrorRate, atMost: true);
            AddIfSet(checks, "p99Milliseconds", Alarm, judged ? candidate.P99Seconds * 1000 : null, alarms.MaxP99Milliseconds, atMost: true);
            AddIfSet(checks, "driftedShare", Alarm, driftedShare, alarms.MaxDriftedShare, atMost: true);
        }

        if (state.Phase == PipelineRunStatuses.Canary && definition.Rollout is { } rollout)
        {
            var compared = control is { Requests: > 0 } && candidate.Requests > 0;
            AddIfSet(checks, "agreement", Check, agreement, rollout.MinAgreement, atMost: false);
            AddIfSet(checks, "errorRateIncrease", Check, compared ? candidate.ErrorRate - control!.ErrorRate : null,
                rollout.MaxErrorRateIncrease ?? PipelineValidation.DefaultMaxErrorRateIncrease, atMost: true);
            AddIfSet(checks, "latencyRatio", Check, compared && control!.P99Seconds is > 0 ? candidate.P99Seconds / control.P99Seconds : null,
                rollout.MaxLatencyRatio, atMost: true);
        }

        return new LiveObservation(now, (now - state.Since).TotalSeconds, LiveFigures.Of(candidate), control is null ? null : LiveFigures.Of(control),
            shadowRows, agreement, driftedShare, checks);
    }

    /// <summary>What the look decides, and the reason for a rollback or the summary of a pass.</summary>
    public static (RolloutDecision Decision, string Reason) Decide(RolloutState state, PipelineDefinition definition, LiveObservation look)
    {
        if (look.Checks.FirstOrDefault(check => check.Kind == Alarm && !check.Passed) is { } alarm)
        {
            return (RolloutDecision.RollBack, $"alarm {alarm.Name}: {Describe(alarm)} after {look.Seconds:0} s of the {state.Phase}, "
                + $"on {look.Candidate.Requests} requests");
        }

        if (state.Phase == PipelineRunStatuses.Watching)
        {
            var watch = definition.Alarms?.WatchSeconds ?? PipelineValidation.DefaultWatchSeconds;
            return look.Seconds >= watch
                ? (RolloutDecision.Done, $"watched {look.Seconds:0} s ({look.Candidate.Requests} requests): no alarm")
                : (RolloutDecision.Wait, "");
        }

        var rollout = definition.Rollout ?? new PipelineRollout();
        var soakRows = rollout.SoakRows ?? 0;
        if (look.Seconds >= PipelineValidation.SoakSeconds(rollout) && look.Candidate.Rows >= soakRows)
        {
            var soaked = $"soaked {look.Seconds:0} s, {look.Candidate.Rows} records";
            var checks = look.Checks.Where(check => check.Kind == Check).ToList();
            var failed = checks.Where(check => check.Value is null || !check.Passed).ToList();
            return failed.Count == 0
                ? (RolloutDecision.Promote, $"{soaked}; live checks held: {string.Join(", ", checks.Select(Describe))}")
                : (RolloutDecision.RollBack, $"{soaked}; live checks failed: {string.Join("; ", failed.Select(Describe))}");
        }

        return look.Seconds >= PipelineValidation.MaxSoakSeconds(rollout)
            ? (RolloutDecision.RollBack, $"the canary scored {look.Candidate.Rows} of its {soakRows} records in {look.Seconds:0} s")
            : (RolloutDecision.Wait, "");
    }

    private static void AddIfSet(List<LiveCheck> checks, string name, string kind, double? value, double? limit, bool atMost)
    {
        if (limit is not { } bound)
        {
            return;
        }

        var passed = value is not { } measured || (atMost ? measured <= bound : measured >= bound);
        checks.Add(new LiveCheck(name, kind, value, bound, passed));
    }

    private static string Describe(LiveCheck check)
    {
        var most = check.Name is "agreement" ? "at least" : "at most";
        return check.Value is { } value
            ? $"{check.Name} {value:0.####} ({most} {check.Limit:0.####})"
            : $"{check.Name} not measured: too little traffic ({most} {check.Limit:0.####})";
    }
}

using System.Text.Json.Serialization;

namespace ModelPlatform.Contracts;

/// <summary>
/// A training pipeline: what to train, on which data, when, and what to do with the result. Each change is a new version of
/// it; runs record the version they ran.
/// </summary>
/// <param name="Model">The registered model its runs add versions to.</param>
/// <param name="Dataset">The rows to train on; with <paramref name="FeatureService"/>, the entity rows its features are joined onto.</param>
/// <param name="TimestampField">With <paramref name="FeatureService"/>, the entity rows' timestamp column.</param>
/// <param name="Training">How each run trains: the training job's settings.</param>
/// <param name="Schedule">When it runs by the clock; null for no schedule.</param>
/// <param name="OnNewData">Runs on every new version of <paramref name="Dataset"/> when set, once the versions stop coming for its debounce.</param>
/// <param name="Concurrency"><c>skip</c> (the default) drops a trigger while a run is active; <c>queue</c> keeps one to run after it.</param>
/// <param name="Priority">The priority of its training jobs: <c>background</c> (the default) or <c>interactive</c>.</param>
/// <param name="Gate">When set, each candidate is compared with the version behind <c>production</c> and promoted only if it passes.</param>
/// <param name="Enabled">A disabled pipeline keeps its definition and history but starts no runs.</param>
/// <param name="Rollout">When set (with a gate), a candidate that passes goes to a canary first, and to <c>production</c> after its soak.</param>
/// <param name="Alarms">When set (with a gate), watched while a canary soaks and after a promotion; one that trips rolls back.</param>
public sealed record PipelineDefinition(
    string? Model,
    string? Dataset,
    PipelineTraining? Training,
    string? FeatureService = null,
    string? TimestampField = null,
    PipelineSchedule? Schedule = null,
    DataTrigger? OnNewData = null,
    string? Concurrency = null,
    string? Priority = null,
    PromotionGate? Gate = null,
    bool Enabled = true,
    PipelineRollout? Rollout = null,
    PipelineAlarms? Alarms = null);

/// <summary>A run's training job settings, as a training job is submitted with them (its model and data are the pipeline's).</summary>
public sealed record PipelineTraining(
    string? Label,
    MLTask? Task,
    string? Trainer = null,
    string? PositiveClass = null,
    Dictionary<string, double>? Hyperparameters = null,
    int? BudgetSeconds = null,
    string? Metric = null,
    int? Folds = null,
    int? Seed = null,
    int? MaxTrials = null,
    int? MaxAttempts = null);

/// <summary>A cron schedule: five fields (minute to day of week), or six with seconds first; in <paramref name="TimeZone"/> (UTC by default).</summary>
public sealed record PipelineSchedule(string? Cron, string? TimeZone = null);

/// <summary>Run on a new version of the dataset, once no newer one has come for <paramref name="DebounceSeconds"/> (60 by default).</summary>
public sealed record DataTrigger(int? DebounceSeconds = null);

/// <summary>
/// What a candidate must show against the version behind <c>production</c>, both scored on the candidate's held-out rows.
/// </summary>
/// <param name="Metric">The metric that must improve; the task's default (auc, macroAccuracy, r2) when null.</param>
/// <param name="MinGain">How much better, in the metric's units and its better direction; 0 (no worse) by default.</param>
/// <param name="MaxRegressions">Other metrics, each with how much worse it may get (in its units).</param>
/// <param name="MaxRecallDrop">How much lower any one class's recall may be (a classifier's); no limit when null.</param>
public sealed record PromotionGate(
    string? Metric = null,
    double? MinGain = null,
    IReadOnlyDictionary<string, double>? MaxRegressions = null,
    double? MaxRecallDrop = null);

/// <summary>
/// How a candidate that passed its gate reaches <c>production</c>: <paramref name="CanaryPercent"/> of live traffic beside the
/// current version for a soak, then the live checks against the current version, which must all hold.
/// </summary>
/// <param name="CanaryPercent">The canary's share of traffic, 1 to 99; 10 by default.</param>
/// <param name="Current">
/// What the current version does meanwhile: <c>shadow</c> (the default) answers the rest of the traffic and scores a copy of each
/// canary request, so their agreement is measured; <c>control</c> only answers the rest.
/// </param>
/// <param name="SoakSeconds">How long the canary serves at least; 300 by default when <paramref name="SoakRows"/> is not set either.</param>
/// <param name="SoakRows">How many records the canary scores at least.</param>
/// <param name="MaxSoakSeconds">A canary still short of its rows after this long is rolled back; a day by default.</param>
/// <param name="MinAgreement">The least share of the canary's records the current version must agree with (<c>shadow</c> only).</param>
/// <param name="MaxErrorRateIncrease">How much the canary's error rate may exceed the current version's; 0.01 by default.</param>
/// <param name="MaxLatencyRatio">The most the canary's p99 request time may be, as a multiple of the current version's; no limit when null.</param>
public sealed record PipelineRollout(
    int? CanaryPercent = null,
    string? Current = null,
    int? SoakSeconds = null,
    long? SoakRows = null,
    int? MaxSoakSeconds = null,
    double? MinAgreement = null,
    double? MaxErrorRateIncrease = null,
    double? MaxLatencyRatio = null)
{
    public const string Shadow = "shadow";
    public const string Control = "control";
}

/// <summary>
/// Alarms on the candidate's live traffic while its canary soaks and for <paramref name="WatchSeconds"/> after it reaches
/// <c>production</c>: the first that trips moves <c>production</c> back to the version before, and the run records why.
/// </summary>
/// <param name="MaxErrorRate">The most of its requests that may fail.</param>
/// <param name="MaxP99Milliseconds">The most its p99 request time may be.</param>
/// <param name="MaxDriftedShare">The most of its inputs that may drift from its training data (the serving drift's drifted share).</param>
/// <param name="MinRequests">Requests it must have answered before the error rate and p99 are judged; 20 by default.</param>
/// <param name="WatchSeconds">How long a fresh promotion is watched; 600 by default.</param>
public sealed record PipelineAlarms(
    double? MaxErrorRate = null,
    double? MaxP99Milliseconds = null,
    double? MaxDriftedShare = null,
    int? MinRequests = null,
    int? WatchSeconds = null);

/// <summary>A pipeline's current definition, its version and its schedule's next tick.</summary>
public sealed record PipelineInfo(
    string Name,
    int Version,
    PipelineDefinition Definition,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    string UpdatedBy,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTimeOffset? NextTickAt = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] PendingDataTrigger? PendingData = null);

/// <summary>A new dataset version waiting out its debounce before it starts a run.</summary>
public sealed record PendingDataTrigger(int DatasetVersion, DateTimeOffset DueAt);

/// <summary>One version of a pipeline's definition, and who made it.</summary>
public sealed record PipelineVersionInfo(string Name, int Version, PipelineDefinition Definition, DateTimeOffset CreatedAt, string CreatedBy);

/// <summary>What started a run.</summary>
/// <param name="Kind"><c>schedule</c>, <c>data</c> or <c>manual</c>.</param>
/// <param name="Tick">For a schedule: the tick it ran for (the latest, when the platform was down for several).</param>
/// <param name="MissedTicks">For a schedule: earlier ticks that passed while nothing ran, run once with this one.</param>
/// <param name="DatasetVersion">For new data: the dataset version that triggered it.</param>
/// <param name="By">For a manual run: who asked.</param>
public sealed record PipelineTrigger(
    string Kind,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTimeOffset? Tick = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? MissedTicks = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? DatasetVersion = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? By = null)
{
    public const string Schedule = "schedule";
    public const string Data = "data";
    public const string Manual = "manual";
}

/// <summary>
/// One run of a pipeline: what triggered it, its training job, the candidate it registered, the gate's verdict and every step,
/// oldest first.
/// </summary>
/// <param name="Status">See <see cref="PipelineRunStatuses"/>.</param>
/// <param name="Rollout">The candidate's canary and watch, once its gate passed: the live figures and checks.</param>
/// <param name="SecondsToProduction">From the trigger to the candidate serving as <c>production</c>, for a run that got there.</param>
public sealed record PipelineRun(
    Guid Id,
    string Pipeline,
    int PipelineVersion,
    PipelineTrigger Trigger,
    string Status,
    Guid? JobId,
    int? CandidateVersion,
    int? BaselineVersion,
    GateVerdict? Gate,
    string? Reason,
    DateTimeOffset TriggeredAt,
    DateTimeOffset? FinishedAt,
    double? SecondsToProduction,
    IReadOnlyList<PipelineRunStep> Steps,
    RolloutState? Rollout = null);

/// <summary>A run's statuses: the active ones, then the ends.</summary>
public static class PipelineRunStatuses
{
    /// <summary>Triggered; its training job is being submitted.</summary>
    public const string Pending = "pending";

    /// <summary>Triggered while another run was active, under <c>concurrency: queue</c>: it starts when that one ends.</summary>
    public const string Waiting = "waiting";

    /// <summary>Its training job is queued or running.</summary>
    public const string Training = "training";

    /// <summary>The candidate is registered; the gate is deciding.</summary>
    public const string Gating = "gating";

    /// <summary>The candidate passed its gate and serves a canary share of <c>production</c>'s traffic while it soaks.</summary>
    public const string Canary = "canary";

    /// <summary>The candidate serves as <c>production</c>; its alarms are watched a while before the run ends.</summary>
    public const string Watching = "watching";

    /// <summary>The candidate passed its gate (and its canary and watch, if declared) and serves as <c>production</c>.</summary>
    public const string Promoted = "promoted";

    /// <summary>The candidate's canary failed its live checks, or an alarm tripped: <c>production</c> went back to the version before.</summary>
    public const string RolledBack = "rolled-back";

    /// <summary>The candidate stays a registered version: it failed its gate, or the pipeline has none.</summary>
    public const string Registered = "registered";

    public const string Failed = "failed";

    /// <summary>Triggered while another run was active (or one already waited), and dropped.</summary>
    public const string Skipped = "skipped";

    public const string Cancelled = "cancelled";

    public static readonly IReadOnlyList<string> Active = [Pending, Waiting, Training, Gating, Canary, Watching];

    public static readonly IReadOnlyList<string> All =
        [Pending, Waiting, Training, Gating, Canary, Watching, Promoted, RolledBack, Registered, Failed, Skipped, Cancelled];
}

/// <summary>One step of a run, for its timeline.</summary>
public sealed record PipelineRunStep(DateTimeOffset At, string Step, string Detail);

/// <summary>
/// The gate's verdict on a candidate: the gated metric of both versions on the same held-out rows, and every other check.
/// </summary>
/// <param name="Candidate">The candidate's value: on the held-out rows, or as its job measured it when nothing was compared.</param>
/// <param name="Rows">The held-out rows both were scored on.</param>
/// <param name="Baseline">The production version's value; null when nothing was in production (the candidate passes).</param>
public sealed record GateVerdict(
    bool Passed,
    string Metric,
    double? Candidate,
    double? Baseline,
    double? Gain,
    double MinGain,
    int Rows,
    IReadOnlyList<GateCheck> Checks,
    string Reason);

/// <summary>One regression check: a metric or a class's recall, the change in its better direction, and the most it may fall.</summary>
public sealed record GateCheck(string Name, double Candidate, double Baseline, double Change, double Limit, bool Passed);

/// <summary>
/// A training job's model and the version behind an alias (such as <c>production</c>), scored on the same held-out rows: their
/// metrics, each class's recall among them for a classifier. <paramref name="Version"/> is null when the alias points nowhere
/// yet; <paramref name="Problem"/> says why two versions could not be compared (too few rows to hold any out, say).
/// </summary>
public sealed record ModelComparison(
    string Alias,
    int? Version,
    int Rows,
    IReadOnlyDictionary<string, double>? Candidate,
    IReadOnlyDictionary<string, double>? Baseline,
    string? Problem);

/// <summary>
/// A candidate's live rollout: its phase (<c>canary</c> or <c>watching</c>), the route the pipeline gave <c>production</c>, the
/// live figures when the phase began, and the latest observation of the phase: its figures and every check.
/// </summary>
/// <param name="Control">The version <c>production</c> served before: the canary's control, and where a rollback goes.</param>
/// <param name="Route">Where the pipeline pointed <c>production</c> for this phase.</param>
/// <param name="ShadowAtStart">The control's shadow totals on the canary's requests when the canary began.</param>
public sealed record RolloutState(
    string Phase,
    int Candidate,
    int? Control,
    SetAliasRequest Route,
    DateTimeOffset Since,
    LiveTraffic CandidateAtStart,
    LiveTraffic? ControlAtStart,
    ShadowComparison? ShadowAtStart,
    LiveObservation? Latest = null);

/// <summary>One look at a rollout phase's live traffic, and the checks and alarms on it.</summary>
/// <param name="Agreement">The share of the canary's records the current version, as shadow, agreed with.</param>
/// <param name="DriftedShare">The candidate's serving drift in the current window, when an alarm watches it.</param>
public sealed record LiveObservation(
    DateTimeOffset At,
    double Seconds,
    LiveFigures Candidate,
    LiveFigures? Control,
    long ShadowRows,
    double? Agreement,
    double? DriftedShare,
    IReadOnlyList<LiveCheck> Checks);

/// <summary>A version's live traffic in a window.</summary>
public sealed record LiveFigures(long Requests, long Errors, long Rows, double ErrorRate, double? P99Seconds)
{
    public static LiveFigures Of(LiveTraffic traffic) =>
        new(traffic.Requests, traffic.Errors, traffic.Rows, traffic.ErrorRate, traffic.P99Seconds);
}

/// <summary>
/// One live check (at the end of a soak) or alarm (at every look): its value and limit; <paramref name="Value"/> is null, and the
/// check passes, while there is too little traffic to judge.
/// </summary>
/// <param name="Kind"><c>check</c> or <c>alarm</c>.</param>
public sealed record LiveCheck(string Name, string Kind, double? Value, double Limit, bool Passed);

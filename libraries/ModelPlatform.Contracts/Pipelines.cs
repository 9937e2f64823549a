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
    bool Enabled = true);

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
    IReadOnlyList<PipelineRunStep> Steps);

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

    /// <summary>The candidate passed its gate and serves as <c>production</c>.</summary>
    public const string Promoted = "promoted";

    /// <summary>The candidate stays a registered version: it failed its gate, or the pipeline has none.</summary>
    public const string Registered = "registered";

    public const string Failed = "failed";

    /// <summary>Triggered while another run was active (or one already waited), and dropped.</summary>
    public const string Skipped = "skipped";

    public const string Cancelled = "cancelled";

    public static readonly IReadOnlyList<string> Active = [Pending, Waiting, Training, Gating];

    public static readonly IReadOnlyList<string> All = [Pending, Waiting, Training, Gating, Promoted, Registered, Failed, Skipped, Cancelled];
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

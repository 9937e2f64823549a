using ModelPlatform.Contracts;
using ModelPlatform.ML;
using ModelPlatform.Training.Apis;
using ModelPlatform.Training.Jobs;

namespace ModelPlatform.Training.Pipelines;

/// <summary>What makes a pipeline definition valid, each problem named by its field (<c>training.label</c>, <c>schedule.cron</c>).</summary>
public static class PipelineValidation
{
    public const string Skip = "skip";
    public const string Queue = "queue";
    public const int DefaultDebounceSeconds = 60;
    public const int MaxDebounceSeconds = 7 * 24 * 3600;
    public const int DefaultCanaryPercent = 10;
    public const int DefaultSoakSeconds = 300;
    public const int DefaultMaxSoakSeconds = 24 * 3600;
    public const double DefaultMaxErrorRateIncrease = 0.01;
    public const int DefaultMinRequests = 20;
    public const int DefaultWatchSeconds = 600;
    private const int MaxSeconds = 30 * 24 * 3600;

    /// <summary>The training job a run of <paramref name="definition"/> submits, with the pipeline's model and data.</summary>
    public static SubmitTrainingJobRequest JobRequest(PipelineDefinition definition)
    {
        var training = definition.Training ?? new PipelineTraining(null, null);
        return new SubmitTrainingJobRequest(
            definition.Model, definition.Dataset, DatasetVersion: null, training.Label, training.Task, training.Trainer, training.PositiveClass,
            training.Hyperparameters, training.BudgetSeconds, training.Metric, training.Folds, training.Seed, training.MaxTrials,
            training.MaxAttempts, definition.FeatureService, definition.TimestampField,
            // A run's job goes in the background lane unless the pipeline says otherwise: nobody is waiting on it.
            Priority: definition.Priority ?? JobPriorities.Name(JobPriority.Background));
    }

    /// <summary>The definition's problems by field, and its schedule when it has a valid one.</summary>
    public static (Dictionary<string, string[]> Errors, CronSchedule? Schedule) Validate(string name, PipelineDefinition definition)
    {
        var errors = new Dictionary<string, string[]>();
        if (ResourceNames.NameError(name) is { } nameError)
        {
            errors["name"] = [nameError];
        }

        if (definition.Training is null)
        {
            errors["training"] = ["is required: at least the label and the task of the model's training jobs"];
        }

        // The training job's own checks, with its fields named as the pipeline has them.
        foreach (var (field, messages) in TrainingJobsApi.Validate(JobRequest(definition)))
        {
            var named = field switch
            {
                "modelName" => "model",
                "dataset" or "featureService" or "timestampField" => field,
                "datasetVersion" => null,
                "priority" => "priority",
                _ => $"training.{field}",
            };
            if (named is not null && (definition.Training is not null || !named.StartsWith("training.", StringComparison.Ordinal)))
            {
                errors[named] = messages;
            }
        }

        CronSchedule? schedule = null;
        if (definition.Schedule is { } wanted)
        {
            var (parsed, field, error) = CronSchedule.Parse(wanted);
            if (error is not null)
            {
                errors[$"schedule.{field}"] = [error];
            }

            schedule = parsed;
        }

        TrainingJobsApi.Check(errors, "onNewData.debounceSeconds", definition.OnNewData?.DebounceSeconds, 0, MaxDebounceSeconds);
        if (definition.Concurrency is not (null or Skip or Queue))
        {
            errors["concurrency"] = [$"'{definition.Concurrency}' is not a concurrency; choose {Skip} (drop a trigger while a run is active) or {Queue}"];
        }

        if (definition.Gate is { } gate && definition.Training?.Task is { } task)
        {
            ValidateGate(gate, task, errors);
        }

        if (definition.Rollout is { } rollout)
        {
            ValidateRollout(rollout, definition.Gate is not null, errors);
        }

        if (definition.Alarms is { } alarms)
        {
            ValidateAlarms(alarms, definition.Gate is not null, errors);
        }

        return (errors, schedule);
    }

    private static void ValidateGate(PromotionGate gate, MLTask task, Dictionary<string, string[]> errors)
    {
        var metrics = string.Join(", ", ModelMetrics.NamesFor(task));
        if (gate.Metric is not null && ModelMetrics.HigherIsBetter(task, gate.Metric) is null)
        {
            errors["gate.metric"] = [$"'{gate.Metric}' is not a {Name(task)} metric; choose one of {metrics}"];
        }

        if (gate.MinGain is { } gain && !double.IsFinite(gain))
        {
            errors["gate.minGain"] = ["must be a number"];
        }

        foreach (var (metric, limit) in gate.MaxRegressions ?? new Dictionary<string, double>())
        {
            if (ModelMetrics.HigherIsBetter(task, metric) is null)
            {
                errors[$"gate.maxRegressions.{metric}"] = [$"'{metric}' is not a {Name(task)} metric; choose from {metrics}"];
            }
            else if (!double.IsFinite(limit) || limit < 0)
            {
                errors[$"gate.maxRegressions.{metric}"] = ["must be 0 or more: how much worse the metric may get, in its units"];
            }
        }

        if (gate.MaxRecallDrop is not null && task == MLTask.Regression)
        {
            errors["gate.maxRecallDrop"] = ["applies to classifiers: a regression model has no classes"];
        }
        else if (gate.MaxRecallDrop is { } recallDrop && recallDrop is < 0 or > 1)
        {
            errors["gate.maxRecallDrop"] = ["must be from 0 to 1"];
        }
    }

    private static void ValidateRollout(PipelineRollout rollout, bool gated, Dictionary<string, string[]> errors)
    {
        if (!gated)
        {
            errors["rollout"] = ["needs a gate: only a candidate that passed its gate goes to a canary"];
        }

        TrainingJobsApi.Check(errors, "rollout.canaryPercent", rollout.CanaryPercent, 1, 99);
        if (rollout.Current is not (null or PipelineRollout.Shadow or PipelineRollout.Control))
        {
            errors["rollout.current"] = [$"'{rollout.Current}' is not a role; choose {PipelineRollout.Shadow} (the current version answers the rest "
                + $"and scores a copy of the canary's requests) or {PipelineRollout.Control} (it only answers the rest)"];
        }

        TrainingJobsApi.Check(errors, "rollout.soakSeconds", rollout.SoakSeconds, 0, MaxSeconds);
        TrainingJobsApi.Check(errors, "rollout.maxSoakSeconds", rollout.MaxSoakSeconds, 1, MaxSeconds);
        if (rollout.SoakRows is < 0)
        {
            errors["rollout.soakRows"] = ["must be 0 or more"];
        }

        // Defaults count too: a soak longer than the longest a canary may wait would always roll back.
        if (SoakSeconds(rollout) > MaxSoakSeconds(rollout))
        {
            errors[rollout.MaxSoakSeconds is null ? "rollout.soakSeconds" : "rollout.maxSoakSeconds"] =
                [$"the soak ({SoakSeconds(rollout)} s) must be no longer than maxSoakSeconds ({MaxSoakSeconds(rollout)} s, a day unless set)"];
        }

        CheckShare(errors, "rollout.minAgreement", rollout.MinAgreement);
        if (rollout.MinAgreement is not null && rollout.Current == PipelineRollout.Control)
        {
            errors["rollout.minAgreement"] =
                [$"needs current: {PipelineRollout.Shadow}: agreement is measured by the current version scoring the canary's requests"];
        }

        CheckShare(errors, "rollout.maxErrorRateIncrease", rollout.MaxErrorRateIncrease);
        if (rollout.MaxLatencyRatio is { } ratio && (!double.IsFinite(ratio) || ratio < 1))
        {
            errors["rollout.maxLatencyRatio"] = ["must be 1 or more: the canary's p99 request time as a multiple of the current version's"];
        }
    }

    /// <summary>How long a canary soaks at least: as declared; 0 when only rows are; <see cref="DefaultSoakSeconds"/> when neither is.</summary>
    public static int SoakSeconds(PipelineRollout rollout) => rollout.SoakSeconds ?? (rollout.SoakRows is null ? DefaultSoakSeconds : 0);

    /// <summary>How long a canary may wait for its rows before it is rolled back.</summary>
    public static int MaxSoakSeconds(PipelineRollout rollout) => rollout.MaxSoakSeconds ?? DefaultMaxSoakSeconds;

    private static void ValidateAlarms(PipelineAlarms alarms, bool gated, Dictionary<string, string[]> errors)
    {
        if (!gated)
        {
            errors["alarms"] = ["need a gate: they watch what the gate let through"];
        }

        CheckShare(errors, "alarms.maxErrorRate", alarms.MaxErrorRate);
        CheckShare(errors, "alarms.maxDriftedShare", alarms.MaxDriftedShare);
        if (alarms.MaxP99Milliseconds is { } p99 && (!double.IsFinite(p99) || p99 <= 0))
        {
            errors["alarms.maxP99Milliseconds"] = ["must be more than 0"];
        }

        TrainingJobsApi.Check(errors, "alarms.minRequests", alarms.MinRequests, 1, 1_000_000);
        TrainingJobsApi.Check(errors, "alarms.watchSeconds", alarms.WatchSeconds, 0, MaxSeconds);
        if (alarms is { MaxErrorRate: null, MaxP99Milliseconds: null, MaxDriftedShare: null })
        {
            errors["alarms"] = ["name at least one of maxErrorRate, maxP99Milliseconds and maxDriftedShare"];
        }
    }

    private static void CheckShare(Dictionary<string, string[]> errors, string field, double? value)
    {
        if (value is { } share && share is not (>= 0 and <= 1))
        {
            errors[field] = ["must be from 0 to 1"];
        }
    }

    private static string Name(MLTask task) => task.ToString().ToLowerInvariant();
}

using System.Globalization;
using ModelPlatform.Contracts;

namespace ModelPlatform.Console.Platform;

/// <summary>Pipelines and their runs in a sentence, for the model page's timeline.</summary>
public static class PipelineViews
{
    public static string Describe(PipelineInfo pipeline)
    {
        var definition = pipeline.Definition;
        var triggers = new List<string>();
        if (definition.Schedule is { } schedule)
        {
            triggers.Add($"on the schedule {schedule.Cron} ({schedule.TimeZone ?? "UTC"}), next at {pipeline.NextTickAt?.ToSecond() ?? "never"}");
        }

        if (definition.OnNewData is not null)
        {
            triggers.Add($"on each new version of {definition.Dataset}");
        }

        var when = triggers.Count == 0 ? "when asked" : string.Join(" and ", triggers);
        var canary = definition.Rollout is { } rollout ? $" through a {rollout.CanaryPercent ?? 10}% canary" : "";
        var gate = definition.Gate is { } declared
            ? $"promotes{canary} a candidate that gains {declared.MinGain ?? 0} {declared.Metric ?? "(the task's metric)"} over production"
            : "registers its candidates without promoting them";
        return $"Trains on {definition.Dataset} {when}; {gate}.{(definition.Enabled ? "" : " Disabled.")}";
    }

    /// <summary>A rollout's latest look: each version's live traffic in the phase so far, and the shadow's agreement.</summary>
    public static string Describe(RolloutState rollout, LiveObservation look)
    {
        var phase = rollout.Phase == PipelineRunStatuses.Canary
            ? $"Canary v{rollout.Candidate} beside v{rollout.Control}"
            : $"v{rollout.Candidate} watched in production";
        var figures = $"v{rollout.Candidate} {Describe(look.Candidate)}";
        var invariant = CultureInfo.InvariantCulture;
        if (look.Control is { } control)
        {
            figures += $"; v{rollout.Control} {Describe(control)}";
        }

        if (look.Agreement is { } agreement)
        {
            figures += string.Create(invariant, $"; agreement {agreement:P1} on {look.ShadowRows} records");
        }

        return string.Create(invariant, $"{phase}, {look.Seconds:N0} s at {look.At.ToSecond()}: {figures}.");
    }

    private static string Describe(LiveFigures figures) => string.Create(CultureInfo.InvariantCulture,
        $"{figures.Requests} requests, {figures.ErrorRate:P1} failed, p99 {(figures.P99Seconds is { } p99 ? $"{p99 * 1000:N1} ms" : "-")}");

    public static string Describe(PipelineTrigger trigger) => trigger.Kind switch
    {
        PipelineTrigger.Schedule when trigger.MissedTicks > 0 => $"the tick of {trigger.Tick?.ToSecond()} (and {trigger.MissedTicks} missed)",
        PipelineTrigger.Schedule => $"the tick of {trigger.Tick?.ToSecond()}",
        PipelineTrigger.Data => $"new data (v{trigger.DatasetVersion})",
        _ => $"asked for by {trigger.By}",
    };
}

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
        var gate = definition.Gate is { } declared
            ? $"promotes a candidate that gains {declared.MinGain ?? 0} {declared.Metric ?? "(the task's metric)"} over production"
            : "registers its candidates without promoting them";
        return $"Trains on {definition.Dataset} {when}; {gate}.{(definition.Enabled ? "" : " Disabled.")}";
    }

    public static string Describe(PipelineTrigger trigger) => trigger.Kind switch
    {
        PipelineTrigger.Schedule when trigger.MissedTicks > 0 => $"the tick of {trigger.Tick?.ToSecond()} (and {trigger.MissedTicks} missed)",
        PipelineTrigger.Schedule => $"the tick of {trigger.Tick?.ToSecond()}",
        PipelineTrigger.Data => $"new data (v{trigger.DatasetVersion})",
        _ => $"asked for by {trigger.By}",
    };
}

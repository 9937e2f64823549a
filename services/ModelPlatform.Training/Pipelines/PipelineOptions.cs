using System.ComponentModel.DataAnnotations;

namespace ModelPlatform.Training.Pipelines;

/// <summary>How the training service runs pipelines.</summary>
public sealed class PipelineOptions
{
    /// <summary>How often every replica looks for ticks and new data that are due, and for runs with a next step to take.</summary>
    [Range(0.1, 3600)]
    public double CheckSeconds { get; set; } = 5;

    /// <summary>How long a replica holds a run while it takes a step; a replica that dies mid-step frees the run this long after.</summary>
    [Range(5, 3600)]
    public double RunLeaseSeconds { get; set; } = 120;

    /// <summary>
    /// Shifts the clock that schedules, debounces and soaks go by, for drills and tests: a service started an hour ahead
    /// sees the ticks of that hour as missed. Zero in production.
    /// </summary>
    [Range(-366 * 24 * 3600, 366 * 24 * 3600)]
    public double ClockOffsetSeconds { get; set; }
}

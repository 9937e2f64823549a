using Microsoft.Extensions.Options;

namespace ModelPlatform.Training.Pipelines;

/// <summary>The clock pipelines go by: the system's, shifted by <see cref="PipelineOptions.ClockOffsetSeconds"/>.</summary>
public sealed class PipelineClock(TimeProvider system, IOptions<PipelineOptions> options) : TimeProvider
{
    private readonly TimeSpan _offset = TimeSpan.FromSeconds(options.Value.ClockOffsetSeconds);

    public override DateTimeOffset GetUtcNow() => system.GetUtcNow() + _offset;
}

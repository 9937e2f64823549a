using System.Text.Json.Serialization;

namespace ModelPlatform.Contracts;

/// <summary>Base of every message on the bus: a fact that has happened, named in the past tense.</summary>
public abstract record IntegrationEvent
{
    public Guid Id { get; init; } = Guid.NewGuid();
    public DateTimeOffset CreatedAt { get; init; } = DateTimeOffset.UtcNow;

    /// <summary>
    /// The lane the event travels in: its routing key becomes <c>{event}.{lane}</c>, which only the subscriber's queue for
    /// that lane takes. Null for the subscriber's main queue.
    /// </summary>
    [JsonIgnore]
    public virtual string? Lane => null;
}

/// <summary>A training job was accepted and waits for a worker of its priority's lane.</summary>
public sealed record TrainingJobSubmitted(Guid JobId, JobPriority Priority = JobPriority.Interactive) : IntegrationEvent
{
    // The lane is the routing key's, not the body's: JSON does not inherit the base's JsonIgnore for an override.
    [JsonIgnore]
    public override string? Lane => JobPriorities.Lane(Priority);
}

/// <summary>A batch prediction job was accepted and waits for a worker of its priority's lane.</summary>
public sealed record BatchPredictionSubmitted(Guid JobId, JobPriority Priority = JobPriority.Interactive) : IntegrationEvent
{
    [JsonIgnore]
    public override string? Lane => JobPriorities.Lane(Priority);
}

/// <summary>The feature service stored a new, immutable dataset version: an upload, a training set it joined, or a batch job's predictions.</summary>
public sealed record DatasetVersionCreated(string Dataset, int Version, long Rows) : IntegrationEvent;

/// <summary>The registry stored a new, immutable model version.</summary>
public sealed record ModelVersionRegistered(string ModelName, int Version, string Sha256, Guid? TrainingJobId) : IntegrationEvent;

/// <summary>An alias such as <c>production</c> moved: where it sends traffic now, and the version it pointed at before.</summary>
public sealed record AliasChanged(AliasInfo Alias) : IntegrationEvent;

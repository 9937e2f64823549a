namespace ModelPlatform.Contracts;

/// <summary>Base of every message on the bus: a fact that has happened, named in the past tense.</summary>
public abstract record IntegrationEvent
{
    public Guid Id { get; init; } = Guid.NewGuid();
    public DateTimeOffset CreatedAt { get; init; } = DateTimeOffset.UtcNow;
}

/// <summary>A training job was accepted and waits for a worker.</summary>
public sealed record TrainingJobSubmitted(Guid JobId) : IntegrationEvent;

/// <summary>The registry stored a new, immutable model version.</summary>
public sealed record ModelVersionRegistered(string ModelName, int Version, string Sha256, Guid? TrainingJobId) : IntegrationEvent;

/// <summary>
/// An alias such as <c>production</c> now points at <paramref name="Version"/>, optionally with a canary share of
/// its traffic and a shadow version that gets a copy.
/// </summary>
public sealed record AliasChanged(
    string ModelName, string Alias, int Version, int? PreviousVersion, CanaryRoute? Canary = null, int? Shadow = null) : IntegrationEvent
{
    [System.Text.Json.Serialization.JsonIgnore]
    public AliasRoute Route => new(Version, Canary, Shadow);
}

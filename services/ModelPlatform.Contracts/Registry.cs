namespace ModelPlatform.Contracts;

/// <summary>Where a model version came from.</summary>
public sealed record ModelLineage(string Dataset, int DatasetVersion, Guid? TrainingJobId, string? Trainer);

/// <summary>What a trainer sends with the artifact when it registers a version.</summary>
public sealed record RegisterModelVersionRequest(
    ModelSignature Signature,
    IReadOnlyDictionary<string, double> Metrics,
    ModelLineage Lineage);

/// <summary>One immutable model version as the registry describes it.</summary>
public sealed record ModelVersionInfo(
    string ModelName,
    int Version,
    string Sha256,
    long SizeBytes,
    ModelSignature Signature,
    IReadOnlyDictionary<string, double> Metrics,
    ModelLineage Lineage,
    IReadOnlyList<string> Aliases,
    DateTimeOffset CreatedAt);

public sealed record ModelInfo(
    string Name,
    int LatestVersion,
    IReadOnlyDictionary<string, int> Aliases,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

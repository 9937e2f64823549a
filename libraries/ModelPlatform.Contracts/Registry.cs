using System.Text.Json.Serialization;

namespace ModelPlatform.Contracts;

/// <summary>Where a model version came from.</summary>
/// <param name="TrainingSet">For a model trained from a feature service: what its training set was joined from, which
/// features it reads and by which keys.</param>
public sealed record ModelLineage(
    string Dataset,
    int DatasetVersion,
    Guid? TrainingJobId,
    string? Trainer,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] TrainingSetLineage? TrainingSet = null);

/// <summary>What a trainer sends with the artifact when it registers a version.</summary>
/// <param name="Importance">How much the version leans on each input column, when the trainer measured it.</param>
public sealed record RegisterModelVersionRequest(
    ModelSignature Signature,
    IReadOnlyDictionary<string, double> Metrics,
    ModelLineage Lineage,
    FeatureImportance? Importance = null);

/// <summary>
/// How much a version leans on each input column: the loss of <paramref name="Metric"/> on <paramref name="Rows"/> hold-out
/// rows when that column's values are shuffled among them (permutation importance), the mean and standard deviation over
/// <paramref name="Permutations"/> shuffles, most important first. About zero: the model does without the column; below
/// zero: shuffling it helped, so what the model learnt from it is noise.
/// </summary>
public sealed record FeatureImportance(string Metric, int Rows, int Permutations, IReadOnlyList<ColumnImportance> Columns)
{
    public string Method => "permutation";
}

/// <param name="Mean">The metric's mean loss over the shuffles, in the metric's own units.</param>
public sealed record ColumnImportance(string Column, double Mean, double StdDev);

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
    DateTimeOffset CreatedAt,
    FeatureImportance? Importance = null);

public sealed record ModelInfo(
    string Name,
    int LatestVersion,
    IReadOnlyDictionary<string, int> Aliases,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

/// <summary>A model and every one of its versions.</summary>
public sealed record ModelDetails(ModelInfo Model, IReadOnlyList<ModelVersionInfo> Versions);

/// <summary>Where an alias is to point: promotion and rollback alike, with a canary share and a shadow if wanted.</summary>
public sealed record SetAliasRequest(int Version, CanaryRoute? Canary = null, int? Shadow = null);

/// <summary>Sends <paramref name="Percent"/>% of an alias's traffic to <paramref name="Version"/> instead of the alias's main version.</summary>
public sealed record CanaryRoute(int Version, int Percent);

/// <summary>
/// Where an alias sends traffic: to <paramref name="Version"/>, except the <paramref name="Canary"/>'s share; the
/// <paramref name="Shadow"/> version scores a copy of every request, and its answers are only recorded.
/// </summary>
public sealed record AliasRoute(int Version, CanaryRoute? Canary = null, int? Shadow = null)
{
    /// <summary>Every version the route needs loaded.</summary>
    public IEnumerable<int> Versions()
    {
        yield return Version;
        if (Canary is not null)
        {
            yield return Canary.Version;
        }

        if (Shadow is { } shadow)
        {
            yield return shadow;
        }
    }
}

/// <summary>An alias and where it sends traffic; <paramref name="PreviousVersion"/> is set when it has just moved.</summary>
/// <param name="Sequence">How many times the alias has moved: each move's event carries it, so a replica that hears of
/// moves out of order ignores the older one.</param>
public sealed record AliasInfo(
    string ModelName, string Alias, int Version, int? PreviousVersion, CanaryRoute? Canary = null, int? Shadow = null, long Sequence = 0)
{
    [System.Text.Json.Serialization.JsonIgnore]
    public AliasRoute Route => new(Version, Canary, Shadow);
}

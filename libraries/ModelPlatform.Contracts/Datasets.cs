using System.Text.Json.Serialization;

namespace ModelPlatform.Contracts;

/// <summary>An immutable dataset version: its schema, size and content checksum.</summary>
/// <param name="Delimiter">The field separator the upload was read with; given in the upload's answer only.</param>
/// <param name="Lineage">For a training set a feature service built: what it was built from.</param>
public sealed record DatasetVersionInfo(
    string Name,
    int Version,
    int Rows,
    IReadOnlyList<ColumnSchema> Columns,
    string Sha256,
    DateTimeOffset CreatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Delimiter = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] TrainingSetLineage? Lineage = null);

/// <summary>
/// What a point-in-time training set was joined from: a feature service's version, the entity rows (a dataset version),
/// and for each feature view its version and the versions of its dataset that were read.
/// </summary>
public sealed record TrainingSetLineage(
    string FeatureService, int FeatureServiceVersion, string EntityDataset, int EntityDatasetVersion, IReadOnlyList<ViewLineage> Views);

public sealed record ViewLineage(string View, int ViewVersion, string Dataset, IReadOnlyList<int> DatasetVersions);

/// <summary>
/// A page of rows; each row maps column name to a typed value (number, string or boolean; null when missing).
/// Read back from JSON, the values are <see cref="System.Text.Json.JsonElement"/>s.
/// </summary>
public sealed record DatasetRowsPage(
    string Name,
    int Version,
    int Offset,
    int Limit,
    int Total,
    IReadOnlyList<IReadOnlyDictionary<string, object?>> Rows);

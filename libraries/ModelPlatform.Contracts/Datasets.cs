using System.Text.Json;
using System.Text.Json.Serialization;

namespace ModelPlatform.Contracts;

/// <summary>An immutable dataset version: its schema, size and content checksum.</summary>
/// <param name="Delimiter">The field separator the upload was read with; given in the upload's answer only.</param>
/// <param name="Lineage">For a training set a feature service built: what it was built from.</param>
/// <param name="Predictions">For the predictions of a batch prediction job: which rows, which model version, which job.</param>
public sealed record DatasetVersionInfo(
    string Name,
    int Version,
    int Rows,
    IReadOnlyList<ColumnSchema> Columns,
    string Sha256,
    DateTimeOffset CreatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Delimiter = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] TrainingSetLineage? Lineage = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] PredictionLineage? Predictions = null);

/// <summary>
/// What a dataset version of predictions was scored from: a version of a dataset (whose columns it keeps), a model version,
/// and the batch prediction job that scored it. With the model version's own lineage, it reads dataset → model version →
/// predictions.
/// </summary>
public sealed record PredictionLineage(string Dataset, int DatasetVersion, string Model, int ModelVersion, Guid JobId);

/// <summary>
/// The <c>metadata</c> part of a Parquet upload (<c>POST /datasets/{name}/versions</c> as multipart/form-data, the file as its
/// <c>data</c> part): the columns the file holds, in the file's order, and for predictions what they were scored from.
/// </summary>
public sealed record DatasetVersionImport(IReadOnlyList<ColumnSchema>? Columns, PredictionLineage? Predictions = null);

/// <summary>A dataset as the list shows it: its latest version, how many it has, and when the last was made.</summary>
public sealed record DatasetSummary(string Name, int LatestVersion, int Versions, DateTimeOffset UpdatedAt);

/// <summary>
/// What a point-in-time training set was joined from: a feature service's version, the entity rows (a dataset version)
/// and their timestamp column, and for each feature view its version, the versions of its dataset that were read, the
/// keys it was joined by and the column each feature became. A model trained on the set carries it in its lineage, which
/// is how it is served by entity key.
/// </summary>
public sealed record TrainingSetLineage(
    string FeatureService,
    int FeatureServiceVersion,
    string EntityDataset,
    int EntityDatasetVersion,
    string TimestampField,
    IReadOnlyList<ViewLineage> Views)
{
    /// <summary>Every <c>view:feature</c> reference the set holds.</summary>
    [JsonIgnore]
    public IEnumerable<string> FeatureReferences => Views.SelectMany(view => view.Features.Select(feature => $"{view.View}:{feature.Feature}"));

    /// <summary>Every view's join keys, each once: the entity columns of the set, which identify rows rather than describe them.</summary>
    [JsonIgnore]
    public IEnumerable<string> JoinKeys => Views.SelectMany(view => view.JoinKeys).Distinct();
}

/// <param name="TtlSeconds">The view's TTL the set was joined with (0: none). Served by entity key, a model's features are
/// held to the same TTL, so it sees a value too old as missing exactly as it did in training.</param>
public sealed record ViewLineage(
    string View,
    int ViewVersion,
    string Dataset,
    IReadOnlyList<int> DatasetVersions,
    IReadOnlyList<string> JoinKeys,
    long TtlSeconds,
    IReadOnlyList<FeatureColumn> Features);

/// <summary>A feature of a view, and the column of the training set (and so of the model's input) that holds it.</summary>
public sealed record FeatureColumn(string Feature, string Column);

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

/// <summary>
/// Values of some of a dataset version's columns, gathered elsewhere (a sample of the inputs a model was sent), to compare
/// with the version's own: numbers for numeric columns (seconds since the Unix epoch for timestamps), strings for
/// categorical and text columns, true or false for booleans, null for a missing value.
/// </summary>
public sealed record SampleDriftRequest(IReadOnlyList<ColumnSample> Columns);

/// <summary>One column of a <see cref="SampleDriftRequest"/>: its name in the dataset version and its values.</summary>
public sealed record ColumnSample(string Name, IReadOnlyList<JsonElement> Values);

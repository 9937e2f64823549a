using System.Text.Json.Serialization;

namespace ModelPlatform.Contracts;

/// <summary>An immutable dataset version: its schema, size and content checksum.</summary>
/// <param name="Delimiter">The field separator the upload was read with; given in the upload's answer only.</param>
public sealed record DatasetVersionInfo(
    string Name,
    int Version,
    int Rows,
    IReadOnlyList<ColumnSchema> Columns,
    string Sha256,
    DateTimeOffset CreatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Delimiter = null);

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

namespace ModelPlatform.Contracts;

/// <summary>An immutable dataset version: its schema, size and content checksum.</summary>
public sealed record DatasetVersionInfo(
    string Name,
    int Version,
    int Rows,
    IReadOnlyList<ColumnSchema> Columns,
    string Sha256,
    DateTimeOffset CreatedAt);

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

using DuckDB.NET.Data;
using ModelPlatform.Contracts;
using ModelPlatform.Feature.Offline;

namespace ModelPlatform.Feature.Datasets;

/// <summary>
/// Takes a Parquet file in as a dataset version's rows: every column it declares must be in the file with a type that holds
/// the declared one, and nothing undeclared may be. The rows are written again, as every version's file is (doubles,
/// booleans, UTC timestamps and text, zstd), so whatever wrote the upload, readers meet one layout.
/// </summary>
public static class ParquetImport
{
    /// <summary>
    /// Writes the upload at <paramref name="upload"/> as a version's file at <paramref name="output"/>; returns its rows.
    /// Throws <see cref="FeatureRequestException"/> naming the field at fault (<c>data</c>, <c>metadata.columns</c>).
    /// </summary>
    public static long Write(DuckDBConnection duckdb, string upload, IReadOnlyList<ColumnSchema> columns, CsvLimits limits, string output)
    {
        var source = $"read_parquet({DuckDbSql.String(upload)})";
        Dictionary<string, string> types;
        try
        {
            types = Describe(duckdb, source);
        }
        catch (DuckDBException ex)
        {
            throw new FeatureRequestException("data", $"is not a Parquet file that can be read: {FirstLine(ex.Message)}");
        }

        foreach (var column in columns)
        {
            if (!types.TryGetValue(column.Name, out var type))
            {
                throw new FeatureRequestException($"metadata.columns.{column.Name}", "is not a column of the Parquet file");
            }

            if (!Holds(column.Type, type))
            {
                throw new FeatureRequestException(
                    $"metadata.columns.{column.Name}",
                    $"is {type} in the Parquet file, which does not hold {column.Type.ToString().ToLowerInvariant()} values");
            }
        }

        if (types.Keys.FirstOrDefault(name => columns.All(column => column.Name != name)) is { } undeclared)
        {
            throw new FeatureRequestException("metadata.columns", $"does not declare the file's column '{undeclared}'");
        }

        var rows = Scalar(duckdb, $"SELECT count(*) FROM {source}");
        if (rows > limits.MaxRows)
        {
            throw new FeatureRequestException("data", $"has {rows:N0} rows; a version holds at most {limits.MaxRows:N0}");
        }

        var select = string.Join(", ", columns.Select(column =>
            $"CAST({DuckDbSql.Identifier(column.Name)} AS {DatasetFiles.SqlType(column.Type)}) AS {DuckDbSql.Identifier(column.Name)}"));
        duckdb.Execute($"COPY (SELECT {select} FROM {source}) TO {DuckDbSql.String(output)} (FORMAT parquet, COMPRESSION zstd)");
        return rows;
    }

    /// <summary>The problems of declared columns before any file is read: none, repeats, bad names, too many.</summary>
    public static Dictionary<string, string[]> Check(IReadOnlyList<ColumnSchema>? columns, CsvLimits limits)
    {
        var errors = new Dictionary<string, string[]>();
        if (columns is not { Count: > 0 })
        {
            errors["metadata.columns"] = ["is required: each column of the file, with its type"];
            return errors;
        }

        if (columns.Count > limits.MaxColumns)
        {
            errors["metadata.columns"] = [$"has {columns.Count} columns; a dataset holds at most {limits.MaxColumns}"];
        }

        for (var c = 0; c < columns.Count; c++)
        {
            var name = columns[c].Name;
            if (string.IsNullOrWhiteSpace(name) || name.Length > limits.MaxColumnNameLength)
            {
                errors[$"metadata.columns[{c}].name"] = [$"must be 1 to {limits.MaxColumnNameLength} characters, not blank"];
            }
            else if (columns.Take(c).Any(column => column.Name == name))
            {
                errors[$"metadata.columns[{c}].name"] = [$"repeats the column '{name}'"];
            }
        }

        return errors;
    }

    /// <summary>Whether a column DuckDB reads as <paramref name="type"/> holds values of <paramref name="declared"/> without loss of meaning.</summary>
    private static bool Holds(ColumnType declared, string type) => declared switch
    {
        ColumnType.Numeric => type is "DOUBLE" or "FLOAT" or "TINYINT" or "SMALLINT" or "INTEGER" or "BIGINT" or "UTINYINT" or "USMALLINT"
            or "UINTEGER" or "UBIGINT" or "HUGEINT" || type.StartsWith("DECIMAL", StringComparison.Ordinal),
        ColumnType.Boolean => type == "BOOLEAN",
        ColumnType.Timestamp => type.StartsWith("TIMESTAMP", StringComparison.Ordinal) || type == "DATE",
        _ => type == "VARCHAR",
    };

    private static Dictionary<string, string> Describe(DuckDBConnection duckdb, string source)
    {
        using var command = duckdb.CreateCommand();
        command.CommandText = $"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {source})";
        using var reader = command.ExecuteReader();
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        while (reader.Read())
        {
            types[reader.GetString(0)] = reader.GetString(1);
        }

        return types;
    }

    private static long Scalar(DuckDBConnection duckdb, string sql)
    {
        using var command = duckdb.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string FirstLine(string message) => message.Split('\n', 2)[0];
}

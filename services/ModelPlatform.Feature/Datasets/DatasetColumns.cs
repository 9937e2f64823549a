using System.Runtime.InteropServices;
using DuckDB.NET.Data;
using ModelPlatform.Contracts;
using ModelPlatform.Feature.Offline;
using ModelPlatform.Features.Statistics;

namespace ModelPlatform.Feature.Datasets;

/// <summary>
/// A version's columns, read from its Parquet file one at a time, as statistics and drift take them: numbers (missing as
/// NaN; timestamps as seconds since the Unix epoch), or labels (booleans as true/false).
/// </summary>
public static class DatasetColumns
{
    public static IEnumerable<ColumnData> Read(DuckDBConnection duckdb, string file, IReadOnlyList<ColumnSchema> columns)
    {
        foreach (var column in columns)
        {
            yield return Read(duckdb, file, column);
        }
    }

    public static ColumnData Read(DuckDBConnection duckdb, string file, ColumnSchema column)
    {
        var name = DuckDbSql.Identifier(column.Name);
        using var query = duckdb.CreateCommand();
        query.CommandText = column.Type switch
        {
            ColumnType.Numeric => $"SELECT {name}::DOUBLE FROM read_parquet({DuckDbSql.String(file)})",
            ColumnType.Timestamp => $"SELECT epoch({name}) FROM read_parquet({DuckDbSql.String(file)})",
            _ => $"SELECT {name}::VARCHAR FROM read_parquet({DuckDbSql.String(file)})",
        };
        using var reader = query.ExecuteReader();
        if (column.Type is ColumnType.Numeric or ColumnType.Timestamp)
        {
            var numbers = new List<double>();
            while (reader.Read())
            {
                numbers.Add(reader.IsDBNull(0) ? double.NaN : reader.GetDouble(0));
            }

            return ColumnData.Numeric(column.Name, CollectionsMarshal.AsSpan(numbers));
        }

        var labels = new List<string?>();
        while (reader.Read())
        {
            labels.Add(reader.IsDBNull(0) ? null : reader.GetString(0));
        }

        return ColumnData.Categorical(column.Name, column.Type, CollectionsMarshal.AsSpan(labels));
    }
}

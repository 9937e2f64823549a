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

    /// <summary>
    /// A column's statistics, as <see cref="ColumnStatistics.Of"/> makes them from its values. Labels are counted by DuckDB,
    /// within its memory limit, and only the most frequent come back: read whole, an identifier of 5,000,000 different
    /// values took 500 MB of strings and their counts. Ties among the top values are broken in code-point order.
    /// </summary>
    public static ColumnStatistics Statistics(DuckDBConnection duckdb, string file, ColumnSchema column)
    {
        if (column.Type is ColumnType.Numeric or ColumnType.Timestamp)
        {
            return ColumnStatistics.Of(Read(duckdb, file, column));
        }

        var (name, rows) = (DuckDbSql.Identifier(column.Name), $"read_parquet({DuckDbSql.String(file)})");
        using var query = duckdb.CreateCommand();
        query.CommandText = $"SELECT COUNT({name}), COUNT(*) - COUNT({name}), COUNT(DISTINCT {name}) FROM {rows}";
        long count, missing, distinct;
        using (var counts = query.ExecuteReader())
        {
            counts.Read();
            (count, missing, distinct) = (counts.GetInt64(0), counts.GetInt64(1), counts.GetInt64(2));
        }

        query.CommandText = $"""
            SELECT {name}::VARCHAR, COUNT(*) FROM {rows} WHERE {name} IS NOT NULL
            GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {ColumnStatistics.TopValueCount}
            """;
        var top = new List<ValueCount>();
        using (var labels = query.ExecuteReader())
        {
            while (labels.Read())
            {
                top.Add(new ValueCount(labels.GetString(0), labels.GetInt64(1)));
            }
        }

        return new ColumnStatistics(column.Name, column.Type, count, missing, distinct, TopValues: top);
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

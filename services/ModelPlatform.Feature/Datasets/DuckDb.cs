using DuckDB.NET.Data;
using ModelPlatform.Feature.Offline;

namespace ModelPlatform.Feature.Datasets;

/// <summary>
/// DuckDB, in process: the offline store's engine over Parquet files. Each use opens its own in-memory database, bounded
/// in memory and spilling to the service's scratch folder, so a large query never takes the process down.
/// </summary>
public static class DuckDb
{
    public static DuckDBConnection Open(string scratchDirectory, long memoryLimitBytes)
    {
        var spill = Path.Combine(scratchDirectory, "duckdb");
        Directory.CreateDirectory(spill);
        var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        connection.Execute($"SET memory_limit = '{memoryLimitBytes / (1 << 20)}MiB'; SET temp_directory = {DuckDbSql.String(spill)};");
        return connection;
    }

    public static void Execute(this DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}

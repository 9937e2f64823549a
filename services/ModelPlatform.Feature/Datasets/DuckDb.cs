using DuckDB.NET.Data;

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
        connection.Execute($"SET memory_limit = '{memoryLimitBytes / (1 << 20)}MB'; SET temp_directory = {Text(spill)};");
        return connection;
    }

    public static void Execute(this DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>A quoted identifier: column names come from users' files.</summary>
    public static string Identifier(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    /// <summary>A quoted string literal, such as a file's path.</summary>
    public static string Text(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
}

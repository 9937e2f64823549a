namespace ModelPlatform.Feature.Offline;

/// <summary>
/// Names and paths from users, written into DuckDB SQL. Identifiers are double-quoted and string literals single-quoted,
/// each with its quote doubled (https://duckdb.org/docs/stable/sql/dialect/keywords_and_identifiers).
/// </summary>
internal static class DuckDbSql
{
    public static string Identifier(string name) => '"' + name.Replace("\"", "\"\"", StringComparison.Ordinal) + '"';

    public static string String(string text) => '\'' + text.Replace("'", "''", StringComparison.Ordinal) + '\'';

    /// <summary>The files as one table, columns matched by name (a column missing from a file reads as null there).</summary>
    public static string ReadParquet(IEnumerable<string> files) =>
        $"read_parquet([{string.Join(", ", files.Select(String))}], union_by_name = true)";
}

using System.Globalization;
using DuckDB.NET.Data;

namespace ModelPlatform.Bench.Features;

/// <summary>
/// Checks a sample of the output against the rule stated another way: a plain join of each sampled entity row with every
/// row of its customer in the window, keeping the latest, and row positions taken from DuckDB's file row numbers rather
/// than the engine's numbering. A fast join that is wrong would not count.
/// </summary>
internal static class SpotCheck
{
    /// <summary>How many sampled rows disagree with the join in <paramref name="outputFile"/>, per view.</summary>
    public static IReadOnlyList<(string View, long Sampled, long Disagreeing)> Run(BenchData data, string outputFile, int everyNthRow)
    {
        using var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        var results = new List<(string, long, long)>();
        foreach (var view in data.Views)
        {
            var ttl = view.Ttl == TimeSpan.Zero ? "true" : $"v.event_timestamp >= s.event_timestamp - INTERVAL {view.Ttl.TotalSeconds} SECONDS";
            using var command = connection.CreateCommand();
            command.CommandText = string.Create(CultureInfo.InvariantCulture, $"""
                WITH sample AS (
                    SELECT file_row_number AS row, customer_id, event_timestamp FROM read_parquet('{data.Entities.Files[0]}')
                    WHERE file_row_number % {everyNthRow} = 0),
                view AS (
                    SELECT (file_index, file_row_number) AS line, * FROM read_parquet([{string.Join(", ", view.Files.Select(file => $"'{file}'"))}])),
                expected AS (
                    SELECT s.row, arg_max(v.f0, (v.event_timestamp, v.created, v.line)) AS f0
                    FROM sample AS s JOIN view AS v ON v.customer_id = s.customer_id AND v.event_timestamp <= s.event_timestamp AND {ttl}
                    GROUP BY s.row),
                output AS (SELECT file_row_number AS row, "{view.Name}__f0" AS f0 FROM read_parquet('{outputFile}'))
                SELECT count(*), count(*) FILTER (WHERE output.f0 IS DISTINCT FROM expected.f0)
                FROM sample JOIN output USING (row) LEFT JOIN expected USING (row)
                """);
            using var reader = command.ExecuteReader();
            reader.Read();
            results.Add((view.Name, reader.GetInt64(0), reader.GetInt64(1)));
        }

        return results;
    }
}

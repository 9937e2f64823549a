using DuckDB.NET.Data;
using ModelPlatform.Feature.Offline;

namespace ModelPlatform.Bench.Features;

/// <summary>
/// The workload, written as Parquet by DuckDB: entity rows for 100 000 customers at random instants of 2025, and
/// three feature views of a million rows each (10 DOUBLE features, event times over the same year, each row created up to
/// a day after its event), stored as several files as appended versions would be. Values come from hashes of the row
/// number, so every run writes the same files.
/// </summary>
internal sealed record BenchData(EntitySource Entities, IReadOnlyList<FeatureViewSource> Views)
{
    public const int Customers = 100_000;
    public const int FeaturesPerView = 10;

    /// <summary>The views: name, files, TTL. One with no limit, one of 30 days, one of 7.</summary>
    private static readonly (string Name, int Files, TimeSpan Ttl)[] ViewShapes =
    [
        ("profile", 1, TimeSpan.Zero),
        ("spend_30d", 4, TimeSpan.FromDays(30)),
        ("activity_7d", 2, TimeSpan.FromDays(7)),
    ];

    public static BenchData Write(string folder, int entityRows, int rowsPerView)
    {
        using var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();

        var entityFile = Path.Combine(folder, "entities.parquet");
        Run(connection, $"""
            COPY (
                SELECT (hash(i, 1) % {Customers})::BIGINT AS customer_id,
                    TIMESTAMP '2025-01-01' + to_microseconds((hash(i, 2) % 31536000000000)::BIGINT) AS event_timestamp,
                    (hash(i, 3) % 2)::INTEGER AS label
                FROM range({entityRows}) AS t(i))
            TO '{entityFile}' (FORMAT parquet)
            """);

        var features = Enumerable.Range(0, FeaturesPerView).Select(k => $"f{k}").ToList();
        var views = new List<FeatureViewSource>();
        foreach (var (shape, salt) in ViewShapes.Select((shape, i) => (shape, 100 * (i + 1))))
        {
            var files = new List<string>();
            var rowsPerFile = rowsPerView / shape.Files;
            for (var file = 0; file < shape.Files; file++)
            {
                var path = Path.Combine(folder, $"{shape.Name}-v{file + 1}.parquet");
                var values = string.Join(", ", features.Select((name, k) => $"(hash(id, {salt + 10 + k}) % 1000000) / 1e6 AS {name}"));
                Run(connection, $"""
                    COPY (
                        SELECT (hash(id, {salt}) % {Customers})::BIGINT AS customer_id, event_timestamp,
                            (event_timestamp + to_seconds((hash(id, {salt + 2}) % 86400)::BIGINT))::TIMESTAMPTZ AS created, {values}
                        FROM (
                            SELECT {file * rowsPerFile} + i AS id,
                                TIMESTAMP '2025-01-01' + to_seconds((hash({file * rowsPerFile} + i, {salt + 1}) % 31536000)::BIGINT) AS event_timestamp
                            FROM range({rowsPerFile}) AS t(i)))
                    TO '{path}' (FORMAT parquet)
                    """);
                files.Add(path);
            }

            views.Add(new FeatureViewSource(shape.Name, files, ["customer_id"], "event_timestamp", "created", shape.Ttl, features));
        }

        return new BenchData(new EntitySource([entityFile], "event_timestamp"), views);
    }

    public static string DuckDbVersion()
    {
        using var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT version()";
        return (string)command.ExecuteScalar()!;
    }

    private static void Run(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}

using System.Diagnostics;
using System.Globalization;
using Dapper;
using ModelPlatform.Feature.Datasets;
using ModelPlatform.Feature.Definitions;
using ModelPlatform.Feature.Offline;
using ModelPlatform.Features;
using ModelPlatform.Features.Online;
using ModelPlatform.Storage;

namespace ModelPlatform.Feature.Online;

/// <summary>
/// What a materialization loaded: the event-time window, the rows written and skipped (older than Redis had), how long it took,
/// whether the view's schedule ran it (or a caller did), and when it finished.
/// </summary>
public sealed record MaterializationRun(
    string View, DateTimeOffset Start, DateTimeOffset End, int Written, int Skipped, double Seconds, bool Scheduled, DateTimeOffset FinishedAt);

/// <summary>A window to load; without one, the run continues from where the last one ended (Feast's materialize_incremental).</summary>
public sealed record MaterializeRequest(DateTimeOffset? Start = null, DateTimeOffset? End = null);

/// <summary>
/// Loads the latest value per entity of a feature view, within an event-time window, from its dataset's versions into the
/// online store. Idempotent: the store keeps the newer of two rows, so a run repeated or overlapping another changes nothing.
/// </summary>
public sealed class Materialization(
    DefinitionStore definitions, DatasetStore datasets, DatasetFiles files, OnlineStore online, ServiceDatabase database, TimeProvider clock)
{
    public static readonly Migration Migration = Migration.Portable(
        """
        CREATE TABLE materializations (
            view TEXT NOT NULL,
            window_start TEXT NOT NULL,
            window_end TEXT NOT NULL,
            written INTEGER NOT NULL,
            skipped INTEGER NOT NULL,
            seconds REAL NOT NULL,
            at TEXT NOT NULL);
        """);

    /// <summary>The spans and metrics of materialization, under the name ServiceDefaults picks up (<c>ModelPlatform.*</c>).</summary>
    public const string TelemetryName = "ModelPlatform.Feature.Materialization";

    internal static readonly ActivitySource Source = new(TelemetryName);

    private const int RowsPerWrite = 10_000;

    /// <summary>The lock a run takes to record itself, and a schedule to claim the view.</summary>
    public static string Resource(string viewName) => $"feature-views/{viewName}/materializations";

    public async Task<MaterializationRun> RunAsync(
        string viewName, MaterializeRequest request, AuditActor actor, bool scheduled, CancellationToken cancellationToken)
    {
        var view = (await definitions.GetAsync(DefinitionKind<FeatureViewDefinition>.FeatureView, viewName, null, cancellationToken))?.Definition
            ?? throw new FeatureRequestException("name", $"There is no feature view '{viewName}'.");
        var entity = (await definitions.GetAsync(DefinitionKind<EntityDefinition>.Entity, view.Entity, null, cancellationToken))!.Definition;
        await using var connection = await database.OpenAsync(cancellationToken);
        var lastEnd = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT MAX(window_end) FROM materializations WHERE view = @viewName", new { viewName }, cancellationToken: cancellationToken));
        // The first run takes the whole history: rows may well be older than 1970 (Feast starts at the epoch, and loses them).
        var start = request.Start ?? (lastEnd is null ? DateTimeOffset.MinValue : DateTimeOffset.Parse(lastEnd, CultureInfo.InvariantCulture));
        var end = request.End ?? clock.GetUtcNow();
        if (end <= start)
        {
            throw new FeatureRequestException("end", $"The window ends at {end:O}, not after its start {start:O}.");
        }

        using var activity = Source.StartActivity($"materialize {view.Name}");
        var elapsed = Stopwatch.StartNew();
        var keys = entity.JoinKeys.Select(key => key.Name).ToList();
        var target = new OnlineView(view.Name, keys, view.Ttl);
        var (written, skipped) = (0, 0);
        var paths = (await datasets.GetAllFilesAsync(view.Dataset, cancellationToken)).Select(version => version.Path).ToList();

        if (paths.Count > 0)
        {
            foreach (var rows in LatestRows(paths, view, keys, start, end).Chunk(RowsPerWrite))
            {
                var counts = await online.WriteAsync(target, rows, cancellationToken);
                (written, skipped) = (written + counts.Written, skipped + counts.Skipped);
            }
        }

        var at = clock.GetUtcNow();
        var run = new MaterializationRun(view.Name, start, end, written, skipped, elapsed.Elapsed.TotalSeconds, scheduled, at);
        activity?.SetTag("modelplatform.feature_view", view.Name);
        activity?.SetTag("modelplatform.rows_written", written);
        await using var transaction = await database.BeginWriteAsync(connection, Resource(view.Name), cancellationToken);
        // In UTC, so the latest end is the greatest text whatever offset a caller's window had.
        await connection.ExecuteAsync(
            """
            INSERT INTO materializations (view, window_start, window_end, written, skipped, seconds, scheduled, at)
            VALUES (@View, @start, @end, @Written, @Skipped, @Seconds, @scheduled, @at)
            """,
            new
            {
                run.View,
                start = start.ToUniversalTime().ToString("O"),
                end = end.ToUniversalTime().ToString("O"),
                run.Written,
                run.Skipped,
                run.Seconds,
                scheduled = run.Scheduled ? 1 : 0,
                at = at.ToUniversalTime().ToString("O"),
            },
            transaction);
        await connection.AppendAsync(transaction, actor, "feature-view.materialized", $"feature-views/{view.Name}", null, run, at);
        await transaction.CommitAsync(cancellationToken);
        return run;
    }

    /// <summary>The runs of a view, newest first.</summary>
    public async Task<IReadOnlyList<MaterializationRun>> ListAsync(string viewName, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<RunRow>(new CommandDefinition(
            """
            SELECT view, window_start AS WindowStart, window_end AS WindowEnd, written, skipped, seconds, scheduled, at
            FROM materializations WHERE view = @viewName ORDER BY at DESC LIMIT @limit
            """,
            new { viewName, limit }, cancellationToken: cancellationToken));
        return [.. rows.Select(row => row.ToRun())];
    }

    /// <summary>The latest row per entity with its event time in [start, end): the newest event, then the newest created.</summary>
    private IEnumerable<OnlineRow> LatestRows(
        IReadOnlyList<string> paths, FeatureViewDefinition view, IReadOnlyList<string> keys, DateTimeOffset start, DateTimeOffset end)
    {
        using var duckdb = files.OpenQueryEngine();
        using var query = duckdb.CreateCommand();
        var time = DuckDbSql.Identifier(view.TimestampField);
        var created = view.CreatedTimestampField is { } field ? DuckDbSql.Identifier(field) : "NULL";
        var partition = string.Join(", ", keys.Select(DuckDbSql.Identifier));
        var features = string.Concat(view.Features.Select(feature => ", " + DuckDbSql.Identifier(feature.Name)));
        query.CommandText = $"""
            SELECT {partition}, {time}::TIMESTAMPTZ, {created}::TIMESTAMPTZ{features}
            FROM {DuckDbSql.ReadParquet(paths)}
            WHERE {time} >= {DuckDbSql.String(start.ToString("O"))}::TIMESTAMPTZ AND {time} < {DuckDbSql.String(end.ToString("O"))}::TIMESTAMPTZ
            QUALIFY row_number() OVER (PARTITION BY {partition} ORDER BY {time} DESC, {created} DESC NULLS LAST) = 1
            """;
        using var reader = query.ExecuteReader();
        while (reader.Read())
        {
            var entity = keys.Select((key, i) => (key, value: reader.GetValue(i))).ToDictionary(pair => pair.key, pair => (object?)pair.value);
            var values = new Dictionary<string, object?>(view.Features.Count);
            for (var f = 0; f < view.Features.Count; f++)
            {
                var column = keys.Count + 2 + f;
                values[view.Features[f].Name] = reader.IsDBNull(column) ? null : reader.GetValue(column);
            }

            var createdAt = reader.IsDBNull(keys.Count + 1) ? (DateTimeOffset?)null : Moment(reader.GetValue(keys.Count + 1));
            yield return new OnlineRow(entity, values, Moment(reader.GetValue(keys.Count)), createdAt);
        }
    }

    private static DateTimeOffset Moment(object value) => value switch
    {
        DateTimeOffset moment => moment,
        DateTime time => new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc)),
        _ => throw new InvalidDataException($"Expected a timestamp, read {value}."),
    };

    // Both engines read integers back as long.
    private sealed record RunRow(
        string View, DateTimeOffset WindowStart, DateTimeOffset WindowEnd, long Written, long Skipped, double Seconds, long Scheduled, DateTimeOffset At)
    {
        public MaterializationRun ToRun() => new(View, WindowStart, WindowEnd, (int)Written, (int)Skipped, Seconds, Scheduled != 0, At);
    }
}

using System.Globalization;
using static ModelPlatform.Feature.Offline.DuckDbSql;

namespace ModelPlatform.Feature.Offline;

/// <summary>
/// The SQL of a point-in-time join, built from requests already checked against the files' columns (<see cref="Check"/>).
/// The entity rows are numbered; each view is reduced to one row per (keys, event time), every entity row takes the latest
/// of those at or before its own time with an ASOF LEFT JOIN, and features older than the view's TTL become null; the
/// views' matches are then joined back on the row number and written in the entity rows' order.
/// </summary>
internal static class PointInTimeJoinQuery
{
    /// <summary>Names the join uses for its own columns; entity columns may not start with it.</summary>
    public const string ReservedPrefix = "__pit_";

    private static readonly HashSet<string> TimestampTypes =
        ["TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"];

    private static readonly HashSet<string> IntegerTypes =
        ["TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"];

    /// <summary>
    /// Checks the request against the columns DuckDB found in the files, and throws <see cref="PointInTimeJoinException"/>
    /// naming the first column at fault.
    /// </summary>
    public static void Check(
        EntitySource entities, IReadOnlyList<ParquetColumn> entityColumns,
        IReadOnlyList<FeatureViewSource> views, IReadOnlyList<IReadOnlyList<ParquetColumn>> viewColumns)
    {
        var entityTypes = TypesByName(entityColumns);
        if (entityColumns.FirstOrDefault(column => column.Name.StartsWith(ReservedPrefix, StringComparison.OrdinalIgnoreCase)) is { } reserved)
        {
            throw new PointInTimeJoinException(
                $"The entity table's column '{reserved.Name}' starts with '{ReservedPrefix}', which the join keeps for itself.", column: reserved.Name);
        }

        CheckTimestamp(entityTypes, entities.EventTimestamp, view: null, "event timestamp");

        // DuckDB matches names without regard to case, so the output's names must differ in more than case.
        var outputNames = new HashSet<string>(entityColumns.Select(column => column.Name), StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < views.Count; i++)
        {
            var view = views[i];
            var types = TypesByName(viewColumns[i]);
            foreach (var key in view.JoinKeys)
            {
                if (!entityTypes.TryGetValue(key, out var entityType))
                {
                    throw new PointInTimeJoinException($"The join key '{key}' of view '{view.Name}' is not a column of the entity table.", view.Name, key);
                }

                var viewType = Require(types, key, view.Name, "join key");
                if (viewType != entityType && !(IntegerTypes.Contains(viewType) && IntegerTypes.Contains(entityType)))
                {
                    throw new PointInTimeJoinException(
                        $"The join key '{key}' is {entityType} in the entity table but {viewType} in view '{view.Name}'.", view.Name, key);
                }
            }

            CheckTimestamp(types, view.EventTimestamp, view.Name, "event timestamp");
            if (view.CreatedTimestamp is not null)
            {
                CheckTimestamp(types, view.CreatedTimestamp, view.Name, "created timestamp");
            }

            foreach (var feature in view.Features)
            {
                Require(types, feature, view.Name, "feature");
                var output = OutputName(view, feature);
                if (!outputNames.Add(output))
                {
                    throw new PointInTimeJoinException(
                        $"The output would have two columns named '{output}' (names that differ only in case count as the same).", view.Name, feature);
                }
            }
        }
    }

    /// <summary>Feast's full feature name, the output column of <paramref name="feature"/>.</summary>
    public static string OutputName(FeatureViewSource view, string feature) => $"{view.Name}__{feature}";

    /// <summary>
    /// The statements of the join, to run in order; the last writes <paramref name="outputFile"/> and counts its rows.
    /// One view at a time: each ASOF join sorts only the entity table's row numbers, times and keys, and holds one view,
    /// which measured faster and smaller than joining every view in one statement (bench/ModelPlatform.Bench.Features).
    /// </summary>
    public static IReadOnlyList<string> Statements(
        EntitySource entities, IReadOnlyList<ParquetColumn> entityColumns,
        IReadOnlyList<FeatureViewSource> views, IReadOnlyList<IReadOnlyList<ParquetColumn>> viewColumns, string outputFile)
    {
        // row_number() OVER () numbers the rows in file order, and only the final ORDER BY keeps that order through the
        // joins (https://duckdb.org/docs/stable/sql/dialect/order_preservation).
        var statements = new List<string>
        {
            $"""
            CREATE TEMP TABLE __pit_entities AS
            SELECT row_number() OVER () AS __pit_row, {EpochMicroseconds(entities.EventTimestamp, TypesByName(entityColumns))} AS __pit_ts, *
            FROM {ReadParquet(entities.Files)}
            """,
        };
        for (var i = 0; i < views.Count; i++)
        {
            statements.Add(Matches(views[i], TypesByName(viewColumns[i]), $"__pit_matches{i}"));
        }

        var selected = entityColumns.Select(column => $"__pit_e.{Identifier(column.Name)}").ToList();
        var joins = new List<string>();
        for (var i = 0; i < views.Count; i++)
        {
            var matches = $"__pit_matches{i}";
            joins.Add($"LEFT JOIN {matches} ON {matches}.__pit_row = __pit_e.__pit_row");
            selected.AddRange(views[i].Features.Select(feature =>
                $"struct_extract({matches}.__pit_features, {String(feature)}) AS {Identifier(OutputName(views[i], feature))}"));
        }

        statements.Add($"""
            COPY (
                SELECT {string.Join(",\n", selected)}
                FROM __pit_entities AS __pit_e
                {string.Join("\n", joins)}
                ORDER BY __pit_e.__pit_row)
            TO {String(outputFile)} (FORMAT parquet)
            """);
        return statements;
    }

    /// <summary>
    /// A table of each entity row's features from <paramref name="view"/>: the row number, and the features as one struct,
    /// null when no row matches. The ASOF match is the latest row at or before the entity's time, so if that one is older
    /// than the TTL every other is too.
    /// </summary>
    private static string Matches(FeatureViewSource view, Dictionary<string, string> types, string table)
    {
        var keysMatch = string.Join(" AND ", view.JoinKeys.Select(key => $"__pit_e.{Identifier(key)} = __pit_v.{Identifier(key)}"));
        var ttl = (view.Ttl.Ticks / TimeSpan.TicksPerMicrosecond).ToString(CultureInfo.InvariantCulture);
        var features = view.Ttl == TimeSpan.Zero
            ? "__pit_v.__pit_features"
            : $"CASE WHEN __pit_e.__pit_ts - __pit_v.__pit_ts <= {ttl} THEN __pit_v.__pit_features END";
        return $"""
            CREATE TEMP TABLE {table} AS
            WITH __pit_v AS ({LatestPerEventTime(view, types)})
            SELECT __pit_e.__pit_row, {features} AS __pit_features
            FROM __pit_entities AS __pit_e
            ASOF LEFT JOIN __pit_v ON {keysMatch} AND __pit_e.__pit_ts >= __pit_v.__pit_ts
            """;
    }

    /// <summary>
    /// One row per (keys, event time) of a view, so the ASOF join has no ties to settle: the latest created timestamp wins
    /// (a row without one loses to a row with one), and between rows equal in both the one read last (the later file, then
    /// the later row) wins. The features travel as one struct, so their names cannot collide with the join's own.
    /// </summary>
    private static string LatestPerEventTime(FeatureViewSource view, Dictionary<string, string> types)
    {
        var keys = string.Join(", ", view.JoinKeys.Select(Identifier));
        var features = "{" + string.Join(", ", view.Features.Select(feature => $"{String(feature)}: {Identifier(feature)}")) + "}";
        var created = view.CreatedTimestamp is null ? "NULL::BIGINT" : EpochMicroseconds(view.CreatedTimestamp, types);
        return $"""
            SELECT {keys}, __pit_ts, arg_max(__pit_features, (__pit_created IS NOT NULL, __pit_created, __pit_line)) AS __pit_features
            FROM (
                SELECT {keys}, {EpochMicroseconds(view.EventTimestamp, types)} AS __pit_ts, {created} AS __pit_created,
                    row_number() OVER () AS __pit_line, {features} AS __pit_features
                FROM {ReadParquet(view.Files)})
            GROUP BY {keys}, __pit_ts
            """;
    }

    /// <summary>
    /// The instant as microseconds since 1970 UTC: a time zone's timestamp is one already, a plain one is read as UTC
    /// (not in the session's time zone, as a cast to TIMESTAMP WITH TIME ZONE would).
    /// </summary>
    private static string EpochMicroseconds(string column, Dictionary<string, string> types) =>
        types[column] == "TIMESTAMP WITH TIME ZONE" ? $"epoch_us({Identifier(column)})" : $"epoch_us(CAST({Identifier(column)} AS TIMESTAMP))";

    private static Dictionary<string, string> TypesByName(IReadOnlyList<ParquetColumn> columns) =>
        columns.ToDictionary(column => column.Name, column => column.Type, StringComparer.Ordinal);

    private static string Require(Dictionary<string, string> types, string column, string? view, string role) =>
        types.TryGetValue(column, out var type)
            ? type
            : throw new PointInTimeJoinException($"The {role} '{column}' is not a column of {Table(view)}.", view, column);

    private static void CheckTimestamp(Dictionary<string, string> types, string column, string? view, string role)
    {
        var type = Require(types, column, view, role);
        if (!TimestampTypes.Contains(type))
        {
            throw new PointInTimeJoinException(
                $"The {role} '{column}' of {Table(view)} is {type}, not a TIMESTAMP or TIMESTAMP WITH TIME ZONE.", view, column);
        }
    }

    private static string Table(string? view) => view is null ? "the entity table" : $"view '{view}'";
}

using System.Diagnostics;
using System.Globalization;
using DuckDB.NET.Data;
using static ModelPlatform.Feature.Offline.DuckDbSql;

namespace ModelPlatform.Feature.Offline;

/// <summary>
/// Feast's point-in-time join (https://docs.feast.dev/getting-started/concepts/point-in-time-joins), run by DuckDB in
/// this process: every entity row gets, from each feature view, the row with its keys whose event timestamp is the latest
/// at or before the entity row's own (and, if the view has a TTL, no older than that), or nulls when there is none.
/// Rows keep their order and number, duplicates included. Equal event timestamps go to the latest created timestamp,
/// then to the row read last (the later file, then the later row within it).
/// </summary>
public static class PointInTimeJoin
{
    /// <inheritdoc cref="WriteAsync(EntitySource, IReadOnlyList{FeatureViewSource}, string, string, PointInTimeJoinLimits, CancellationToken)"/>
    public static Task<PointInTimeJoinResult> WriteAsync(
        EntitySource entities, IReadOnlyList<FeatureViewSource> views, string outputFile, string scratchDirectory, CancellationToken cancellationToken) =>
        WriteAsync(entities, views, outputFile, scratchDirectory, PointInTimeJoinLimits.Default, cancellationToken);

    /// <summary>
    /// Joins <paramref name="views"/> onto <paramref name="entities"/> and writes the result to <paramref name="outputFile"/>
    /// (Parquet), which appears whole or not at all. DuckDB spills what does not fit in
    /// <see cref="PointInTimeJoinLimits.MemoryLimitBytes"/> to a folder of its own under <paramref name="scratchDirectory"/>,
    /// removed afterwards.
    /// </summary>
    /// <exception cref="PointInTimeJoinException">The request does not fit the files: a column missing or of the wrong type, names colliding.</exception>
    /// <exception cref="FileNotFoundException">An input file does not exist.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; a running query is interrupted.</exception>
    public static async Task<PointInTimeJoinResult> WriteAsync(
        EntitySource entities, IReadOnlyList<FeatureViewSource> views, string outputFile, string scratchDirectory, PointInTimeJoinLimits limits,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentOutOfRangeException.ThrowIfLessThan(limits.MemoryLimitBytes, 1L << 20, nameof(limits));
        ArgumentOutOfRangeException.ThrowIfLessThan(limits.Threads, 1, nameof(limits));
        CheckRequest(entities, views);
        entities = entities with { Files = FullPaths(entities.Files) };
        views = [.. views.Select(view => view with { Files = FullPaths(view.Files) })];
        outputFile = Path.GetFullPath(outputFile);
        CheckNoGlob(outputFile);

        // DuckDB blocks the thread it runs on, so the join gets a thread of its own rather than the caller's.
        return await Task.Run(() => Write(entities, views, outputFile, scratchDirectory, limits, cancellationToken), cancellationToken);
    }

    private static PointInTimeJoinResult Write(
        EntitySource entities, IReadOnlyList<FeatureViewSource> views, string outputFile, string scratchDirectory, PointInTimeJoinLimits limits,
        CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var spillDirectory = Directory.CreateDirectory(Path.Combine(scratchDirectory, $"pit-{Guid.NewGuid():N}")).FullName;

        // Written beside the output under another name and renamed when complete, so no reader sees half a file.
        var partialFile = Path.Combine(Path.GetDirectoryName(outputFile)!, $".{Path.GetFileName(outputFile)}.{Guid.NewGuid():N}.partial");
        try
        {
            using var connection = new DuckDBConnection("DataSource=:memory:");
            connection.Open();
            Execute(connection, Settings(limits, spillDirectory), cancellationToken);

            var entityColumns = Describe(connection, ReadParquet(entities.Files));
            var viewColumns = views.Select(view => Describe(connection, ReadParquet(view.Files))).ToList();
            PointInTimeJoinQuery.Check(entities, entityColumns, views, viewColumns);

            using var memory = new EngineMemorySampler(connection);
            var rows = 0L;
            foreach (var statement in PointInTimeJoinQuery.Statements(entities, entityColumns, views, viewColumns, partialFile))
            {
                rows = Execute(connection, statement, cancellationToken);
            }

            var (peakMemory, peakSpilled) = memory.Stop();
            var columns = Describe(connection, $"read_parquet({String(partialFile)})");
            File.Move(partialFile, outputFile, overwrite: true);
            return new PointInTimeJoinResult(rows, clock.Elapsed, columns, peakMemory, peakSpilled);
        }
        finally
        {
            File.Delete(partialFile);
            Directory.Delete(spillDirectory, recursive: true);
        }
    }

    /// <summary>
    /// Insertion order stays preserved (DuckDB's default): rows are numbered as they are read, which keeps the entity rows'
    /// order and decides exact ties between view rows.
    /// </summary>
    private static string Settings(PointInTimeJoinLimits limits, string spillDirectory) =>
        string.Create(CultureInfo.InvariantCulture, $"""
            SET memory_limit = '{limits.MemoryLimitBytes / 1024}KiB';
            SET threads = {limits.Threads};
            SET temp_directory = {String(spillDirectory)};
            SET preserve_insertion_order = true;
            """);

    /// <summary>Runs <paramref name="sql"/>; cancelling interrupts DuckDB mid-query.</summary>
    private static long Execute(DuckDBConnection connection, string sql, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var interrupt = cancellationToken.Register(command.Cancel);
        try
        {
            return command.ExecuteNonQuery();
        }
        catch (DuckDBException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The point-in-time join was cancelled.", cancellationToken);
        }
    }

    /// <summary>The columns DuckDB reads from <paramref name="table"/>, from the files' metadata alone.</summary>
    private static List<ParquetColumn> Describe(DuckDBConnection connection, string table)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {table})";
        using var reader = command.ExecuteReader();
        var columns = new List<ParquetColumn>();
        while (reader.Read())
        {
            columns.Add(new ParquetColumn(reader.GetString(0), reader.GetString(1)));
        }

        return columns;
    }

    /// <summary>What can be checked before any file is opened.</summary>
    private static void CheckRequest(EntitySource entities, IReadOnlyList<FeatureViewSource> views)
    {
        ArgumentNullException.ThrowIfNull(entities);
        ArgumentNullException.ThrowIfNull(views);
        CheckName(entities.EventTimestamp, "The entity table's event timestamp column", view: null);
        CheckFiles(entities.Files, "the entity table", view: null);
        if (views.Count == 0)
        {
            throw new PointInTimeJoinException("A point-in-time join needs at least one feature view.");
        }

        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var view in views)
        {
            CheckName(view.Name, "A feature view's name", view: null);
            if (!names.Add(view.Name))
            {
                throw new PointInTimeJoinException(
                    $"The feature view '{view.Name}' is named twice (names that differ only in case count as the same).", view.Name);
            }

            CheckFiles(view.Files, $"view '{view.Name}'", view.Name);
            CheckName(view.EventTimestamp, $"The event timestamp column of view '{view.Name}'", view.Name);
            if (view.CreatedTimestamp is not null)
            {
                CheckName(view.CreatedTimestamp, $"The created timestamp column of view '{view.Name}'", view.Name);
            }

            if (view.Ttl < TimeSpan.Zero)
            {
                throw new PointInTimeJoinException($"The TTL of view '{view.Name}' is negative; use zero for no limit.", view.Name);
            }

            if (view.JoinKeys is not { Count: > 0 } || view.Features is not { Count: > 0 })
            {
                throw new PointInTimeJoinException($"View '{view.Name}' needs at least one join key and at least one feature.", view.Name);
            }

            foreach (var key in view.JoinKeys)
            {
                CheckName(key, $"A join key of view '{view.Name}'", view.Name);
            }

            if (view.JoinKeys.Distinct(StringComparer.OrdinalIgnoreCase).Count() != view.JoinKeys.Count)
            {
                throw new PointInTimeJoinException($"View '{view.Name}' names a join key twice.", view.Name);
            }

            foreach (var feature in view.Features)
            {
                CheckName(feature, $"A feature of view '{view.Name}'", view.Name);
            }
        }
    }

    /// <summary>Names reach DuckDB quoted, so any text is safe except a NUL, which would end the statement early.</summary>
    private static void CheckName(string? name, string what, string? view)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('\0', StringComparison.Ordinal))
        {
            throw new PointInTimeJoinException($"{what} is empty or contains a NUL character.", view, name);
        }
    }

    private static void CheckFiles(IReadOnlyList<string>? files, string owner, string? view)
    {
        if (files is not { Count: > 0 })
        {
            throw new PointInTimeJoinException($"There are no files for {owner}.", view);
        }

        foreach (var file in files)
        {
            CheckName(file, $"A file path of {owner}", view);
            CheckNoGlob(file);
            if (!File.Exists(file))
            {
                throw new FileNotFoundException($"The file '{file}' of {owner} does not exist.", file);
            }
        }
    }

    /// <summary>DuckDB expands these characters in paths as wildcards, and has no way to escape them.</summary>
    private static void CheckNoGlob(string path)
    {
        if (path.IndexOfAny(['*', '?', '[']) >= 0)
        {
            throw new ArgumentException($"The path '{path}' contains '*', '?' or '[', which DuckDB would read as a wildcard.", nameof(path));
        }
    }

    private static string[] FullPaths(IReadOnlyList<string> files) => [.. files.Select(Path.GetFullPath)];
}

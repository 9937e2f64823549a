using System.Collections.Concurrent;
using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Dapper;
using ModelPlatform.Contracts;
using ModelPlatform.Features;
using ModelPlatform.Storage;

namespace ModelPlatform.Feature.Definitions;

/// <summary>The kinds of definition, each under its own path: <c>/entities</c>, <c>/feature-views</c>, <c>/feature-services</c>.</summary>
public sealed record DefinitionKind<T>(string Path)
{
    public static readonly DefinitionKind<EntityDefinition> Entity = new("entities");
    public static readonly DefinitionKind<FeatureViewDefinition> FeatureView = new("feature-views");
    public static readonly DefinitionKind<FeatureServiceDefinition> FeatureService = new("feature-services");
}

/// <summary>
/// Entities, feature views and feature services, each a series of immutable versions in the service's database. A change
/// is checked against every other definition in the transaction that stores it, under one lock, so two changes can never
/// each pass their checks and together break a definition that depends on both.
/// </summary>
public sealed class DefinitionStore(ServiceDatabase database, TimeProvider clock)
{
    public static readonly Migration Migration = Migration.Portable(
        """
        CREATE TABLE feature_definitions (
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            version INTEGER NOT NULL,
            definition TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (kind, name, version));
        """);

    private static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;

    /// <summary>
    /// How long an online read trusts the latest definitions it looked up. A read of a feature service needs five (the
    /// service, its views, their entity), and a database query each took about a tenth of a read's time (0.3 of 2.7 ms at
    /// the median); Feast's feature server caches its registry for ten minutes by default. A change through this replica
    /// shows at once.
    /// </summary>
    public static readonly TimeSpan ServingCacheTime = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<(string Kind, string Name), (object? Definition, long LookedUp)> _serving = new();

    /// <summary>What every change of a definition is serialized under.</summary>
    private const string Lock = "feature-definitions";

    /// <summary>
    /// Stores the definition <paramref name="prepare"/> makes as the next version of <paramref name="name"/>, unless it
    /// equals the latest (then nothing changes). <paramref name="prepare"/> sees every definition as it is inside the
    /// transaction, completes the definition and says what is wrong with it or what it would break; any problem leaves
    /// everything as it was.
    /// </summary>
    public async Task<PutResult<T>> PutAsync<T>(
        DefinitionKind<T> kind, string name, Func<DefinitionReader, Task<(T Definition, DefinitionProblems Problems)>> prepare, AuditActor actor,
        CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, Lock, cancellationToken);
        var reader = new DefinitionReader(connection, transaction, cancellationToken);
        var (definition, problems) = await prepare(reader);
        if (!problems.IsEmpty)
        {
            return new PutResult<T>(null, Changed: false, problems);
        }

        var latest = await reader.GetAsync(kind, name);
        if (latest is not null && JsonSerializer.Serialize(latest.Definition, Json) == JsonSerializer.Serialize(definition, Json))
        {
            return new PutResult<T>(latest, Changed: false, DefinitionProblems.None);
        }

        var stored = new DefinitionVersion<T>((latest?.Version ?? 0) + 1, clock.GetUtcNow(), definition);
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO feature_definitions (kind, name, version, definition, created_at) VALUES (@Path, @name, @Version, @definition, @createdAt)",
            new { kind.Path, name, stored.Version, definition = JsonSerializer.Serialize(definition, Json), createdAt = stored.CreatedAt.ToString("O") },
            transaction, cancellationToken: cancellationToken));
        await connection.AppendAsync(
            transaction, actor, $"{kind.Path}.changed", $"{kind.Path}/{name}", latest is null ? null : latest.Definition, stored.Definition, stored.CreatedAt);
        await transaction.CommitAsync(cancellationToken);
        _serving.TryRemove((kind.Path, name), out _);
        return new PutResult<T>(stored, Changed: true, DefinitionProblems.None);
    }

    /// <summary>
    /// What a new version of <paramref name="dataset"/> with <paramref name="columns"/> would break in the feature views
    /// that read it, by column: an append must keep every column they read, with its type.
    /// </summary>
    public async Task<Dictionary<string, string[]>> AppendProblemsAsync(
        string dataset, IReadOnlyList<ColumnSchema> columns, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var reader = new DefinitionReader(connection, null, cancellationToken);
        var problems = new Dictionary<string, List<string>>();
        foreach (var view in (await reader.ListAsync(DefinitionKind<FeatureViewDefinition>.FeatureView)).Where(view => view.Definition.Dataset == dataset))
        {
            if (await reader.GetAsync(DefinitionKind<EntityDefinition>.Entity, view.Definition.Entity) is { } entity)
            {
                foreach (var (column, problem) in DefinitionChecks.ColumnProblems(view.Definition, entity.Definition, columns))
                {
                    (problems.TryGetValue($"columns.{column}", out var list) ? list : problems[$"columns.{column}"] = []).Add(problem);
                }
            }
        }

        return problems.ToDictionary(problem => problem.Key, problem => problem.Value.ToArray());
    }

    public async Task<DefinitionVersion<T>?> GetAsync<T>(DefinitionKind<T> kind, string name, int? version, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await new DefinitionReader(connection, null, cancellationToken).GetAsync(kind, name, version);
    }

    /// <summary>The latest version as looked up at most <see cref="ServingCacheTime"/> ago, for the online read path.</summary>
    public async Task<DefinitionVersion<T>?> GetServingAsync<T>(DefinitionKind<T> kind, string name, CancellationToken cancellationToken)
    {
        if (_serving.TryGetValue((kind.Path, name), out var cached) && clock.GetElapsedTime(cached.LookedUp) < ServingCacheTime)
        {
            return (DefinitionVersion<T>?)cached.Definition;
        }

        var lookedUp = clock.GetTimestamp();
        var found = await GetAsync(kind, name, null, cancellationToken);
        _serving[(kind.Path, name)] = (found, lookedUp);
        return found;
    }

    public async Task<IReadOnlyList<DefinitionVersion<T>>> ListAsync<T>(DefinitionKind<T> kind, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await new DefinitionReader(connection, null, cancellationToken).ListAsync(kind);
    }

    public async Task<IReadOnlyList<DefinitionVersion<T>>> GetVersionsAsync<T>(DefinitionKind<T> kind, string name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<StoredDefinition>(new CommandDefinition(
            "SELECT version, created_at AS CreatedAt, definition FROM feature_definitions WHERE kind = @Path AND name = @name ORDER BY version",
            new { kind.Path, name }, cancellationToken: cancellationToken));
        return [.. rows.Select(row => row.Read<T>())];
    }

    /// <summary>Reads definitions on one connection, inside a change's transaction when there is one.</summary>
    public sealed class DefinitionReader(DbConnection connection, DbTransaction? transaction, CancellationToken cancellationToken)
    {
        /// <summary>The latest version of <paramref name="name"/>, or the one asked for.</summary>
        public async Task<DefinitionVersion<T>?> GetAsync<T>(DefinitionKind<T> kind, string name, int? version = null)
        {
            var row = await connection.QuerySingleOrDefaultAsync<StoredDefinition>(new CommandDefinition(
                """
                SELECT version, created_at AS CreatedAt, definition FROM feature_definitions
                WHERE kind = @Path AND name = @name AND (@version IS NULL OR version = @version) ORDER BY version DESC LIMIT 1
                """,
                new { kind.Path, name, version }, transaction, cancellationToken: cancellationToken));
            return row?.Read<T>();
        }

        /// <summary>The latest version of every definition of <paramref name="kind"/>, by name.</summary>
        public async Task<IReadOnlyList<DefinitionVersion<T>>> ListAsync<T>(DefinitionKind<T> kind)
        {
            var rows = await connection.QueryAsync<StoredDefinition>(new CommandDefinition(
                """
                SELECT d.version, d.created_at AS CreatedAt, d.definition FROM feature_definitions d
                WHERE d.kind = @Path AND d.version = (SELECT MAX(version) FROM feature_definitions l WHERE l.kind = d.kind AND l.name = d.name)
                ORDER BY d.name
                """,
                new { kind.Path }, transaction, cancellationToken: cancellationToken));
            return [.. rows.Select(row => row.Read<T>())];
        }
    }

    private sealed record StoredDefinition(long Version, string CreatedAt, string Definition)
    {
        public DefinitionVersion<T> Read<T>() => new(
            (int)Version, DateTimeOffset.Parse(CreatedAt, CultureInfo.InvariantCulture), JsonSerializer.Deserialize<T>(Definition, Json)!);
    }
}

/// <summary>What a change did: the version now latest, whether it is new, or the problems that stopped it.</summary>
public sealed record PutResult<T>(DefinitionVersion<T>? Stored, bool Changed, DefinitionProblems Problems);

/// <summary>Why a definition cannot be stored: fields that are wrong (400), or definitions it would break (409).</summary>
public sealed record DefinitionProblems(Dictionary<string, string[]> Invalid, IReadOnlyList<string> Breaks)
{
    public static DefinitionProblems None => new([], []);

    public bool IsEmpty => Invalid.Count == 0 && Breaks.Count == 0;
}

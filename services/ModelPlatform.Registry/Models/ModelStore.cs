using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Dapper;
using Microsoft.Data.Sqlite;
using ModelPlatform.Contracts;
using ModelPlatform.Storage;

namespace ModelPlatform.Registry.Models;

/// <summary>
/// Model versions and aliases in the registry's SQLite database; artifacts as content-addressed files
/// (<c>artifacts/{sha256}.zip</c>), written before the version row so a version never lacks its bytes.
/// </summary>
public sealed class ModelStore(ServiceDatabase database, TimeProvider clock)
{
    /// <summary>The database schema, one migration per entry; add new ones at the end.</summary>
    public static readonly string[] Migrations =
    [
        """
        CREATE TABLE IF NOT EXISTS model_versions (
            name TEXT NOT NULL,
            version INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            size_bytes INTEGER NOT NULL,
            signature TEXT NOT NULL,
            metrics TEXT NOT NULL,
            lineage TEXT NOT NULL,
            training_job_id TEXT UNIQUE,
            created_at TEXT NOT NULL,
            PRIMARY KEY (name, version));
        CREATE TABLE IF NOT EXISTS aliases (
            name TEXT NOT NULL,
            alias TEXT NOT NULL,
            version INTEGER NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (name, alias),
            FOREIGN KEY (name, version) REFERENCES model_versions (name, version));
        """,
        // Canary and shadow routes of an alias.
        """
        ALTER TABLE aliases ADD COLUMN canary_version INTEGER;
        ALTER TABLE aliases ADD COLUMN canary_percent INTEGER;
        ALTER TABLE aliases ADD COLUMN shadow_version INTEGER;
        """,
    ];

    private const int SqliteConstraintViolation = 19;

    private static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;

    private const string SelectVersion = """
        SELECT v.name AS Name, v.version AS Version, v.sha256 AS Sha256, v.size_bytes AS SizeBytes, v.signature AS Signature,
               v.metrics AS Metrics, v.lineage AS Lineage, v.created_at AS CreatedAt,
               COALESCE((SELECT group_concat(a.alias) FROM aliases a WHERE a.name = v.name AND a.version = v.version), '') AS Aliases
        FROM model_versions v
        """;

    public string ArtifactPath(string sha256) => Path.Combine(database.DataDirectory, "artifacts", sha256 + ".zip");

    /// <summary>
    /// Stores a new version, or returns the one already registered by the same training job (retries
    /// of a job never create a second version). <c>Created</c> tells which.
    /// </summary>
    public async Task<(ModelVersionInfo Version, bool Created)> RegisterAsync(
        string name, RegisterModelVersionRequest request, byte[] artifact, CancellationToken cancellationToken)
    {
        if (request.Lineage.TrainingJobId is { } jobId && await FindByTrainingJobAsync(jobId, cancellationToken) is { } existing)
        {
            return (existing, false);
        }

        var sha256 = Convert.ToHexStringLower(SHA256.HashData(artifact));
        var path = ArtifactPath(sha256);
        if (!File.Exists(path))
        {
            await AtomicFile.WriteAsync(path, artifact, cancellationToken);
        }

        try
        {
            return (await InsertVersionAsync(name, request, sha256, artifact.LongLength, cancellationToken), true);
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == SqliteConstraintViolation && request.Lineage.TrainingJobId is { } racedJobId)
        {
            // Two deliveries of one job raced; the unique job id let exactly one of them in.
            return ((await FindByTrainingJobAsync(racedJobId, cancellationToken))!, false);
        }
    }

    private async Task<ModelVersionInfo> InsertVersionAsync(
        string name, RegisterModelVersionRequest request, string sha256, long size, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: false);
        var version = await connection.ExecuteScalarAsync<int>(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE name = @name", new { name }, transaction);
        var createdAt = clock.GetUtcNow();
        await connection.ExecuteAsync(
            """
            INSERT INTO model_versions (name, version, sha256, size_bytes, signature, metrics, lineage, training_job_id, created_at)
            VALUES (@name, @version, @sha256, @size, @signature, @metrics, @lineage, @jobId, @createdAt)
            """,
            new
            {
                name,
                version,
                sha256,
                size,
                signature = JsonSerializer.Serialize(request.Signature, Json),
                metrics = JsonSerializer.Serialize(request.Metrics, Json),
                lineage = JsonSerializer.Serialize(request.Lineage, Json),
                jobId = request.Lineage.TrainingJobId?.ToString(),
                createdAt = createdAt.ToString("O"),
            },
            transaction);
        await transaction.CommitAsync(cancellationToken);

        return new ModelVersionInfo(name, version, sha256, size, request.Signature, request.Metrics, request.Lineage, [], createdAt);
    }

    public async Task<ModelVersionInfo?> GetVersionAsync(string name, int version, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<VersionRow>(new CommandDefinition(
            SelectVersion + " WHERE v.name = @name AND v.version = @version", new { name, version }, cancellationToken: cancellationToken));
        return row?.ToInfo();
    }

    public async Task<IReadOnlyList<ModelVersionInfo>> GetVersionsAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<VersionRow>(new CommandDefinition(
            SelectVersion + " WHERE v.name = @name ORDER BY v.version", new { name }, cancellationToken: cancellationToken));
        return rows.Select(row => row.ToInfo()).ToList();
    }

    public async Task<IReadOnlyList<ModelInfo>> ListAsync(string? name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var models = await connection.QueryAsync<(string Name, long Latest, string CreatedAt, string UpdatedAt)>(new CommandDefinition(
            """
            SELECT name, MAX(version), MIN(created_at), MAX(created_at) FROM model_versions
            WHERE @name IS NULL OR name = @name GROUP BY name ORDER BY name
            """, new { name }, cancellationToken: cancellationToken));
        var aliases = (await connection.QueryAsync<(string Name, string Alias, long Version, string UpdatedAt)>(new CommandDefinition(
                "SELECT name, alias, version, updated_at FROM aliases WHERE @name IS NULL OR name = @name",
                new { name },
                cancellationToken: cancellationToken)))
            .ToLookup(alias => alias.Name);
        return models.Select(model => new ModelInfo(
            model.Name,
            (int)model.Latest,
            aliases[model.Name].ToDictionary(alias => alias.Alias, alias => (int)alias.Version),
            Parse(model.CreatedAt),
            aliases[model.Name].Select(alias => Parse(alias.UpdatedAt)).Append(Parse(model.UpdatedAt)).Max())).ToList();
    }

    /// <summary>Points <paramref name="alias"/> along <paramref name="route"/>; returns the version it pointed at before.</summary>
    public async Task<int?> SetAliasAsync(string name, string alias, AliasRoute route, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: false);
        var previous = await connection.ExecuteScalarAsync<int?>(
            "SELECT version FROM aliases WHERE name = @name AND alias = @alias", new { name, alias }, transaction);
        await connection.ExecuteAsync(
            """
            INSERT INTO aliases (name, alias, version, canary_version, canary_percent, shadow_version, updated_at)
            VALUES (@name, @alias, @version, @canaryVersion, @canaryPercent, @shadowVersion, @updatedAt)
            ON CONFLICT (name, alias) DO UPDATE SET
                version = excluded.version, canary_version = excluded.canary_version, canary_percent = excluded.canary_percent,
                shadow_version = excluded.shadow_version, updated_at = excluded.updated_at
            """,
            new
            {
                name,
                alias,
                version = route.Version,
                canaryVersion = route.Canary?.Version,
                canaryPercent = route.Canary?.Percent,
                shadowVersion = route.Shadow,
                updatedAt = clock.GetUtcNow().ToString("O"),
            },
            transaction);
        await transaction.CommitAsync(cancellationToken);
        return previous;
    }

    public async Task<AliasRoute?> GetAliasAsync(string name, string alias, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<AliasRow>(new CommandDefinition(
            """
            SELECT version AS Version, canary_version AS CanaryVersion, canary_percent AS CanaryPercent, shadow_version AS ShadowVersion
            FROM aliases WHERE name = @name AND alias = @alias
            """,
            new { name, alias },
            cancellationToken: cancellationToken));
        return row?.ToRoute();
    }

    private async Task<ModelVersionInfo?> FindByTrainingJobAsync(Guid jobId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<VersionRow>(new CommandDefinition(
            SelectVersion + " WHERE v.training_job_id = @jobId", new { jobId = jobId.ToString() }, cancellationToken: cancellationToken));
        return row?.ToInfo();
    }

    private static DateTimeOffset Parse(string timestamp) => DateTimeOffset.Parse(timestamp, CultureInfo.InvariantCulture);

    private sealed record AliasRow(long Version, long? CanaryVersion, long? CanaryPercent, long? ShadowVersion)
    {
        public AliasRoute ToRoute() => new(
            (int)Version,
            CanaryVersion is { } canary ? new CanaryRoute((int)canary, (int)CanaryPercent!.Value) : null,
            (int?)ShadowVersion);
    }

    private sealed record VersionRow(
        string Name, long Version, string Sha256, long SizeBytes, string Signature, string Metrics, string Lineage, string CreatedAt, string Aliases)
    {
        public ModelVersionInfo ToInfo() => new(
            Name,
            (int)Version,
            Sha256,
            SizeBytes,
            JsonSerializer.Deserialize<ModelSignature>(Signature, Json)!,
            JsonSerializer.Deserialize<Dictionary<string, double>>(Metrics, Json)!,
            JsonSerializer.Deserialize<ModelLineage>(Lineage, Json)!,
            Aliases.Split(',', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal).ToList(),
            Parse(CreatedAt));
    }
}

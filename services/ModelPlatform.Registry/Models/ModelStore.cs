using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Dapper;
using ModelPlatform.Contracts;
using ModelPlatform.Messaging;
using ModelPlatform.Storage;

namespace ModelPlatform.Registry.Models;

/// <summary>
/// Model versions and aliases in the registry's database; artifacts as content-addressed files
/// (<c>artifacts/{sha256}.zip</c>), written before the version row so a version never lacks its bytes.
/// </summary>
public sealed class ModelStore(ServiceDatabase database, BlobStore artifacts, TimeProvider clock)
{
    /// <summary>The database schema, one migration per entry; add new ones at the end.</summary>
    public static readonly Migration[] Migrations =
    [
        Migration.Portable(
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
            """),
        // Canary and shadow routes of an alias.
        Migration.Portable(
            """
                ALTER TABLE aliases ADD COLUMN canary_version INTEGER;
                ALTER TABLE aliases ADD COLUMN canary_percent INTEGER;
                ALTER TABLE aliases ADD COLUMN shadow_version INTEGER;
            """),
        AuditLog.Migration,
        // Events leave through the outbox; each alias counts its moves.
        Outbox.Migration + Migration.Portable("ALTER TABLE aliases ADD COLUMN sequence INTEGER NOT NULL DEFAULT 0;"),
        AuditLog.IsoTimesMigration(),
        // Artifacts move from files on the registry's disk into the database, where every replica reads them.
        BlobStore.Migration,
        // Which feature service a version was trained from, so a change to its definitions can find the versions it would break.
        Migration.Portable(
            """
                ALTER TABLE model_versions ADD COLUMN feature_service TEXT;
                CREATE INDEX ix_model_versions_feature_service ON model_versions (feature_service);
            """),
        // How much each version leans on each input column, measured at training time (JSON; null for older versions).
        Migration.Portable("ALTER TABLE model_versions ADD COLUMN importance TEXT;"),
        // An ONNX version's binding of columns to its graph's tensors (JSON; null for ML.NET versions).
        Migration.Portable("ALTER TABLE model_versions ADD COLUMN onnx TEXT;"),
        // A trained version's ONNX export (JSON: its binding, or why there is none) and the extra artifact's checksum.
        Migration.Portable(
            """
                ALTER TABLE model_versions ADD COLUMN onnx_export TEXT;
                ALTER TABLE model_versions ADD COLUMN onnx_export_sha256 TEXT;
            """),
        // The typical row a version's predictions are explained from (JSON; null when it has none).
        Migration.Portable("ALTER TABLE model_versions ADD COLUMN reference TEXT;"),
    ];

    private static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;

    private const string SelectVersion = """
        SELECT v.name AS Name, v.version AS Version, v.sha256 AS Sha256, v.size_bytes AS SizeBytes, v.signature AS Signature,
               v.metrics AS Metrics, v.lineage AS Lineage, v.created_at AS CreatedAt, v.importance AS Importance, v.onnx AS Onnx,
               v.onnx_export AS OnnxExport, v.reference AS Reference,
               COALESCE((SELECT string_agg(a.alias, ',') FROM aliases a WHERE a.name = v.name AND a.version = v.version), '') AS Aliases
        FROM model_versions v
        """;

    private const string SelectAlias = """
        SELECT version AS Version, canary_version AS CanaryVersion, canary_percent AS CanaryPercent, shadow_version AS ShadowVersion,
               sequence AS Sequence
        FROM aliases WHERE name = @name AND alias = @alias
        """;

    /// <summary>The audit resource of an alias: its moves are its history.</summary>
    public static string AliasResource(string name, string alias) => $"models/{name}/aliases/{alias}";

    /// <summary>Receives an uploaded artifact into this process's scratch folder, hashing it on the way, to be checked before it is stored.</summary>
    public Task<StagedFile> ReceiveArtifactAsync(Stream content, CancellationToken cancellationToken) =>
        StagedFile.ReceiveAsync(Path.Combine(database.ScratchDirectory, "uploads"), content, cancellationToken);

    /// <summary>Where an earlier release kept artifacts as files.</summary>
    public string DataDirectory => database.ScratchDirectory;

    /// <summary>Stores the bytes of an artifact file named by its SHA-256, refusing a file whose bytes do not match the name.</summary>
    public async Task ImportArtifactAsync(string sha256, Stream content, CancellationToken cancellationToken)
    {
        var stored = await artifacts.WriteAsync(content, cancellationToken);
        if (stored.Sha256 != sha256)
        {
            throw new InvalidDataException($"The artifact file {sha256}.zip is damaged: its bytes hash to {stored.Sha256}.");
        }
    }

    /// <summary>The artifact's bytes, checked against its SHA-256 as they are read; null when it is not stored.</summary>
    public Task<Stream?> OpenArtifactAsync(string sha256, CancellationToken cancellationToken) => artifacts.OpenReadAsync(sha256, cancellationToken);

    /// <summary>
    /// Stores a new version, or returns the one already registered by the same training job (retries
    /// of a job never create a second version). <c>Created</c> tells which.
    /// </summary>
    public async Task<(ModelVersionInfo Version, bool Created)> RegisterAsync(
        string name,
        RegisterModelVersionRequest request,
        OnnxBinding? onnx,
        StagedFile artifact,
        StagedFile? onnxExport,
        AuditActor actor,
        CancellationToken cancellationToken)
    {
        if (request.Lineage.TrainingJobId is { } jobId && await FindByTrainingJobAsync(jobId, cancellationToken) is { } existing)
        {
            return (existing, false);
        }

        // The bytes are stored before the row that names them, so a version never lacks its artifact.
        var stored = await StoreAsync(artifact, cancellationToken);
        if (onnxExport is not null)
        {
            var export = await StoreAsync(onnxExport, cancellationToken);
            request = request with { OnnxExport = request.OnnxExport! with { Sha256 = export.Sha256, SizeBytes = export.Size } };
        }

        try
        {
            return (await InsertVersionAsync(name, request, onnx, stored, actor, cancellationToken), true);
        }
        catch (DbException ex) when (ServiceDatabase.IsUniqueViolation(ex) && request.Lineage.TrainingJobId is { } racedJobId)
        {
            // Two deliveries of one job raced; the unique job id let exactly one of them in. (The loser's artifact, unless
            // it is the winner's too, is left for the sweep of artifacts no version names.)
            return ((await FindByTrainingJobAsync(racedJobId, cancellationToken))!, false);
        }
    }

    private async Task<BlobInfo> StoreAsync(StagedFile staged, CancellationToken cancellationToken)
    {
        BlobInfo stored;
        await using (var file = File.OpenRead(staged.TemporaryPath))
        {
            stored = await artifacts.WriteAsync(file, cancellationToken);
        }

        return stored.Sha256 == staged.Sha256
            ? stored
            : throw new InvalidDataException($"The artifact changed on this replica's disk after it was received ({staged.Sha256}, then {stored.Sha256}).");
    }

    private async Task<ModelVersionInfo> InsertVersionAsync(
        string name, RegisterModelVersionRequest request, OnnxBinding? onnx, BlobInfo artifact, AuditActor actor, CancellationToken cancellationToken)
    {
        var (sha256, size) = (artifact.Sha256, artifact.Size);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, $"models/{name}", cancellationToken);
        // Held against the sweep of unnamed artifacts, which could otherwise take these bytes before this row names them.
        await artifacts.ClaimAsync(connection, transaction, sha256, cancellationToken);
        if (request.OnnxExport?.Sha256 is { } exportSha256)
        {
            await artifacts.ClaimAsync(connection, transaction, exportSha256, cancellationToken);
        }

        var version = await connection.ExecuteScalarAsync<int>(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE name = @name", new { name }, transaction);
        var createdAt = clock.GetUtcNow();
        await connection.ExecuteAsync(
            """
            INSERT INTO model_versions
                (name, version, sha256, size_bytes, signature, metrics, lineage, training_job_id, feature_service, created_at, importance, onnx,
                 onnx_export, onnx_export_sha256, reference)
            VALUES (@name, @version, @sha256, @size, @signature, @metrics, @lineage, @jobId, @featureService, @createdAt, @importance, @onnx,
                 @onnxExport, @onnxExportSha256, @reference)
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
                featureService = request.Lineage.TrainingSet?.FeatureService,
                createdAt = createdAt.ToString("O"),
                importance = request.Importance is null ? null : JsonSerializer.Serialize(request.Importance, Json),
                onnx = onnx is null ? null : JsonSerializer.Serialize(onnx, Json),
                onnxExport = request.OnnxExport is null ? null : JsonSerializer.Serialize(request.OnnxExport, Json),
                onnxExportSha256 = request.OnnxExport?.Sha256,
                reference = request.Reference is null ? null : JsonSerializer.Serialize(request.Reference, Json),
            },
            transaction);
        var info = new ModelVersionInfo(
            name, version, sha256, size, request.Signature, request.Metrics, request.Lineage, [], createdAt, request.Importance, onnx, request.OnnxExport,
            request.Reference);
        await connection.AppendAsync(transaction, actor, "model-version.registered", $"models/{name}/versions/{version}", null, info, createdAt);
        await connection.EnqueueAsync(transaction, new ModelVersionRegistered(name, version, sha256, request.Lineage.TrainingJobId), createdAt);
        await transaction.CommitAsync(cancellationToken);
        return info;
    }

    public async Task<ModelVersionInfo?> GetVersionAsync(string name, int version, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<VersionRow>(new CommandDefinition(
            SelectVersion + " WHERE v.name = @name AND v.version = @version", new { name, version }, cancellationToken: cancellationToken));
        return row?.ToInfo();
    }

    /// <summary>Every version trained from a feature service, or from <paramref name="featureService"/> when given, oldest first.</summary>
    public async Task<IReadOnlyList<ModelVersionInfo>> GetVersionsUsingFeaturesAsync(string? featureService, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var reader = await connection.ExecuteReaderAsync(new CommandDefinition(
            SelectVersion + """
                 WHERE v.feature_service IS NOT NULL AND (@featureService IS NULL OR v.feature_service = @featureService)
                ORDER BY v.name, v.version
                """,
            new { featureService }, cancellationToken: cancellationToken));
        var versions = new List<ModelVersionInfo>();
        // The row parser is made once a row is read: SQLite types an expression's column (the aliases) only from a row.
        if (await reader.ReadAsync(cancellationToken))
        {
            var parse = reader.GetRowParser<VersionRow>();
            do
            {
                versions.Add(parse(reader).ToInfo());
            }
            while (await reader.ReadAsync(cancellationToken));
        }

        return versions;
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

    /// <summary>
    /// Points <paramref name="alias"/> along <paramref name="route"/>, and announces it (<see cref="AliasChanged"/>) through
    /// the outbox in the same transaction; returns the alias as it is now, with the version it had before.
    /// </summary>
    public async Task<AliasInfo> SetAliasAsync(string name, string alias, AliasRoute route, AuditActor actor, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, AliasResource(name, alias), cancellationToken);
        var before = await connection.QuerySingleOrDefaultAsync<AliasRow>(SelectAlias, new { name, alias }, transaction);
        var previous = before?.ToRoute();
        var changed = new AliasInfo(name, alias, route.Version, previous?.Version, route.Canary, route.Shadow, (before?.Sequence ?? 0) + 1);
        var now = clock.GetUtcNow();
        await connection.ExecuteAsync(
            """
            INSERT INTO aliases (name, alias, version, canary_version, canary_percent, shadow_version, updated_at, sequence)
            VALUES (@name, @alias, @version, @canaryVersion, @canaryPercent, @shadowVersion, @updatedAt, @sequence)
            ON CONFLICT (name, alias) DO UPDATE SET
                version = excluded.version, canary_version = excluded.canary_version, canary_percent = excluded.canary_percent,
                shadow_version = excluded.shadow_version, updated_at = excluded.updated_at, sequence = excluded.sequence
            """,
            new
            {
                name,
                alias,
                version = route.Version,
                canaryVersion = route.Canary?.Version,
                canaryPercent = route.Canary?.Percent,
                shadowVersion = route.Shadow,
                updatedAt = now.ToString("O"),
                sequence = changed.Sequence,
            },
            transaction);
        await connection.AppendAsync(transaction, actor, "alias.moved", AliasResource(name, alias), previous, route, now);
        await connection.EnqueueAsync(transaction, new AliasChanged(changed), now);
        await transaction.CommitAsync(cancellationToken);
        return changed;
    }

    public async Task<AliasInfo?> GetAliasAsync(string name, string alias, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<AliasRow>(
            new CommandDefinition(SelectAlias, new { name, alias }, cancellationToken: cancellationToken));
        return row?.ToInfo(name, alias);
    }

    private async Task<ModelVersionInfo?> FindByTrainingJobAsync(Guid jobId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<VersionRow>(new CommandDefinition(
            SelectVersion + " WHERE v.training_job_id = @jobId", new { jobId = jobId.ToString() }, cancellationToken: cancellationToken));
        return row?.ToInfo();
    }

    /// <summary>
    /// Deletes artifacts that no version names and that were stored over an hour ago: the bytes of a registration that
    /// failed, or whose process died, between storing its artifact and its row. Safe with several replicas.
    /// </summary>
    public Task<int> DeleteUnreferencedArtifactsAsync(CancellationToken cancellationToken) =>
        artifacts.DeleteUnreferencedAsync("model_versions", ["sha256", "onnx_export_sha256"], UnreferencedArtifactGrace, cancellationToken);

    private static readonly TimeSpan UnreferencedArtifactGrace = TimeSpan.FromHours(1);

    private static DateTimeOffset Parse(string timestamp) => DateTimeOffset.Parse(timestamp, CultureInfo.InvariantCulture);

    private sealed record AliasRow(long Version, long? CanaryVersion, long? CanaryPercent, long? ShadowVersion, long Sequence)
    {
        public AliasInfo ToInfo(string name, string alias)
        {
            var route = ToRoute();
            return new AliasInfo(name, alias, route.Version, null, route.Canary, route.Shadow, Sequence);
        }

        public AliasRoute ToRoute() => new(
            (int)Version,
            CanaryVersion is { } canary ? new CanaryRoute((int)canary, (int)CanaryPercent!.Value) : null,
            (int?)ShadowVersion);
    }

    private sealed record VersionRow(
        string Name,
        long Version,
        string Sha256,
        long SizeBytes,
        string Signature,
        string Metrics,
        string Lineage,
        string CreatedAt,
        string? Importance,
        string? Onnx,
        string? OnnxExport,
        string? Reference,
        string Aliases)
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
            Parse(CreatedAt),
            Importance is null ? null : JsonSerializer.Deserialize<FeatureImportance>(Importance, Json),
            Onnx is null ? null : JsonSerializer.Deserialize<OnnxBinding>(Onnx, Json),
            OnnxExport is null ? null : JsonSerializer.Deserialize<OnnxExportInfo>(OnnxExport, Json),
            Reference is null ? null : JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(Reference, Json));
    }
}

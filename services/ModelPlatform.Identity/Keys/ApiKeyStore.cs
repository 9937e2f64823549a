using Dapper;
using ModelPlatform.Contracts;
using ModelPlatform.Storage;

namespace ModelPlatform.Identity.Keys;

/// <summary>
/// API keys in the identity service's database, only as salted hashes. Every change writes its audit record in the
/// same transaction.
/// </summary>
public sealed class ApiKeyStore(ServiceDatabase database, TimeProvider clock)
{
    public const string AdminKeyId = "admin";

    public static readonly Migration[] Migrations =
    [
        Migration.Portable(
            """
                CREATE TABLE api_keys (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    roles TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    lookup TEXT NOT NULL,
                    salt BLOB NOT NULL,
                    hash BLOB NOT NULL,
                    created_at TEXT NOT NULL,
                    created_by TEXT NOT NULL,
                    expires_at TEXT,
                    revoked_at TEXT,
                    last_used_at TEXT);
                CREATE INDEX api_keys_by_lookup ON api_keys (lookup);
            """),
        AuditLog.Migration,
        AuditLog.IsoTimesMigration("api_keys.created_at", "api_keys.expires_at", "api_keys.revoked_at", "api_keys.last_used_at"),
    ];

    /// <summary>A key's last use is written at most this often, so a busy key does not turn checks into writes.</summary>
    private static readonly TimeSpan LastUsedResolution = TimeSpan.FromSeconds(1);

    private const string SelectKey = """
        SELECT id AS Id, name AS Name, roles AS Roles, kind AS Kind, created_at AS CreatedAt, created_by AS CreatedBy,
               expires_at AS ExpiresAt, revoked_at AS RevokedAt, last_used_at AS LastUsedAt, salt AS Salt, hash AS Hash
        FROM api_keys
        """;

    public static string ServiceKeyId(string service) => "service:" + service;

    public static string Resource(string id) => "api-keys/" + id;

    public async Task<CreatedApiKey> CreateAsync(CreateApiKeyRequest request, AuditActor actor, CancellationToken cancellationToken)
    {
        var key = ApiKeySecrets.NewKey();
        var (salt, hash) = ApiKeySecrets.Hash(key);
        var info = new ApiKeyInfo(
            Guid.CreateVersion7().ToString("N"), request.Name, request.Roles.Distinct().ToList(), "user", clock.GetUtcNow(), actor.Name,
            request.ExpiresAt?.ToUniversalTime(), null, null);

        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, Resource(info.Id), cancellationToken);
        await InsertAsync(connection, transaction, info, key, salt, hash);
        await connection.AppendAsync(transaction, actor, "api-key.created", Resource(info.Id), null, info, info.CreatedAt);
        await transaction.CommitAsync(cancellationToken);
        return new CreatedApiKey(key, info);
    }

    public async Task<IReadOnlyList<ApiKeyInfo>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<KeyRow>(SelectKey + " ORDER BY created_at, id");
        return rows.Select(row => row.Info).ToList();
    }

    public async Task<ApiKeyInfo?> GetAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<KeyRow>(SelectKey + " WHERE id = @id", new { id });
        return row?.Info;
    }

    /// <summary>Revokes a key for good (a second call changes nothing); null when there is no such key.</summary>
    public async Task<ApiKeyInfo?> RevokeAsync(string id, AuditActor actor, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, Resource(id), cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<KeyRow>(SelectKey + " WHERE id = @id", new { id }, transaction);
        if (row is null || row.RevokedAt is not null)
        {
            return row?.Info;
        }

        var revoked = row.Info with { RevokedAt = clock.GetUtcNow() };
        await connection.ExecuteAsync(
            "UPDATE api_keys SET revoked_at = @revokedAt WHERE id = @id", new { id, revokedAt = revoked.RevokedAt?.ToString("O") }, transaction);
        await connection.AppendAsync(transaction, actor, "api-key.revoked", Resource(id), row.Info, revoked, revoked.RevokedAt!.Value);
        await transaction.CommitAsync(cancellationToken);
        return revoked;
    }

    /// <summary>Who holds <paramref name="key"/>, or why it is refused; records when it was last used.</summary>
    public async Task<ApiKeyIntrospection> IntrospectAsync(string key, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var candidates = await connection.QueryAsync<KeyRow>(SelectKey + " WHERE lookup = @lookup", new { lookup = ApiKeySecrets.Lookup(key) });
        var row = candidates.FirstOrDefault(candidate => ApiKeySecrets.Matches(key, candidate.Salt, candidate.Hash));
        var now = clock.GetUtcNow();
        if (row is null)
        {
            return new ApiKeyIntrospection(false, Refusal: "unknown");
        }

        if (row.RevokedAt is not null)
        {
            return new ApiKeyIntrospection(false, Refusal: "revoked");
        }

        if (row.ExpiresAt <= now)
        {
            return new ApiKeyIntrospection(false, Refusal: "expired");
        }

        if (row.LastUsedAt is null || now - row.LastUsedAt >= LastUsedResolution)
        {
            await connection.ExecuteAsync("UPDATE api_keys SET last_used_at = @now WHERE id = @Id", new { now = now.ToString("O"), row.Id });
        }

        var info = row.Info;
        return new ApiKeyIntrospection(true, info.Id, info.Name, info.Roles, info.ExpiresAt);
    }

    /// <summary>
    /// Stores a key the platform's configuration defines. A new secret replaces the stored one (and makes a revoked key
    /// usable again, which is how a leaked one is rotated); the same secret changes nothing, so a revoked key stays revoked.
    /// </summary>
    public async Task EnsureConfiguredKeyAsync(string id, string name, IReadOnlyList<string> roles, string key, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, Resource(id), cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<KeyRow>(SelectKey + " WHERE id = @id", new { id }, transaction);
        if (row is not null && ApiKeySecrets.Matches(key, row.Salt, row.Hash))
        {
            return;
        }

        var (salt, hash) = ApiKeySecrets.Hash(key);
        var now = clock.GetUtcNow();
        var info = new ApiKeyInfo(id, name, roles, id == AdminKeyId ? "admin" : "service", row?.CreatedAt ?? now, "platform", null, null, null);
        await connection.ExecuteAsync("DELETE FROM api_keys WHERE id = @id", new { id }, transaction);
        await InsertAsync(connection, transaction, info, key, salt, hash);
        await connection.AppendAsync(transaction, AuditActor.Platform, row is null ? "api-key.created" : "api-key.rotated",
            Resource(id), row?.Info, info, now);
        await transaction.CommitAsync(cancellationToken);
    }

    private static Task InsertAsync(
        System.Data.IDbConnection connection, System.Data.IDbTransaction transaction, ApiKeyInfo info, string key, byte[] salt, byte[] hash) =>
        connection.ExecuteAsync(
            """
            INSERT INTO api_keys (id, name, roles, kind, lookup, salt, hash, created_at, created_by, expires_at)
            VALUES (@Id, @Name, @roles, @Kind, @lookup, @salt, @hash, @CreatedAt, @CreatedBy, @ExpiresAt)
            """,
            new
            {
                info.Id,
                info.Name,
                roles = string.Join(',', info.Roles),
                info.Kind,
                lookup = ApiKeySecrets.Lookup(key),
                salt,
                hash,
                CreatedAt = info.CreatedAt.ToString("O"),
                info.CreatedBy,
                ExpiresAt = info.ExpiresAt?.ToString("O"),
            },
            transaction);

    private sealed record KeyRow(
        string Id, string Name, string Roles, string Kind, DateTimeOffset CreatedAt, string CreatedBy,
        DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt, DateTimeOffset? LastUsedAt, byte[] Salt, byte[] Hash)
    {
        public ApiKeyInfo Info => new(Id, Name, Roles.Split(',', StringSplitOptions.RemoveEmptyEntries), Kind, CreatedAt, CreatedBy,
            ExpiresAt, RevokedAt, LastUsedAt);
    }
}

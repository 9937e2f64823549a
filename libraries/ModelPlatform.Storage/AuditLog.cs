using System.Data;
using System.Diagnostics;
using System.Text.Json;
using Dapper;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;
using ModelPlatform.Contracts;

namespace ModelPlatform.Storage;

/// <summary>Who made a change: a key (its id and name) or a service's identity, from which address, under which trace.</summary>
public sealed record AuditActor(string Id, string Name, string? ClientAddress, string? TraceId)
{
    /// <summary>The caller; or, when the training service acts for one of its pipelines, that pipeline.</summary>
    public static AuditActor From(HttpContext context) =>
        context.Request.Headers[PipelineCalls.Header].ToString() is { Length: > 0 } pipeline
        && context.User.IsInRole(PlatformRoles.TrainingService)
        && ResourceNames.NameError(pipeline) is null
            ? Pipeline(pipeline) with { ClientAddress = context.Connection.RemoteIpAddress?.ToString() }
            : new(
                context.User.FindFirst(ApiKeyClaims.KeyId)?.Value ?? "anonymous",
                context.User.Identity?.Name ?? "anonymous",
                context.Connection.RemoteIpAddress?.ToString(),
                Activity.Current?.TraceId.ToHexString());

    /// <summary>A training pipeline, for the changes it makes: its runs, and the aliases it moves.</summary>
    public static AuditActor Pipeline(string name) =>
        new(PipelineCalls.ActorId(name), PipelineCalls.ActorName(name), null, Activity.Current?.TraceId.ToHexString());

    /// <summary>The platform itself, for changes its own configuration makes at start-up.</summary>
    public static AuditActor Platform => new("platform", "platform", null, Activity.Current?.TraceId.ToHexString());
}

/// <summary>One change: what was done (<c>alias.moved</c>) to which resource (<c>models/iris/aliases/production</c>), and the state before and after.</summary>
public sealed record AuditRecord(
    long Id, DateTimeOffset At, string ActorId, string ActorName, string Action, string Resource,
    JsonElement? Before, JsonElement? After, string? ClientAddress, string? TraceId);

public sealed record AuditPage(IReadOnlyList<AuditRecord> Records, long? Next);

/// <summary>
/// The audit trail each stateful service keeps in its own database. A record is written in the transaction of the change
/// it describes, so neither exists without the other; triggers refuse any update or delete, so records are append-only.
/// </summary>
public static class AuditLog
{
    public const int MaxPageSize = 1000;

    /// <summary>The migration that adds the trail; each service appends it to its own list.</summary>
    public static readonly Migration Migration = Migration.Portable("""
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            actor_id TEXT NOT NULL,
            actor_name TEXT NOT NULL,
            action TEXT NOT NULL,
            resource TEXT NOT NULL,
            before TEXT,
            after TEXT,
            client_address TEXT,
            trace_id TEXT
        );
        CREATE INDEX audit_by_resource ON audit (resource, id);
        CREATE INDEX audit_by_actor ON audit (actor_id, id);
        """) + new Migration(
        Sqlite: """
            CREATE TRIGGER audit_refuses_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
            CREATE TRIGGER audit_refuses_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
            """,
        Postgres: """
            CREATE FUNCTION audit_refuses_change() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'audit records are append-only'; END $$;
            CREATE TRIGGER audit_refuses_update BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION audit_refuses_change();
            CREATE TRIGGER audit_refuses_truncate BEFORE TRUNCATE ON audit FOR EACH STATEMENT EXECUTE FUNCTION audit_refuses_change();
            """);

    /// <summary>
    /// Every stored time as ISO 8601 text ("2026-11-28T07:16:14…"): the audit's, and those of <paramref name="columns"/>
    /// (<c>table.column</c>). SQLite had some with a space for the "T", which compare wrongly against the others;
    /// PostgreSQL has them right from the start.
    /// </summary>
    public static Migration IsoTimesMigration(params string[] columns) => new(
        Sqlite: $"""
            DROP TRIGGER audit_refuses_update;
            UPDATE audit SET at = replace(at, ' ', 'T');
            CREATE TRIGGER audit_refuses_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
            {string.Concat(columns.Select(column => column.Split('.') is [var table, var name]
                ? $"UPDATE {table} SET {name} = replace({name}, ' ', 'T');\n"
                : throw new ArgumentException($"'{column}' is not table.column.", nameof(columns))))}
            """,
        Postgres: "SELECT 1;");

    /// <summary>Records a change inside <paramref name="transaction"/>, the one that makes it.</summary>
    public static Task AppendAsync(
        this IDbConnection connection, IDbTransaction transaction, AuditActor actor, string action, string resource,
        object? before, object? after, DateTimeOffset at) =>
        connection.ExecuteAsync(
            """
            INSERT INTO audit (at, actor_id, actor_name, action, resource, before, after, client_address, trace_id)
            VALUES (@at, @ActorId, @ActorName, @action, @resource, @before, @after, @ClientAddress, @TraceId)
            """,
            new
            {
                ActorId = actor.Id,
                ActorName = actor.Name,
                action,
                resource,
                at = at.ToUniversalTime().ToString("O"),
                before = before is null ? null : JsonSerializer.Serialize(before, JsonSerializerOptions.Web),
                after = after is null ? null : JsonSerializer.Serialize(after, JsonSerializerOptions.Web),
                actor.ClientAddress,
                actor.TraceId,
            },
            transaction);

    /// <summary>
    /// Records newest first. <paramref name="actor"/> matches a key id or name; <paramref name="resource"/> matches the
    /// resource and everything under it (<c>models/iris</c> includes its aliases); <paramref name="before"/> pages on.
    /// </summary>
    public static async Task<AuditPage> QueryAsync(
        ServiceDatabase database, string? actor, string? resource, string? action, DateTimeOffset? from, DateTimeOffset? to,
        long? before, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = (await connection.QueryAsync<AuditRow>(
            """
            SELECT id, at, actor_id AS ActorId, actor_name AS ActorName, action, resource, before, after,
                   client_address AS ClientAddress, trace_id AS TraceId
            FROM audit
            WHERE (@actor IS NULL OR actor_id = @actor OR actor_name = @actor)
              AND (@resource IS NULL OR resource = @resource OR substr(resource, 1, length(@resource) + 1) = @resource || '/')
              AND (@action IS NULL OR action = @action)
              AND (@from IS NULL OR at >= @from)
              AND (@to IS NULL OR at < @to)
              AND (@before IS NULL OR id < @before)
            ORDER BY id DESC
            LIMIT @take
            """,
            new
            {
                actor,
                resource,
                action,
                from = from?.ToUniversalTime().ToString("O"),
                to = to?.ToUniversalTime().ToString("O"),
                before,
                take = limit + 1,
            })).ToList();
        var records = rows.Take(limit).Select(row => row.ToRecord()).ToList();
        return new AuditPage(records, rows.Count > limit ? records[^1].Id : null);
    }

    /// <summary><c>GET /audit</c>: this service's trail, for admins.</summary>
    public static IEndpointRouteBuilder MapAuditApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/audit", ListAudit)
            .WithName("ListAudit")
            .WithSummary("Read this service's audit trail, newest first; filter by actor, resource (and what is under it), action and time")
            .WithTags("Audit")
            .RequireRoles(PlatformRoles.Admin);
        return app;
    }

    private static Task<Results<Ok<AuditPage>, ValidationProblem>> ListAudit(
        ServiceDatabase database, string? actor, string? resource, string? action, DateTimeOffset? from, DateTimeOffset? to,
        long? before, CancellationToken cancellationToken, int limit = 100) =>
        PageAsync(database, actor, resource, action, from, to, before, limit, cancellationToken);

    /// <summary>A page of records for an endpoint: <see cref="QueryAsync"/>, or a 400 naming <c>limit</c> when it is out of range.</summary>
    public static async Task<Results<Ok<AuditPage>, ValidationProblem>> PageAsync(
        ServiceDatabase database, string? actor, string? resource, string? action, DateTimeOffset? from, DateTimeOffset? to,
        long? before, int limit, CancellationToken cancellationToken)
    {
        if (limit is < 1 or > MaxPageSize)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["limit"] = [$"must be between 1 and {MaxPageSize}"] });
        }

        return TypedResults.Ok(await QueryAsync(database, actor, resource, action, from, to, before, limit, cancellationToken));
    }

    private sealed record AuditRow(
        long Id, DateTimeOffset At, string ActorId, string ActorName, string Action, string Resource,
        string? Before, string? After, string? ClientAddress, string? TraceId)
    {
        public AuditRecord ToRecord() => new(
            Id, At, ActorId, ActorName, Action, Resource, Parse(Before), Parse(After), ClientAddress, TraceId);

        private static JsonElement? Parse(string? json) => json is null ? null : JsonDocument.Parse(json).RootElement.Clone();
    }
}

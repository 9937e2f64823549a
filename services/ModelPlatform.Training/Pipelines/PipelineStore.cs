using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Dapper;
using ModelPlatform.Contracts;
using ModelPlatform.Storage;

namespace ModelPlatform.Training.Pipelines;

/// <summary>
/// Pipelines, their versions and their runs, in the training service's database. Every replica reads them; a change to one
/// pipeline (a new version, a trigger, a run starting or ending) holds that pipeline's write lock, so replicas that see the
/// same tick or the same dataset version at once start one run between them, and two runs of a pipeline are never active
/// at once.
/// </summary>
public sealed class PipelineStore(ServiceDatabase database, TimeProvider clock)
{
    private static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;

    public static readonly Migration Migration = Migration.Portable(
        """
        CREATE TABLE pipelines (
            name TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            definition TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            updated_by TEXT NOT NULL,
            deleted_at TEXT,
            next_tick_at TEXT,
            data_version INTEGER,
            data_due_at TEXT,
            last_data_version INTEGER);
        CREATE TABLE pipeline_versions (
            name TEXT NOT NULL,
            version INTEGER NOT NULL,
            definition TEXT NOT NULL,
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL,
            PRIMARY KEY (name, version));
        CREATE TABLE pipeline_runs (
            id TEXT PRIMARY KEY,
            pipeline TEXT NOT NULL,
            pipeline_version INTEGER NOT NULL,
            trigger TEXT NOT NULL,
            status TEXT NOT NULL,
            job_id TEXT,
            candidate_version INTEGER,
            baseline_version INTEGER,
            gate TEXT,
            reason TEXT,
            triggered_at TEXT NOT NULL,
            finished_at TEXT,
            production_at TEXT,
            lease_owner TEXT,
            lease_until TEXT);
        CREATE INDEX ix_pipeline_runs_pipeline ON pipeline_runs (pipeline, triggered_at);
        CREATE INDEX ix_pipeline_runs_status ON pipeline_runs (status, triggered_at);
        CREATE TABLE pipeline_run_steps (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id TEXT NOT NULL,
            at TEXT NOT NULL,
            step TEXT NOT NULL,
            detail TEXT NOT NULL);
        CREATE INDEX ix_pipeline_run_steps_run ON pipeline_run_steps (run_id, seq);
        """);

    public static string Resource(string pipeline) => $"pipelines/{pipeline}";

    private static string RunResource(string pipeline, Guid run) => $"pipelines/{pipeline}/runs/{run}";

    /// <summary>
    /// Stores <paramref name="definition"/> as the pipeline's next version (its first, or the first after a delete), with its
    /// schedule's next tick; the change is audited as <paramref name="actor"/>'s. Created: whether no live pipeline had the name.
    /// </summary>
    public async Task<(PipelineInfo Pipeline, bool Created)> SaveAsync(
        string name, PipelineDefinition definition, CronSchedule? schedule, AuditActor actor, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, Resource(name), cancellationToken);
        var before = await ReadAsync(connection, transaction, name, includeDeleted: true, cancellationToken);
        var now = clock.GetUtcNow();
        var version = (before?.Version ?? 0) + 1;
        var live = before is { Deleted: false };
        var parameters = new
        {
            name,
            version,
            definition = JsonSerializer.Serialize(definition, Json),
            now = Text(now),
            by = actor.Name,
            // A schedule that did not change keeps the tick it waits for; a new one starts from now.
            nextTick = live && before!.Definition.Schedule == definition.Schedule && before.NextTickAt is not null
                ? Text(before.NextTickAt.Value)
                : schedule?.NextAfter(now) is { } next ? Text(next) : null,
        };
        await connection.ExecuteAsync(
            """
            INSERT INTO pipelines (name, version, definition, created_at, updated_at, updated_by, next_tick_at)
            VALUES (@name, @version, @definition, @now, @now, @by, @nextTick)
            ON CONFLICT (name) DO UPDATE SET version = excluded.version, definition = excluded.definition,
                updated_at = excluded.updated_at, updated_by = excluded.updated_by, deleted_at = NULL, next_tick_at = excluded.next_tick_at
            """,
            parameters, transaction);
        await connection.ExecuteAsync(
            """
            INSERT INTO pipeline_versions (name, version, definition, created_at, created_by)
            VALUES (@name, @version, @definition, @now, @by)
            """,
            parameters, transaction);
        await connection.AppendAsync(transaction, actor, live ? "pipeline.updated" : "pipeline.created", Resource(name),
            live ? new { before!.Version, before.Definition } : null, new { version, definition }, now);
        var saved = (await ReadAsync(connection, transaction, name, includeDeleted: false, cancellationToken))!;
        await transaction.CommitAsync(cancellationToken);
        return (saved.ToInfo(), !live);
    }

    /// <summary>Deletes the pipeline: it starts no more runs, and its waiting run is cancelled. Its versions and runs stay.</summary>
    public async Task<bool> DeleteAsync(string name, AuditActor actor, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, Resource(name), cancellationToken);
        if (await ReadAsync(connection, transaction, name, includeDeleted: false, cancellationToken) is not { } before)
        {
            return false;
        }

        var now = clock.GetUtcNow();
        await connection.ExecuteAsync(
            "UPDATE pipelines SET deleted_at = @now, next_tick_at = NULL, data_version = NULL, data_due_at = NULL WHERE name = @name",
            new { name, now = Text(now) }, transaction);
        foreach (var waiting in await ActiveRunIdsAsync(connection, transaction, name, PipelineRunStatuses.Waiting))
        {
            const string deleted = "the pipeline was deleted";
            await AddStepAsync(connection, transaction, waiting, PipelineRunStatuses.Cancelled, deleted, now);
            await EndAsync(connection, transaction, waiting, PipelineRunStatuses.Cancelled, deleted, now);
        }

        await connection.AppendAsync(transaction, actor, "pipeline.deleted", Resource(name), new { before.Version, before.Definition }, null, now);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public async Task<PipelineInfo?> GetAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return (await ReadAsync(connection, null, name, includeDeleted: false, cancellationToken))?.ToInfo();
    }

    public async Task<IReadOnlyList<PipelineInfo>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var pipelines = await QueryPipelinesAsync(connection, null, "WHERE deleted_at IS NULL ORDER BY name", null, cancellationToken);
        return [.. pipelines.Select(row => row.ToInfo())];
    }

    /// <summary>Every version of the pipeline's definition, newest first; empty when it never existed.</summary>
    public Task<IReadOnlyList<PipelineVersionInfo>> ListVersionsAsync(string name, CancellationToken cancellationToken) =>
        QueryVersionsAsync("WHERE name = @name ORDER BY version DESC", new { name }, cancellationToken);

    /// <summary>One version of a pipeline's definition (the one a run ran), or null.</summary>
    public async Task<PipelineVersionInfo?> GetVersionAsync(string name, int version, CancellationToken cancellationToken) =>
        (await QueryVersionsAsync("WHERE name = @name AND version = @version", new { name, version }, cancellationToken)).SingleOrDefault();

    private async Task<IReadOnlyList<PipelineVersionInfo>> QueryVersionsAsync(string filter, object parameters, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<(string Name, long Version, string Definition, string CreatedAt, string CreatedBy)>(new CommandDefinition(
            $"SELECT name, version, definition, created_at, created_by FROM pipeline_versions {filter}", parameters, cancellationToken: cancellationToken));
        return [.. rows.Select(row => new PipelineVersionInfo(row.Name, (int)row.Version, Definition(row.Definition), Time(row.CreatedAt), row.CreatedBy))];
    }

    /// <summary>
    /// Notes a new version of a dataset for every live pipeline that runs on new data of it: each will run once no newer
    /// version has come for its debounce. A version no newer than one already noted (an event delivered again) changes nothing.
    /// </summary>
    public async Task<int> NoteDatasetVersionAsync(string dataset, int version, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var noted = 0;
        foreach (var candidate in await QueryPipelinesAsync(connection, null, "WHERE deleted_at IS NULL", null, cancellationToken))
        {
            if (candidate.Definition is not { Dataset: var name, OnNewData: { } onNewData } || name != dataset)
            {
                continue;
            }

            await using var transaction = await database.BeginWriteAsync(connection, Resource(candidate.Name), cancellationToken);
            var pipeline = await ReadAsync(connection, transaction, candidate.Name, includeDeleted: false, cancellationToken);
            if (pipeline is null || pipeline.LastDataVersion >= version)
            {
                continue;
            }

            var due = clock.GetUtcNow().AddSeconds(onNewData.DebounceSeconds ?? PipelineValidation.DefaultDebounceSeconds);
            await connection.ExecuteAsync(
                "UPDATE pipelines SET data_version = @version, data_due_at = @due, last_data_version = @version WHERE name = @name",
                new { name = pipeline.Name, version, due = Text(due) }, transaction);
            await transaction.CommitAsync(cancellationToken);
            noted++;
        }

        return noted;
    }

    /// <summary>
    /// Starts a run for every live, enabled pipeline whose schedule ticked or whose new data waited out its debounce by
    /// <paramref name="now"/>. Returns the runs started (some perhaps waiting or skipped, by the pipeline's concurrency).
    /// </summary>
    public async Task<IReadOnlyList<PipelineRun>> TriggerDueAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var runs = new List<PipelineRun>();
        var due = await QueryPipelinesAsync(
            connection, null, "WHERE deleted_at IS NULL AND (next_tick_at <= @now OR data_due_at <= @now)", new { now = Text(now) }, cancellationToken);
        foreach (var candidate in due)
        {
            await using var transaction = await database.BeginWriteAsync(connection, Resource(candidate.Name), cancellationToken);
            // Looked at again under the lock: another replica may have started the run in between.
            if (await ReadAsync(connection, transaction, candidate.Name, includeDeleted: false, cancellationToken) is not { } pipeline)
            {
                continue;
            }

            if (pipeline.NextTickAt is { } nextTick && CronSchedule.Parse(pipeline.Definition.Schedule!).Schedule?.Due(nextTick, now) is { } ticks)
            {
                await connection.ExecuteAsync("UPDATE pipelines SET next_tick_at = @next WHERE name = @name",
                    new { name = pipeline.Name, next = ticks.Next == DateTimeOffset.MaxValue ? null : Text(ticks.Next) }, transaction);
                if (pipeline.Definition.Enabled)
                {
                    var trigger = new PipelineTrigger(PipelineTrigger.Schedule, Tick: ticks.Latest, MissedTicks: ticks.Missed);
                    runs.Add(await StartRunAsync(connection, transaction, pipeline, trigger, now, cancellationToken));
                }
            }

            if (pipeline.DataDueAt <= now)
            {
                await connection.ExecuteAsync("UPDATE pipelines SET data_version = NULL, data_due_at = NULL WHERE name = @name",
                    new { name = pipeline.Name }, transaction);
                if (pipeline.Definition.Enabled)
                {
                    var trigger = new PipelineTrigger(PipelineTrigger.Data, DatasetVersion: pipeline.DataVersion);
                    runs.Add(await StartRunAsync(connection, transaction, pipeline, trigger, now, cancellationToken));
                }
            }

            await transaction.CommitAsync(cancellationToken);
        }

        return runs;
    }

    /// <summary>Starts a run that <paramref name="actor"/> asked for; null when there is no such pipeline.</summary>
    public async Task<PipelineRun?> TriggerAsync(string name, AuditActor actor, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, Resource(name), cancellationToken);
        if (await ReadAsync(connection, transaction, name, includeDeleted: false, cancellationToken) is not { } pipeline)
        {
            return null;
        }

        var run = await StartRunAsync(connection, transaction, pipeline, new PipelineTrigger(PipelineTrigger.Manual, By: actor.Name),
            clock.GetUtcNow(), cancellationToken);
        await connection.AppendAsync(transaction, actor, "pipeline.run-requested", RunResource(name, run.Id), null, new { run.Status }, run.TriggeredAt);
        await transaction.CommitAsync(cancellationToken);
        return run;
    }

    /// <summary>
    /// Records a triggered run: pending when nothing else of the pipeline is active; else waiting behind it (concurrency
    /// <c>queue</c>, one waiting at most) or skipped, so two runs of one pipeline are never active at once.
    /// </summary>
    private async Task<PipelineRun> StartRunAsync(
        DbConnection connection, DbTransaction transaction, PipelineRow pipeline, PipelineTrigger trigger, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        var active = (await connection.QueryAsync<(string Id, string Status)>(new CommandDefinition(
            $"SELECT id, status FROM pipeline_runs WHERE pipeline = @name AND status IN {InList(PipelineRunStatuses.Active)} ORDER BY triggered_at",
            new { name = pipeline.Name }, transaction, cancellationToken: cancellationToken))).AsList();
        var queue = pipeline.Definition.Concurrency == PipelineValidation.Queue;
        var (status, reason) = active switch
        {
            [] => (PipelineRunStatuses.Pending, null),
            _ when queue && active.All(run => run.Status != PipelineRunStatuses.Waiting) =>
                (PipelineRunStatuses.Waiting, $"waits for run {active[0].Id} ({active[0].Status}) to end"),
            _ when queue => (PipelineRunStatuses.Skipped, $"run {active.Last().Id} already waits for its turn"),
            _ => (PipelineRunStatuses.Skipped, $"run {active[0].Id} is {active[0].Status}"),
        };
        var id = Guid.CreateVersion7();
        await connection.ExecuteAsync(
            """
            INSERT INTO pipeline_runs (id, pipeline, pipeline_version, trigger, status, reason, triggered_at, finished_at)
            VALUES (@id, @pipeline, @version, @trigger, @status, @reason, @now, @finished)
            """,
            new
            {
                id = id.ToString(),
                pipeline = pipeline.Name,
                version = pipeline.Version,
                trigger = JsonSerializer.Serialize(trigger, Json),
                status,
                reason,
                now = Text(now),
                finished = status == PipelineRunStatuses.Skipped ? Text(now) : null,
            },
            transaction);
        await AddStepAsync(connection, transaction, id, "triggered", Describe(trigger), now);
        if (reason is not null)
        {
            await AddStepAsync(connection, transaction, id, status, reason, now);
        }

        return (await QueryRunsAsync(connection, transaction, "WHERE id = @id", new { id = id.ToString() }, cancellationToken)).Single();
    }

    private static string Describe(PipelineTrigger trigger) => trigger.Kind switch
    {
        PipelineTrigger.Schedule when trigger.MissedTicks > 0 =>
            $"the schedule's tick of {trigger.Tick:O}, standing for {trigger.MissedTicks} earlier tick(s) missed while nothing ran",
        PipelineTrigger.Schedule => $"the schedule's tick of {trigger.Tick:O}",
        PipelineTrigger.Data => $"dataset version {trigger.DatasetVersion}",
        _ => $"asked for by {trigger.By}",
    };

    public async Task<PipelineRun?> GetRunAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return (await QueryRunsAsync(connection, null, "WHERE id = @id", new { id = id.ToString() }, cancellationToken)).SingleOrDefault();
    }

    /// <summary>A pipeline's runs, newest first, each with its steps.</summary>
    public async Task<IReadOnlyList<PipelineRun>> ListRunsAsync(string pipeline, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await QueryRunsAsync(connection, null, "WHERE pipeline = @pipeline ORDER BY triggered_at DESC, id DESC LIMIT @limit",
            new { pipeline, limit }, cancellationToken);
    }

    /// <summary>The runs that have a next step to take (pending, training, gating), oldest first.</summary>
    public async Task<IReadOnlyList<PipelineRun>> ListActiveRunsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await QueryRunsAsync(connection, null,
            // Every active status but waiting, which has no step of its own: it starts when the run before it ends.
            $"WHERE status IN {InList(PipelineRunStatuses.Active.Except([PipelineRunStatuses.Waiting]))} ORDER BY triggered_at",
            new { }, cancellationToken);
    }

    /// <summary>
    /// Takes the run for <paramref name="owner"/> until <paramref name="until"/>, unless another replica holds it: one replica
    /// takes each step of a run.
    /// </summary>
    public async Task<bool> TryLeaseRunAsync(Guid id, string owner, DateTimeOffset until, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE pipeline_runs SET lease_owner = @owner, lease_until = @until
            WHERE id = @id AND (lease_until IS NULL OR lease_until < @now OR lease_owner = @owner)
            """,
            new { id = id.ToString(), owner, until = Text(until), now = Text(clock.GetUtcNow()) }, cancellationToken: cancellationToken)) == 1;
    }

    public async Task ReleaseRunAsync(Guid id, string owner, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE pipeline_runs SET lease_owner = NULL, lease_until = NULL WHERE id = @id AND lease_owner = @owner",
            new { id = id.ToString(), owner }, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// Moves an active run on to <paramref name="change"/>'s status, recording the step; false, changing nothing, when the run
    /// is no longer as <paramref name="run"/> saw it (another replica took the step).
    /// </summary>
    public async Task<bool> AdvanceAsync(PipelineRun run, RunChange change, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, Resource(run.Pipeline), cancellationToken);
        var now = clock.GetUtcNow();
        var moved = await connection.ExecuteAsync(
            """
            UPDATE pipeline_runs SET status = @Status, job_id = COALESCE(@jobId, job_id),
                candidate_version = COALESCE(@CandidateVersion, candidate_version), baseline_version = COALESCE(@BaselineVersion, baseline_version),
                gate = COALESCE(@gate, gate), rollout = COALESCE(@rollout, rollout), production_at = COALESCE(production_at, @productionAt)
            WHERE id = @id AND status = @before
            """,
            new
            {
                id = run.Id.ToString(),
                before = run.Status,
                change.Status,
                jobId = change.JobId?.ToString(),
                change.CandidateVersion,
                change.BaselineVersion,
                gate = change.Gate is null ? null : JsonSerializer.Serialize(change.Gate, Json),
                rollout = change.Rollout is null ? null : JsonSerializer.Serialize(change.Rollout, Json),
                productionAt = change.ReachedProduction ? Text(now) : null,
            },
            transaction) == 1;
        if (!moved)
        {
            return false;
        }

        await AddStepAsync(connection, transaction, run.Id, change.Step, change.Detail, now);
        if (!PipelineRunStatuses.Active.Contains(change.Status))
        {
            await EndAsync(connection, transaction, run.Id, change.Status, change.Reason, now);
            await connection.AppendAsync(transaction, AuditActor.Pipeline(run.Pipeline), $"pipeline-run.{change.Status}", RunResource(run.Pipeline, run.Id),
                new { run.Status }, new { change.Status, change.CandidateVersion, change.Reason }, now);
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>
    /// Records the latest look at a run's rollout, without a step; nothing when the run is no longer as <paramref name="run"/> saw it.
    /// </summary>
    public async Task ObserveAsync(PipelineRun run, RolloutState rollout, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE pipeline_runs SET rollout = @rollout WHERE id = @id AND status = @status",
            new { id = run.Id.ToString(), status = run.Status, rollout = JsonSerializer.Serialize(rollout, Json) }, cancellationToken: cancellationToken));
    }

    /// <summary>Ends a run, and lets the run waiting behind it (if any) start.</summary>
    private async Task EndAsync(DbConnection connection, DbTransaction transaction, Guid id, string status, string? reason, DateTimeOffset now)
    {
        var pipeline = await connection.ExecuteScalarAsync<string>(
            "UPDATE pipeline_runs SET status = @status, reason = COALESCE(@reason, reason), finished_at = @now, lease_owner = NULL, lease_until = NULL "
            + "WHERE id = @id RETURNING pipeline",
            new { id = id.ToString(), status, reason, now = Text(now) }, transaction);
        foreach (var waiting in await ActiveRunIdsAsync(connection, transaction, pipeline!, PipelineRunStatuses.Waiting))
        {
            await connection.ExecuteAsync("UPDATE pipeline_runs SET status = @pending WHERE id = @id",
                new { id = waiting.ToString(), pending = PipelineRunStatuses.Pending }, transaction);
            await AddStepAsync(connection, transaction, waiting, PipelineRunStatuses.Pending, $"run {id} ended ({status}): its turn", now);
        }
    }

    private static async Task<List<Guid>> ActiveRunIdsAsync(DbConnection connection, DbTransaction transaction, string pipeline, string status) =>
        [.. (await connection.QueryAsync<string>(
                "SELECT id FROM pipeline_runs WHERE pipeline = @pipeline AND status = @status ORDER BY triggered_at",
                new { pipeline, status }, transaction))
            .Select(Guid.Parse)];

    /// <summary>Statuses as an SQL list: the platform's own constants, never a caller's text.</summary>
    private static string InList(IEnumerable<string> statuses) => $"({string.Join(", ", statuses.Select(status => $"'{status}'"))})";

    private static Task AddStepAsync(DbConnection connection, DbTransaction transaction, Guid run, string step, string detail, DateTimeOffset at) =>
        connection.ExecuteAsync(
            "INSERT INTO pipeline_run_steps (run_id, at, step, detail) VALUES (@run, @at, @step, @detail)",
            new { run = run.ToString(), at = Text(at), step, detail }, transaction);

    private async Task<IReadOnlyList<PipelineRun>> QueryRunsAsync(
        DbConnection connection, DbTransaction? transaction, string filter, object parameters, CancellationToken cancellationToken)
    {
        var rows = (await connection.QueryAsync<RunRow>(new CommandDefinition(
            $"""
            SELECT id AS Id, pipeline AS Pipeline, pipeline_version AS PipelineVersion, trigger AS Trigger, status AS Status, job_id AS JobId,
                   candidate_version AS CandidateVersion, baseline_version AS BaselineVersion, gate AS Gate, reason AS Reason,
                   triggered_at AS TriggeredAt, finished_at AS FinishedAt, production_at AS ProductionAt, rollout AS Rollout
            FROM pipeline_runs {filter}
            """,
            parameters, transaction, cancellationToken: cancellationToken))).AsList();
        if (rows.Count == 0)
        {
            return [];
        }

        // The same runs' steps, in one query.
        var steps = (await connection.QueryAsync<(string RunId, string At, string Step, string Detail)>(new CommandDefinition(
                $"SELECT run_id, at, step, detail FROM pipeline_run_steps WHERE run_id IN (SELECT id FROM pipeline_runs {filter}) ORDER BY seq",
                parameters, transaction, cancellationToken: cancellationToken)))
            .ToLookup(step => step.RunId, step => new PipelineRunStep(Time(step.At), step.Step, step.Detail));
        return [.. rows.Select(row => row.ToRun([.. steps[row.Id]]))];
    }

    private static async Task<PipelineRow?> ReadAsync(
        DbConnection connection, DbTransaction? transaction, string name, bool includeDeleted, CancellationToken cancellationToken) =>
        (await QueryPipelinesAsync(connection, transaction, includeDeleted ? "WHERE name = @name" : "WHERE name = @name AND deleted_at IS NULL",
            new { name }, cancellationToken)).SingleOrDefault();

    private static async Task<IReadOnlyList<PipelineRow>> QueryPipelinesAsync(
        DbConnection connection, DbTransaction? transaction, string filter, object? parameters, CancellationToken cancellationToken) =>
        [.. (await connection.QueryAsync<PipelineRecord>(new CommandDefinition(
            $"""
            SELECT name AS Name, version AS Version, definition AS Definition, created_at AS CreatedAt, updated_at AS UpdatedAt,
                   updated_by AS UpdatedBy, deleted_at AS DeletedAt, next_tick_at AS NextTickAt, data_version AS DataVersion,
                   data_due_at AS DataDueAt, last_data_version AS LastDataVersion
            FROM pipelines {filter}
            """,
            parameters, transaction, cancellationToken: cancellationToken))).Select(record => record.ToRow())];

    private static PipelineDefinition Definition(string json) => JsonSerializer.Deserialize<PipelineDefinition>(json, Json)!;

    private static string Text(DateTimeOffset time) => time.ToUniversalTime().ToString("O");

    private static DateTimeOffset Time(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture);

    private static DateTimeOffset? TimeOrNull(string? text) => text is null ? null : Time(text);

    private sealed record PipelineRecord(
        string Name, long Version, string Definition, string CreatedAt, string UpdatedAt, string UpdatedBy, string? DeletedAt, string? NextTickAt,
        long? DataVersion, string? DataDueAt, long? LastDataVersion)
    {
        public PipelineRow ToRow() => new(
            Name, (int)Version, PipelineStore.Definition(Definition), Time(CreatedAt), Time(UpdatedAt), UpdatedBy, DeletedAt is not null,
            TimeOrNull(NextTickAt), (int?)DataVersion, TimeOrNull(DataDueAt), (int?)LastDataVersion);
    }

    private sealed record PipelineRow(
        string Name, int Version, PipelineDefinition Definition, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, string UpdatedBy, bool Deleted,
        DateTimeOffset? NextTickAt, int? DataVersion, DateTimeOffset? DataDueAt, int? LastDataVersion)
    {
        public PipelineInfo ToInfo() => new(
            Name, Version, Definition, CreatedAt, UpdatedAt, UpdatedBy, NextTickAt,
            DataVersion is { } version && DataDueAt is { } due ? new PendingDataTrigger(version, due) : null);
    }

    private sealed record RunRow(
        string Id, string Pipeline, long PipelineVersion, string Trigger, string Status, string? JobId, long? CandidateVersion,
        long? BaselineVersion, string? Gate, string? Reason, string TriggeredAt, string? FinishedAt, string? ProductionAt, string? Rollout)
    {
        public PipelineRun ToRun(IReadOnlyList<PipelineRunStep> steps) => new(
            Guid.Parse(Id), Pipeline, (int)PipelineVersion, JsonSerializer.Deserialize<PipelineTrigger>(Trigger, Json)!, Status,
            JobId is null ? null : Guid.Parse(JobId), (int?)CandidateVersion, (int?)BaselineVersion,
            Gate is null ? null : JsonSerializer.Deserialize<GateVerdict>(Gate, Json), Reason, Time(TriggeredAt), TimeOrNull(FinishedAt),
            ProductionAt is null ? null : (Time(ProductionAt) - Time(TriggeredAt)).TotalSeconds, steps,
            Rollout is null ? null : JsonSerializer.Deserialize<RolloutState>(Rollout, Json));
    }
}

/// <summary>
/// A run's next step: its new status, what it learnt on the way (the job, the candidate, the gate's verdict, its rollout) and
/// the step for its timeline; <see cref="Reason"/> for a run it ends; <see cref="ReachedProduction"/> when the candidate now
/// serves all of <c>production</c>.
/// </summary>
public sealed record RunChange(
    string Status, string Step, string Detail, Guid? JobId = null, int? CandidateVersion = null, int? BaselineVersion = null,
    GateVerdict? Gate = null, string? Reason = null, RolloutState? Rollout = null, bool ReachedProduction = false);

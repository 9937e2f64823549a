using System.Data;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelPlatform.Contracts;
using ModelPlatform.Storage;

namespace ModelPlatform.Messaging;

/// <summary>
/// The transactional outbox: an event is stored in the same database transaction as the change it announces, and
/// <see cref="OutboxRelay"/> publishes it after the commit, with publisher confirms, until the broker has it. So a broker
/// outage delays events but never loses one, an event never announces a change that rolled back, and events leave in the
/// order their changes committed.
/// </summary>
public static class Outbox
{
    /// <summary>The migration that adds the outbox; each service that publishes appends it to its own list.</summary>
    public static readonly Migration Migration = Migration.Portable("""
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            event_type TEXT NOT NULL,
            subject TEXT,
            payload TEXT NOT NULL,
            max_attempts INTEGER,
            trace_parent TEXT,
            created_at TEXT NOT NULL,
            published_at TEXT,
            lease_until TEXT);
        CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
        CREATE INDEX outbox_by_subject ON outbox (subject, id);
        """);

    /// <summary>
    /// Stores <paramref name="event"/> inside <paramref name="transaction"/>, to be published once it commits, continuing
    /// the current trace. <paramref name="subject"/> names what it is about (a job id), for services that look events up.
    /// </summary>
    public static Task EnqueueAsync(
        this IDbConnection connection, IDbTransaction transaction, IntegrationEvent @event, DateTimeOffset at,
        string? subject = null, PublishOptions? options = null) =>
        connection.ExecuteAsync(
            """
            INSERT INTO outbox (event_type, subject, payload, max_attempts, trace_parent, created_at)
            VALUES (@type, @subject, @payload, @maxAttempts, @traceParent, @at)
            """,
            new
            {
                type = EventBusSubscriptions.RoutingKeyFor(@event.GetType()),
                subject,
                payload = JsonSerializer.Serialize(@event, @event.GetType(), JsonSerializerOptions.Web),
                maxAttempts = options?.MaxAttempts,
                traceParent = Activity.Current?.Id,
                // Times are ISO 8601 text, as in every table of the platform, so they compare as text.
                at = at.ToString("O"),
            },
            transaction);

    /// <summary>Registers the relay that publishes this service's outbox.</summary>
    public static IServiceCollection AddOutboxRelay(this IServiceCollection services)
    {
        services.AddSingleton<OutboxRelay>();
        services.AddHostedService(provider => provider.GetRequiredService<OutboxRelay>());
        return services;
    }
}

/// <summary>
/// Publishes the outbox in order. Each replica runs a relay; a short lease on the rows it is sending keeps two from sending
/// the same event at once (should one die mid-send, the event goes again, which idempotent consumers absorb).
/// An event no queue takes is tried again for <see cref="UnroutableGrace"/> (consumers re-declare their queues when they
/// reconnect after a broker restart), without holding up the events after it; then it is logged and counted
/// (<c>modelplatform.outbox.unroutable</c>), not silently dropped.
/// </summary>
public sealed partial class OutboxRelay(ServiceDatabase database, IEventBus eventBus, TimeProvider clock, IMeterFactory meters, ILogger<OutboxRelay> logger)
    : BackgroundService
{
    private static readonly ActivitySource Source = new("ModelPlatform.Outbox");
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan PublishLease = TimeSpan.FromSeconds(10);

    /// <summary>How long an event that no queue takes is tried again before it is given up as unconsumed.</summary>
    public static readonly TimeSpan UnroutableGrace = TimeSpan.FromSeconds(60);

    /// <summary>Every event type, by the routing key it is stored under.</summary>
    private static readonly Dictionary<string, Type> EventTypes = typeof(IntegrationEvent).Assembly.GetTypes()
        .Where(type => type.IsSubclassOf(typeof(IntegrationEvent)) && !type.IsAbstract)
        .ToDictionary(EventBusSubscriptions.RoutingKeyFor);

    private readonly SemaphoreSlim _wake = new(0);
    private readonly Counter<long> _unroutable = meters.Create("ModelPlatform.Outbox")
        .CreateCounter<long>("modelplatform.outbox.unroutable", "{event}", "Events the broker had no queue for");

    /// <summary>Asks the relay to publish now rather than at its next poll (after a commit that enqueued events).</summary>
    public void Wake() => _wake.Release();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await PublishPendingAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogPublishFailed(ex);
            }

            try
            {
                await _wake.WaitAsync(PollInterval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Publishes what is pending, oldest first, stopping at the first failure so events keep their order.</summary>
    public async Task PublishPendingAsync(CancellationToken cancellationToken)
    {
        foreach (var row in await ClaimAsync(limit: 100, cancellationToken))
        {
            // Continue the trace of the request whose change the event announces.
            ActivityContext.TryParse(row.TraceParent, null, out var parent);
            using var activity = Source.StartActivity($"relay {row.EventType}", ActivityKind.Internal, parent);
            var @event = (IntegrationEvent)JsonSerializer.Deserialize(row.Payload, EventTypes[row.EventType], JsonSerializerOptions.Web)!;
            var published = true;
            try
            {
                await eventBus.PublishAsync(@event, new PublishOptions(row.MaxAttempts is { } max ? (int)max : null), cancellationToken);
            }
            catch (UnroutableEventException) when (clock.GetUtcNow() - row.CreatedAt < UnroutableGrace)
            {
                // Its consumers may be reconnecting: try again at the next poll. (Consumers that care about order, such
                // as alias moves with their sequence numbers, do not depend on the order of delivery.)
                published = false;
            }
            catch (UnroutableEventException ex)
            {
                _unroutable.Add(1, new KeyValuePair<string, object?>("event.type", row.EventType));
                LogUnroutable(ex, row.EventType, row.Id);
            }

            await using var connection = await database.OpenAsync(cancellationToken);
            await connection.ExecuteAsync(new CommandDefinition(
                published ? "UPDATE outbox SET published_at = @now WHERE id = @Id" : "UPDATE outbox SET lease_until = NULL WHERE id = @Id",
                new { now = clock.GetUtcNow().ToString("O"), row.Id }, cancellationToken: cancellationToken));
        }
    }

    private async Task<IReadOnlyList<OutboxRow>> ClaimAsync(int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        // One relay at a time looks, on any replica, so two never both find nothing leased and both send.
        await using var transaction = await database.BeginWriteAsync(connection, "outbox", cancellationToken);
        var now = clock.GetUtcNow();
        // Only from the oldest pending event on, and only when nobody else is sending it, so order holds across replicas.
        var rows = await connection.QueryAsync<OutboxRow>(new CommandDefinition(
            """
            UPDATE outbox SET lease_until = @until
            WHERE id IN (
                SELECT id FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT @limit)
              AND NOT EXISTS (SELECT 1 FROM outbox WHERE published_at IS NULL AND lease_until >= @now)
            RETURNING id AS Id, event_type AS EventType, payload AS Payload, max_attempts AS MaxAttempts, trace_parent AS TraceParent,
                      created_at AS CreatedAt
            """,
            new { limit, now = now.ToString("O"), until = (now + PublishLease).ToString("O") }, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return rows.OrderBy(row => row.Id).ToList();
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }

    private sealed record OutboxRow(long Id, string EventType, string Payload, long? MaxAttempts, string? TraceParent, DateTimeOffset CreatedAt);

    [LoggerMessage(LogLevel.Warning, "Publishing the outbox failed; retrying shortly")]
    private partial void LogPublishFailed(Exception exception);

    [LoggerMessage(LogLevel.Warning, "Outbox event {EventType} #{Id} reached no queue for a minute: nothing consumes it")]
    private partial void LogUnroutable(Exception exception, string eventType, long id);
}

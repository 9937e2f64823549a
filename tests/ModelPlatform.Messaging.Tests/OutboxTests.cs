using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ModelPlatform.Contracts;
using ModelPlatform.Storage;
using ModelPlatform.TestSupport;

namespace ModelPlatform.Messaging.Tests;

/// <summary>Run on each engine: see the classes at the end of the file.</summary>
public abstract class OutboxTests : IDisposable
{
    private readonly ITestDatabase _testDatabase;
    private readonly ServiceDatabase _database;
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.Parse("2026-11-28T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    protected OutboxTests(ITestDatabase testDatabase)
    {
        _testDatabase = testDatabase;
        _database = testDatabase.Open([Outbox.Migration]);
    }

    /// <summary>A broker that takes what it is given, refuses while <see cref="Down"/>, and has no queue for <see cref="Unroutable"/>.</summary>
    private sealed class Broker : IEventBus
    {
        public List<IntegrationEvent> Published { get; } = [];

        public bool Down { get; set; }

        public Type? Unroutable { get; set; }

        public Task PublishAsync(IntegrationEvent @event, PublishOptions? options = null, CancellationToken cancellationToken = default)
        {
            if (Down)
            {
                throw new InvalidOperationException("the broker is down");
            }

            Published.Add(@event);
            return @event.GetType() == Unroutable
                ? throw new UnroutableEventException(@event.GetType().Name, new InvalidOperationException("NO_ROUTE"))
                : Task.CompletedTask;
        }
    }

    [Fact]
    public async Task EventsCommittedWithTheirChangeArePublishedInOrderOnceTheBrokerIsBack()
    {
        // Arrange: three changes commit while the broker is down; a fourth rolls back.
        var broker = new Broker { Down = true };
        var relay = Relay(broker);
        var events = new IntegrationEvent[] { new TrainingJobSubmitted(Guid.NewGuid()), new TrainingJobSubmitted(Guid.NewGuid()),
            new ModelVersionRegistered("iris", 1, "00", null) };
        foreach (var @event in events)
        {
            await EnqueueAsync(@event, commit: true);
        }

        await EnqueueAsync(new TrainingJobSubmitted(Guid.NewGuid()), commit: false);

        // Act: a failed round, then the broker comes back and the lease of the failed round runs out.
        await Assert.ThrowsAsync<InvalidOperationException>(() => relay.PublishPendingAsync(CancellationToken.None));
        broker.Down = false;
        await relay.PublishPendingAsync(CancellationToken.None);
        var whileLeased = broker.Published.Count;
        _clock.Advance(TimeSpan.FromSeconds(11));
        await relay.PublishPendingAsync(CancellationToken.None);
        await relay.PublishPendingAsync(CancellationToken.None);

        // Assert: every committed event once, in commit order; nothing for the change that rolled back.
        Assert.Equal(0, whileLeased);
        Assert.Equal(events.Select(e => e.Id), broker.Published.Select(e => e.Id));
        Assert.Equal(events, broker.Published);
    }

    [Fact]
    public async Task AnEventNoQueueTakesIsTriedForAWhileWithoutHoldingUpTheOnesAfterItThenGivenUp()
    {
        var broker = new Broker { Unroutable = typeof(ModelVersionRegistered) };
        var relay = Relay(broker);
        await EnqueueAsync(new ModelVersionRegistered("iris", 1, "00", null), commit: true);
        await EnqueueAsync(new TrainingJobSubmitted(Guid.NewGuid()), commit: true);

        await relay.PublishPendingAsync(CancellationToken.None);
        _clock.Advance(OutboxRelay.UnroutableGrace);
        await relay.PublishPendingAsync(CancellationToken.None);
        await relay.PublishPendingAsync(CancellationToken.None);

        Type[] expected = [typeof(ModelVersionRegistered), typeof(TrainingJobSubmitted), typeof(ModelVersionRegistered)];
        Assert.Equal(expected, broker.Published.Select(e => e.GetType()));
        await using var connection = await _database.OpenAsync(CancellationToken.None);
        Assert.Equal(0, await connection.ExecuteScalarAsync<int>("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL"));
    }

    private OutboxRelay Relay(IEventBus broker) => new(
        _database, broker, _clock, _services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), NullLogger<OutboxRelay>.Instance);

    private async Task EnqueueAsync(IntegrationEvent @event, bool commit)
    {
        await using var connection = await _database.OpenAsync(CancellationToken.None);
        await using var transaction = connection.BeginTransaction();
        await connection.EnqueueAsync(transaction, @event, _clock.GetUtcNow());
        if (commit)
        {
            transaction.Commit();
        }
    }

    public void Dispose()
    {
        _services.Dispose();
        _testDatabase.Dispose();
    }
}

public sealed class OutboxOnSqliteTests() : OutboxTests(new SqliteTestDatabase());

[Collection(nameof(PostgresServer))]
public sealed class OutboxOnPostgresTests(PostgresServer server) : OutboxTests(new PostgresTestDatabase(server));

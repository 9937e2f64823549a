using Microsoft.Extensions.Time.Testing;
using ModelPlatform.Contracts;
using ModelPlatform.Identity.Keys;
using ModelPlatform.TestSupport;

namespace ModelPlatform.Storage.Tests;

/// <summary>Keys and the audit trail they leave. Run on each engine: see the classes at the end of the file.</summary>
public abstract class ApiKeyStoreTests : IDisposable
{
    private readonly ITestDatabase _testDatabase;
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.Parse("2026-11-28T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly ServiceDatabase _database;
    private readonly ApiKeyStore _keys;
    private static readonly AuditActor Alice = new("key-1", "alice", "127.0.0.1", null);

    protected ApiKeyStoreTests(ITestDatabase testDatabase)
    {
        _testDatabase = testDatabase;
        _database = testDatabase.Open(ApiKeyStore.Migrations);
        _keys = new ApiKeyStore(_database, _clock);
    }

    [Fact]
    public async Task AKeyWorksUntilItExpiresOrIsRevoked()
    {
        var lasting = await _keys.CreateAsync(new CreateApiKeyRequest("ci", [PlatformRoles.Reader]), Alice, CancellationToken.None);
        var brief = await _keys.CreateAsync(
            new CreateApiKeyRequest("brief", [PlatformRoles.Reader], _clock.GetUtcNow().AddMinutes(5)), Alice, CancellationToken.None);

        var answer = await _keys.IntrospectAsync(lasting.Key, CancellationToken.None);
        Assert.True(answer.Active);
        Assert.Equal(["reader"], answer.Roles);
        _clock.Advance(TimeSpan.FromMinutes(6));
        Assert.Equal("expired", (await _keys.IntrospectAsync(brief.Key, CancellationToken.None)).Refusal);
        await _keys.RevokeAsync(lasting.Info.Id, Alice, CancellationToken.None);
        Assert.Equal("revoked", (await _keys.IntrospectAsync(lasting.Key, CancellationToken.None)).Refusal);
        Assert.Equal("unknown", (await _keys.IntrospectAsync("mpk_nothing", CancellationToken.None)).Refusal);

        var listed = await _keys.ListAsync(CancellationToken.None);
        Assert.Equal(["ci", "brief"], listed.Select(key => key.Name));
        Assert.Equal(_clock.GetUtcNow(), listed[0].RevokedAt);
        Assert.NotNull(listed[0].LastUsedAt);
    }

    [Fact]
    public async Task TheAuditIsFilteredByActorResourceAndTime()
    {
        var first = await _keys.CreateAsync(new CreateApiKeyRequest("first", [PlatformRoles.Reader]), Alice, CancellationToken.None);
        _clock.Advance(TimeSpan.FromHours(1));
        var middle = _clock.GetUtcNow();
        await _keys.CreateAsync(new CreateApiKeyRequest("second", [PlatformRoles.Reader]), Alice, CancellationToken.None);
        await _keys.RevokeAsync(first.Info.Id, new AuditActor("key-2", "bob", null, null), CancellationToken.None);

        var byAlice = await AuditLog.QueryAsync(_database, "alice", null, null, null, null, null, 10, CancellationToken.None);
        var sinceMiddle = await AuditLog.QueryAsync(_database, null, null, null, middle, null, null, 10, CancellationToken.None);
        var beforeMiddle = await AuditLog.QueryAsync(_database, null, null, null, null, middle, null, 10, CancellationToken.None);
        var ofFirst = await AuditLog.QueryAsync(_database, null, ApiKeyStore.Resource(first.Info.Id), null, null, null, null, 10, CancellationToken.None);

        Assert.Equal(["api-key.created", "api-key.created"], byAlice.Records.Select(record => record.Action));
        Assert.Equal(["api-key.revoked", "api-key.created"], sinceMiddle.Records.Select(record => record.Action));
        Assert.Equal("first", Assert.Single(beforeMiddle.Records).After?.GetProperty("name").GetString());
        Assert.Equal(["api-key.revoked", "api-key.created"], ofFirst.Records.Select(record => record.Action));
        Assert.Equal("bob", ofFirst.Records[0].ActorName);
    }

    public void Dispose() => _testDatabase.Dispose();
}

public sealed class ApiKeyStoreOnSqliteTests() : ApiKeyStoreTests(new SqliteTestDatabase());

[Collection(nameof(PostgresServer))]
public sealed class ApiKeyStoreOnPostgresTests(PostgresServer server) : ApiKeyStoreTests(new PostgresTestDatabase(server));

using ModelPlatform.TestSupport;

namespace ModelPlatform.Storage.Tests;

/// <summary>One PostgreSQL server for the store tests of this assembly; each test gets a database of its own on it.</summary>
[CollectionDefinition(nameof(PostgresServer))]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>;

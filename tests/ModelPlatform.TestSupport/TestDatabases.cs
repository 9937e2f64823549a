using Microsoft.Data.Sqlite;
using ModelPlatform.Storage;
using Npgsql;

namespace ModelPlatform.TestSupport;

/// <summary>Where a store test keeps its data: a new, empty database of one engine for each test.</summary>
public interface ITestDatabase : IDisposable
{
    DatabaseEngine Engine { get; }

    /// <summary>The service's database, brought up to date with <paramref name="migrations"/>.</summary>
    ServiceDatabase Open(IReadOnlyList<Migration> migrations);
}

/// <summary>A SQLite database in a temporary folder, deleted afterwards.</summary>
public sealed class SqliteTestDatabase : ITestDatabase
{
    private readonly DirectoryInfo _directory = System.IO.Directory.CreateTempSubdirectory("modelplatform-store-");

    public DatabaseEngine Engine => DatabaseEngine.Sqlite;

    public string Directory => _directory.FullName;

    public ServiceDatabase Open(IReadOnlyList<Migration> migrations) => ServiceDatabase.Sqlite(_directory.FullName, migrations);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _directory.Delete(recursive: true);
    }
}

/// <summary>A database of its own on the shared <see cref="PostgresServer"/>, dropped afterwards.</summary>
public sealed class PostgresTestDatabase(PostgresServer server) : ITestDatabase
{
    private readonly string _name = $"test_{Guid.NewGuid():N}";
    private NpgsqlDataSource? _dataSource;

    public DatabaseEngine Engine => DatabaseEngine.Postgres;

    public string ConnectionString => server.ConnectionString(_name);

    public ServiceDatabase Open(IReadOnlyList<Migration> migrations)
    {
        PostgresDatabases.EnsureExists(ConnectionString);
        _dataSource ??= NpgsqlDataSource.Create(ConnectionString);
        return ServiceDatabase.Postgres(_dataSource, migrations);
    }

    public void Dispose()
    {
        _dataSource?.Dispose();
        server.Drop(_name);
    }
}

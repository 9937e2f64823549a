using System.Data;
using System.Data.Common;
using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace ModelPlatform.Storage;

/// <summary>Where a service keeps its state: an embedded SQLite file for one machine, or PostgreSQL for several.</summary>
public enum DatabaseEngine
{
    Sqlite,
    Postgres,
}

/// <summary>One schema change, in each engine's SQL. Most changes read the same in both: <see cref="Portable"/>.</summary>
public sealed record Migration(string Sqlite, string Postgres)
{
    public static Migration Portable(string sql) => new(sql, sql);
}

/// <summary>
/// A service's own database: SQLite (write-ahead logging, so readers never wait for the writer) or PostgreSQL. Both hold
/// the same tables, written by the same SQL: the schema is a list of migrations applied in order at start-up, and a
/// migration is only ever added at the end, never edited once released.
/// <para>
/// Writers that read what they are about to change begin with <see cref="BeginWriteAsync"/>, which names what they change.
/// SQLite has one writer at a time anyway; PostgreSQL takes a transaction-scoped advisory lock on that name, so writers of
/// the same thing queue, on any replica on any host, and the others go on in parallel.
/// </para>
/// </summary>
public sealed class ServiceDatabase : IHealthCheck
{
    private readonly DbDataSource _dataSource;

    static ServiceDatabase()
    {
        SqlMapper.AddTypeHandler(new DateTimeOffsetHandler());
    }

    private ServiceDatabase(DatabaseEngine engine, DbDataSource dataSource, string scratchDirectory, IReadOnlyList<Migration> migrations)
    {
        Engine = engine;
        _dataSource = dataSource;
        ScratchDirectory = Directory.CreateDirectory(scratchDirectory).FullName;
        using var connection = _dataSource.OpenConnection();
        if (engine == DatabaseEngine.Sqlite)
        {
            connection.Execute("PRAGMA journal_mode = WAL;");
        }

        Migrate(connection, migrations);
    }

    public DatabaseEngine Engine { get; }

    /// <summary>
    /// A folder of this process's own for files on their way in or out. With SQLite it is the data folder; with
    /// PostgreSQL it is private to the process, since everything that lasts is in the database.
    /// </summary>
    public string ScratchDirectory { get; }

    /// <summary>The embedded store: <c>store.db</c> in <paramref name="dataDirectory"/>.</summary>
    public static ServiceDatabase Sqlite(string dataDirectory, IReadOnlyList<Migration> migrations)
    {
        Directory.CreateDirectory(dataDirectory);
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(dataDirectory, "store.db"),
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        return new ServiceDatabase(DatabaseEngine.Sqlite, SqliteFactory.Instance.CreateDataSource(connectionString), dataDirectory, migrations);
    }

    /// <summary>The scale-out store: the service's own PostgreSQL database, which replicas on any host share.</summary>
    public static ServiceDatabase Postgres(NpgsqlDataSource dataSource, IReadOnlyList<Migration> migrations) =>
        new(DatabaseEngine.Postgres, dataSource, Directory.CreateTempSubdirectory("modelplatform-").FullName, migrations);

    private void Migrate(DbConnection connection, IReadOnlyList<Migration> migrations)
    {
        // Replicas starting together take turns: SQLite's immediate transaction, PostgreSQL's advisory lock.
        using var transaction = BeginWrite(connection, "migrations");
        var applied = Engine == DatabaseEngine.Sqlite
            ? connection.ExecuteScalar<int>("PRAGMA user_version", transaction: transaction)
            : connection.ExecuteScalar<int>(
                """
                CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
                SELECT COALESCE(MAX(version), 0) FROM schema_version;
                """, transaction: transaction);
        for (var version = applied; version < migrations.Count; version++)
        {
            var migration = migrations[version];
            connection.Execute(Engine == DatabaseEngine.Sqlite ? migration.Sqlite : migration.Postgres, transaction: transaction);
        }

        connection.Execute(
            Engine == DatabaseEngine.Sqlite
                ? $"PRAGMA user_version = {migrations.Count}"
                : $"DELETE FROM schema_version; INSERT INTO schema_version (version) VALUES ({migrations.Count});",
            transaction: transaction);
        transaction.Commit();
    }

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        if (Engine == DatabaseEngine.Sqlite)
        {
            // Durable across a crash in WAL mode, without a sync on every read.
            await connection.ExecuteAsync("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;");
        }

        return connection;
    }

    /// <summary>
    /// Begins a transaction that reads what it is about to change, holding <paramref name="lockKey"/> (say
    /// <c>models/iris</c>) until it ends, so no other writer of that key, on any replica, comes in between.
    /// </summary>
    public async Task<DbTransaction> BeginWriteAsync(DbConnection connection, string lockKey, CancellationToken cancellationToken)
    {
        if (connection is SqliteConnection sqlite)
        {
            // BEGIN IMMEDIATE: the database's one write lock, taken now rather than at the first write.
            return sqlite.BeginTransaction(deferred: false);
        }

        var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await LockAsync(connection, transaction, lockKey, cancellationToken);
        return transaction;
    }

    /// <summary>
    /// Also holds <paramref name="lockKey"/> until <paramref name="transaction"/> (begun by <see cref="BeginWriteAsync"/>)
    /// ends. Take keys in the same order everywhere, so two writers never wait for each other.
    /// </summary>
    public async Task LockAsync(DbConnection connection, DbTransaction transaction, string lockKey, CancellationToken cancellationToken)
    {
        if (Engine == DatabaseEngine.Postgres)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "SELECT pg_advisory_xact_lock(hashtextextended(@lockKey, 0))", new { lockKey }, transaction, cancellationToken: cancellationToken));
        }
    }

    private DbTransaction BeginWrite(DbConnection connection, string lockKey) =>
        BeginWriteAsync(connection, lockKey, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>Whether <paramref name="exception"/> is a unique or primary key refusing a duplicate.</summary>
    public static bool IsUniqueViolation(Exception exception) => exception switch
    {
        // SQLITE_CONSTRAINT: the only constraints the stores declare that a caller can break are keys.
        SqliteException sqlite => sqlite.SqliteErrorCode == 19,
        PostgresException postgres => postgres.SqlState == PostgresErrorCodes.UniqueViolation,
        _ => false,
    };

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await connection.ExecuteScalarAsync<int>("SELECT 1");
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex)
        {
            return HealthCheckResult.Unhealthy("The database does not answer.", ex);
        }
    }

    // Stored as ISO 8601 text in both engines, so times compare as text and read the same from either.
    private sealed class DateTimeOffsetHandler : SqlMapper.TypeHandler<DateTimeOffset>
    {
        public override void SetValue(IDbDataParameter parameter, DateTimeOffset value) => parameter.Value = value.ToString("O");

        public override DateTimeOffset Parse(object value) => DateTimeOffset.Parse((string)value, System.Globalization.CultureInfo.InvariantCulture);
    }
}

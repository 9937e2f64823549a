using System.Data;
using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ModelPlatform.Storage;

/// <summary>
/// A service's own SQLite database (write-ahead logging, so readers never wait for the writer).
/// The schema is a list of migrations applied in order at start-up; <c>PRAGMA user_version</c> records how
/// many have run, so a migration is only ever added at the end, never edited once released.
/// </summary>
public sealed class ServiceDatabase : IHealthCheck
{
    private readonly string _connectionString;

    static ServiceDatabase()
    {
        SqlMapper.AddTypeHandler(new DateTimeOffsetHandler());
    }

    public ServiceDatabase(string dataDirectory, IReadOnlyList<string> migrations)
    {
        Directory.CreateDirectory(dataDirectory);
        DataDirectory = dataDirectory;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(dataDirectory, "store.db"),
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();

        using var connection = Open();
        connection.Execute("PRAGMA journal_mode = WAL;");
        Migrate(connection, migrations);
    }

    public string DataDirectory { get; }

    private static void Migrate(SqliteConnection connection, IReadOnlyList<string> migrations)
    {
        // Replicas of a service share its database; the immediate transaction lets one of them migrate at a time.
        using var transaction = connection.BeginTransaction(deferred: false);
        var applied = connection.ExecuteScalar<int>("PRAGMA user_version", transaction: transaction);
        for (var version = applied; version < migrations.Count; version++)
        {
            connection.Execute(migrations[version], transaction: transaction);
        }

        connection.Execute($"PRAGMA user_version = {migrations.Count}", transaction: transaction);
        transaction.Commit();
    }

    public SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        // Durable across a crash in WAL mode, without a sync on every read.
        connection.Execute("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;");
        return connection;
    }

    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await connection.ExecuteAsync("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;");
        return connection;
    }

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

    // Stored as ISO 8601 text so the database stays readable with the sqlite3 shell.
    private sealed class DateTimeOffsetHandler : SqlMapper.TypeHandler<DateTimeOffset>
    {
        public override void SetValue(IDbDataParameter parameter, DateTimeOffset value) => parameter.Value = value.ToString("O");

        public override DateTimeOffset Parse(object value) => DateTimeOffset.Parse((string)value, System.Globalization.CultureInfo.InvariantCulture);
    }
}

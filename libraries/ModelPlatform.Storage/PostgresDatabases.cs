using Npgsql;

namespace ModelPlatform.Storage;

/// <summary>Each service owns its database, and makes it on first start where the server lets it.</summary>
public static class PostgresDatabases
{
    /// <summary>
    /// Creates the database <paramref name="connectionString"/> names when the server does not have it yet, through the
    /// server's <c>postgres</c> database. A server that already has it (say, one an operator made) is left as it is.
    /// </summary>
    public static void EnsureExists(string connectionString)
    {
        var target = new NpgsqlConnectionStringBuilder(connectionString);
        var name = target.Database ?? throw new InvalidOperationException("The PostgreSQL connection string names no database.");
        try
        {
            using var probe = new NpgsqlConnection(connectionString);
            probe.Open();
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InvalidCatalogName)
        {
            var maintenance = new NpgsqlConnectionStringBuilder(connectionString) { Database = "postgres", Pooling = false };
            using var connection = new NpgsqlConnection(maintenance.ConnectionString);
            connection.Open();
            // Replicas starting together take turns (a session lock: CREATE DATABASE cannot run inside a transaction), so only the
            // first creates it. Racing CREATE DATABASE fails in more ways than "already exists": the loser may hit the catalog's index.
            using (var turn = new NpgsqlCommand("SELECT pg_advisory_lock(hashtextextended('modelplatform:create-database', 0))", connection))
            {
                turn.ExecuteNonQuery();
            }

            using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @name", connection) { Parameters = { new("name", name) } };
            if (exists.ExecuteScalar() is null)
            {
                using var create = new NpgsqlCommand($"CREATE DATABASE {new NpgsqlCommandBuilder().QuoteIdentifier(name)}", connection);
                create.ExecuteNonQuery();
            }

            // The lock ends with the connection, which is not pooled.
        }
    }
}

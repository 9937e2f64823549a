using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ModelPlatform.Storage;

public static class StorageExtensions
{
    /// <summary>
    /// Registers the service's database, brought up to date with <paramref name="migrations"/>, with a readiness health
    /// check: PostgreSQL when the connection string <paramref name="connectionName"/> is configured (the AppHost gives it
    /// on request, and always when deployed), else SQLite under the configured <see cref="StorageOptions.DataDirectory"/>.
    /// </summary>
    public static IHostApplicationBuilder AddServiceDatabase(
        this IHostApplicationBuilder builder, string connectionName, IReadOnlyList<Migration> migrations)
    {
        if (builder.Configuration.GetConnectionString(connectionName) is { Length: > 0 } connectionString)
        {
            // Aspire's client integration: pooling, and PostgreSQL's commands as spans and metrics in the dashboard.
            builder.AddNpgsqlDataSource(connectionName, settings => settings.DisableHealthChecks = true);
            builder.Services.AddSingleton(services =>
            {
                PostgresDatabases.EnsureExists(connectionString);
                return ServiceDatabase.Postgres(services.GetRequiredService<NpgsqlDataSource>(), migrations);
            });
        }
        else
        {
            builder.Services.AddOptions<StorageOptions>()
                .BindConfiguration("Storage")
                .ValidateDataAnnotations()
                .ValidateOnStart();
            builder.Services.AddSingleton(services =>
            {
                var options = services.GetRequiredService<IOptions<StorageOptions>>().Value;
                return ServiceDatabase.Sqlite(Path.GetFullPath(options.DataDirectory, builder.Environment.ContentRootPath), migrations);
            });
        }

        builder.Services.AddHealthChecks().AddCheck<ServiceDatabase>("database");
        return builder;
    }
}

namespace ModelPlatform.Feature.Datasets;

/// <summary>
/// Moves dataset versions that an earlier release stored as rows in the database into Parquet files, once, at start,
/// before the service takes requests.
/// </summary>
public sealed partial class StoredRowsImport(DatasetStore store, ILogger<StoredRowsImport> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (await store.ImportStoredRowsAsync(cancellationToken) is var imported and > 0)
        {
            LogImported(imported);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(LogLevel.Information, "Moved {Versions} dataset versions stored as rows into Parquet files")]
    private partial void LogImported(int versions);
}

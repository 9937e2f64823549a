namespace ModelPlatform.Registry.Models;

/// <summary>
/// Moves artifacts that an earlier release kept as files (<c>artifacts/{sha256}.zip</c> in the data folder) into the
/// database, once, at start: each file is stored, checked against its name, and then deleted.
/// </summary>
public sealed partial class ArtifactFileImport(ModelStore store, ILogger<ArtifactFileImport> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var folder = Path.Combine(store.DataDirectory, "artifacts");
        if (!Directory.Exists(folder))
        {
            return;
        }

        foreach (var path in Directory.EnumerateFiles(folder, "*.zip"))
        {
            await using (var file = File.OpenRead(path))
            {
                await store.ImportArtifactAsync(Path.GetFileNameWithoutExtension(path), file, cancellationToken);
            }

            File.Delete(path);
            LogImported(Path.GetFileName(path));
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(LogLevel.Information, "Moved the artifact file {File} into the registry's database")]
    private partial void LogImported(string file);
}

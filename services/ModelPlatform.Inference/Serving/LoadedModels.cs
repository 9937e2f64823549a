using System.Collections.Concurrent;
using System.Diagnostics;
using ModelPlatform.Contracts;
using ModelPlatform.ML;

namespace ModelPlatform.Inference.Serving;

/// <summary>
/// The models this process has in memory, keyed by name and version. Each version is downloaded, checked
/// and loaded once, however many requests ask for it at the same time; a failed load is forgotten so the
/// next request tries again.
/// </summary>
public sealed partial class LoadedModels(RegistryClient registry, InferenceMetrics metrics, ILogger<LoadedModels> logger)
{
    private readonly ConcurrentDictionary<(string Model, int Version), Lazy<Task<ModelPredictor>>> _models = new();

    public async Task<ModelPredictor> GetAsync(ModelVersionInfo version, CancellationToken cancellationToken)
    {
        var key = (version.ModelName, version.Version);
        var lazy = _models.GetOrAdd(key, _ => new Lazy<Task<ModelPredictor>>(() => LoadAsync(version)));
        try
        {
            return await lazy.Value.WaitAsync(cancellationToken);
        }
        catch (Exception) when (lazy.Value.IsFaulted)
        {
            _models.TryRemove(new KeyValuePair<(string, int), Lazy<Task<ModelPredictor>>>(key, lazy));
            throw;
        }
    }

    private async Task<ModelPredictor> LoadAsync(ModelVersionInfo version)
    {
        var started = Stopwatch.GetTimestamp();
        // Not tied to the request that asked first: other requests wait on the same load.
        var artifact = await registry.GetArtifactAsync(version, CancellationToken.None);
        using var stream = new MemoryStream(artifact, writable: false);
        var predictor = ModelPredictor.Load(stream, version.Signature);
        var elapsed = Stopwatch.GetElapsedTime(started);
        metrics.ModelLoaded(version, elapsed);
        LogLoaded(version.ModelName, version.Version, elapsed.TotalMilliseconds);
        return predictor;
    }

    [LoggerMessage(LogLevel.Information, "Loaded {ModelName} v{Version} in {ElapsedMs:F0} ms")]
    private partial void LogLoaded(string modelName, int version, double elapsedMs);
}

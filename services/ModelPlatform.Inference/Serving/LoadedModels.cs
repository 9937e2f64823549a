using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Options;
using ModelPlatform.Contracts;
using ModelPlatform.ML;

namespace ModelPlatform.Inference.Serving;

/// <summary>
/// The models this process has in memory, keyed by name and version. Each version is downloaded, checked, loaded and
/// warmed once, however many requests ask for it at the same time; a failed load is forgotten so the next request
/// tries again. Past <see cref="InferenceOptions.ModelMemoryBudgetMegabytes"/>, the least recently used models are
/// unloaded. Requests already holding one finish on it: it is only dropped from here, not disposed.
/// </summary>
public sealed partial class LoadedModels
{
    private readonly ConcurrentDictionary<(string Model, int Version), Entry> _models = new();
    private readonly Func<ModelVersionInfo, Task<ModelPredictor>> _load;
    private readonly long _budgetBytes;
    private readonly InferenceMetrics _metrics;
    private readonly ILogger<LoadedModels> _logger;
    private readonly Lock _evicting = new();

    public LoadedModels(ArtifactClient registry, IOptions<InferenceOptions> options, InferenceMetrics metrics, ILogger<LoadedModels> logger)
        : this(version => LoadFromRegistryAsync(registry, version), options.Value.ModelMemoryBudgetMegabytes * 1024L * 1024L, metrics, logger)
    {
    }

    internal LoadedModels(Func<ModelVersionInfo, Task<ModelPredictor>> load, long budgetBytes, InferenceMetrics metrics, ILogger<LoadedModels> logger)
    {
        _load = load;
        _budgetBytes = budgetBytes;
        _metrics = metrics;
        _logger = logger;
        metrics.ObserveLoadedModels(Snapshot);
    }

    /// <summary>
    /// The model for <paramref name="version"/>, loading it first if needed. A load that failed or timed out is
    /// forgotten, so the next request tries again; a caller that gives up leaves the load running for the others.
    /// </summary>
    public async Task<ModelPredictor> GetAsync(ModelVersionInfo version, CancellationToken cancellationToken)
    {
        var key = (version.ModelName, version.Version);
        // Looked up first: the factory's closure would otherwise be allocated on every request.
        if (!_models.TryGetValue(key, out var entry))
        {
            // Lazy: when two requests race, only the entry that wins is loaded.
            entry = _models.GetOrAdd(key, _ => new Entry(new Lazy<Task<ModelPredictor>>(() => LoadAsync(version))));
        }

        entry.Touch();
        try
        {
            return await entry.Loading.WaitAsync(cancellationToken);
        }
        catch (Exception) when (entry.Loading is { IsCompleted: true, IsCompletedSuccessfully: false })
        {
            _models.TryRemove(new KeyValuePair<(string, int), Entry>(key, entry));
            throw;
        }
    }

    /// <summary>
    /// The version's model when it is loaded and warm (marked as used, like <see cref="GetAsync"/>); false while it is
    /// loading or not loaded. The request path asks this first: a loaded model costs no task and no state machine.
    /// </summary>
    public bool TryGetLoaded(ModelVersionInfo version, [NotNullWhen(true)] out ModelPredictor? predictor)
    {
        if (_models.TryGetValue((version.ModelName, version.Version), out var entry) && entry.Loading.IsCompletedSuccessfully)
        {
            entry.Touch();
            predictor = entry.Loading.Result;
            return true;
        }

        predictor = null;
        return false;
    }

    /// <summary>Whether the version is loaded and warmed (not merely loading).</summary>
    public bool IsLoaded(string model, int version) =>
        _models.TryGetValue((model, version), out var entry) && entry.Loading.IsCompletedSuccessfully;

    /// <summary>The loaded models with their estimated size in bytes.</summary>
    public IReadOnlyList<(string Model, int Version, long Bytes)> Snapshot() =>
        [.. _models.Where(pair => pair.Value.Loading.IsCompletedSuccessfully)
            .Select(pair => (pair.Key.Model, pair.Key.Version, pair.Value.Loading.Result.SizeBytes))];

    private async Task<ModelPredictor> LoadAsync(ModelVersionInfo version)
    {
        // Not tied to the request that asked first: other requests wait on the same load.
        await Task.Yield();
        var started = Stopwatch.GetTimestamp();
        var predictor = await _load(version);
        predictor.WarmUp();
        var elapsed = Stopwatch.GetElapsedTime(started);
        _metrics.ModelLoaded(version, elapsed);
        LogLoaded(version.ModelName, version.Version, elapsed.TotalMilliseconds, predictor.SizeBytes / 1024.0 / 1024.0);
        EvictPast(predictor.SizeBytes, (version.ModelName, version.Version));
        return predictor;
    }

    private static async Task<ModelPredictor> LoadFromRegistryAsync(ArtifactClient registry, ModelVersionInfo version)
    {
        var artifact = await registry.GetArtifactAsync(version, CancellationToken.None);
        using var stream = new MemoryStream(artifact, writable: false);
        return ModelPredictor.Load(stream, version.Signature, version.Onnx);
    }

    /// <summary>Unloads the least recently used models until the others and the one just loaded fit the budget.</summary>
    private void EvictPast(long loadedBytes, (string, int) justLoaded)
    {
        lock (_evicting)
        {
            var others = _models
                .Where(pair => !pair.Key.Equals(justLoaded) && pair.Value.Loading.IsCompletedSuccessfully)
                .OrderBy(pair => pair.Value.LastUsed)
                .ToList();
            var total = loadedBytes + others.Sum(pair => pair.Value.Loading.Result.SizeBytes);
            foreach (var (key, entry) in others)
            {
                if (total <= _budgetBytes)
                {
                    break;
                }

                if (_models.TryRemove(new KeyValuePair<(string, int), Entry>(key, entry)))
                {
                    total -= entry.Loading.Result.SizeBytes;
                    _metrics.ModelEvicted(key.Model, key.Version);
                    LogEvicted(key.Model, key.Version, _budgetBytes / 1024.0 / 1024.0);
                }
            }
        }
    }

    private sealed class Entry(Lazy<Task<ModelPredictor>> loading)
    {
        private long _lastUsed = Stopwatch.GetTimestamp();

        public Task<ModelPredictor> Loading => loading.Value;

        public long LastUsed => Volatile.Read(ref _lastUsed);

        public void Touch() => Volatile.Write(ref _lastUsed, Stopwatch.GetTimestamp());
    }

    [LoggerMessage(LogLevel.Information, "Loaded and warmed {ModelName} v{Version} in {ElapsedMs:F0} ms ({SizeMb:F1} MB)")]
    private partial void LogLoaded(string modelName, int version, double elapsedMs, double sizeMb);

    [LoggerMessage(LogLevel.Information, "Unloaded {ModelName} v{Version}, the least recently used model, to stay within {BudgetMb:F0} MB")]
    private partial void LogEvicted(string modelName, int version, double budgetMb);
}

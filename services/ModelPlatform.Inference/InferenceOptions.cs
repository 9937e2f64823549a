using System.ComponentModel.DataAnnotations;

namespace ModelPlatform.Inference;

public sealed class InferenceOptions
{
    /// <summary>How long a resolved alias is trusted without an event confirming it, in seconds.</summary>
    [Range(1, 86_400)]
    public int AliasCacheSeconds { get; set; } = 300;

    /// <summary>The most records (rows) one JSON or Open Inference Protocol request may carry.</summary>
    [Range(1, 1_000_000)]
    public int MaxRecordsPerRequest { get; set; } = 10_000;

    /// <summary>
    /// The most records one request may ask to have explained (<c>?explain=true</c>): a Shapley explanation scores up to 2,048
    /// rows for each record.
    /// </summary>
    [Range(1, 10_000)]
    public int MaxExplainedRecords { get; set; } = 100;

    /// <summary>The largest JSON body a predict or infer request may send, in bytes.</summary>
    [Range(1024, 1L << 30)]
    public long MaxJsonBytes { get; set; } = 16 << 20;

    /// <summary>The largest CSV file one bulk-scoring request may send, in bytes. It is streamed, never held in memory.</summary>
    [Range(1024, 1L << 40)]
    public long MaxCsvBytes { get; set; } = 1L << 30;

    /// <summary>
    /// How much memory the loaded models may take together, in megabytes (estimated from their artifacts' uncompressed
    /// size). Past it, the least recently used models are unloaded; they load again on their next request.
    /// </summary>
    [Range(1, 1_048_576)]
    public int ModelMemoryBudgetMegabytes { get; set; } = 2048;

    /// <summary>
    /// Models whose predictions are cached in Redis, each with the cache's time to live in seconds
    /// (for example <c>"InferenceOptions:PredictionCacheSeconds:churn": 600</c>). Off for every other model.
    /// </summary>
    public Dictionary<string, int> PredictionCacheSeconds { get; set; } = [];

    /// <summary>How many shadow requests may wait to be scored; past it, copies are dropped rather than slow the answers.</summary>
    [Range(1, 1_000_000)]
    public int ShadowQueueLength { get; set; } = 1000;

    /// <summary>
    /// How many of the rows each model version is sent are kept per window, a uniform (reservoir) sample in Redis shared by
    /// the replicas, for drift against the version's training set. 0 keeps none.
    /// </summary>
    [Range(0, 10_000)]
    public int DriftSampleSize { get; set; } = 1000;

    /// <summary>How long a sample window lasts, in minutes: drift compares the current window, or the one before it.</summary>
    [Range(1, 525_600)]
    public int DriftWindowMinutes { get; set; } = 1440;

    /// <summary>
    /// How often each replica checks the models it has loaded for drift, in minutes, and updates the drift metrics. 0 checks
    /// only when asked (<c>GET /models/{name}/versions/{version}/drift</c>).
    /// </summary>
    [Range(0, 525_600)]
    public int DriftCheckMinutes { get; set; } = 60;

    /// <summary>
    /// How often each replica adds the live traffic it counted (requests, errors, rows, latencies per version) to the totals
    /// in Redis, in seconds: <c>GET /models/{name}/versions/{version}/live</c> lags by about this much.
    /// </summary>
    [Range(1, 3600)]
    public int LiveTrafficFlushSeconds { get; set; } = 1;
}

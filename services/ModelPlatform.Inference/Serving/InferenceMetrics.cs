using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using ModelPlatform.Contracts;
using ModelPlatform.Features.Statistics;

namespace ModelPlatform.Inference.Serving;

/// <summary>Serving metrics, shown in the Aspire dashboard under the ModelPlatform.Inference meter.</summary>
public sealed class InferenceMetrics
{
    public const string MeterName = "ModelPlatform.Inference";

    // Scoring takes microseconds to seconds; the default buckets start at 5 s.
    private static readonly InstrumentAdvice<double> SecondsAdvice = new()
    {
        HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    };

    private readonly Meter _meter;
    private readonly Counter<long> _requests;
    private readonly Counter<long> _rows;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _cacheLookups;
    private readonly Histogram<double> _loadTime;
    private readonly Counter<long> _evictions;
    private readonly Counter<long> _shadowRows;
    private readonly Counter<long> _shadowDropped;
    private readonly Counter<long> _sampleDropped;
    private readonly Histogram<double> _explanationDuration;
    private readonly ConcurrentDictionary<string, CacheTally> _cacheTallies = new();
    private readonly ConcurrentDictionary<(string Model, int Version), DatasetDrift> _drift = new();
    private readonly ConcurrentDictionary<(string Model, int Version, string Protocol), KeyValuePair<string, object?>[]> _scoredTags = new();

    public InferenceMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(MeterName);
        _requests = _meter.CreateCounter<long>("modelplatform.inference.requests", unit: "{request}",
            description: "Scoring requests answered, by model, version and protocol");
        _rows = _meter.CreateCounter<long>("modelplatform.inference.rows", unit: "{row}", description: "Records scored, by model, version and protocol");
        _duration = _meter.CreateHistogram("modelplatform.inference.duration", unit: "s",
            description: "Time to score one request's records, cache lookups included", advice: SecondsAdvice);
        _cacheLookups = _meter.CreateCounter<long>("modelplatform.inference.prediction_cache.lookups", unit: "{row}",
            description: "Prediction cache lookups, by model and result (hit or miss)");
        _meter.CreateObservableGauge("modelplatform.inference.prediction_cache.hit_ratio", ObserveHitRatios, unit: "1",
            description: "Share of prediction cache lookups that hit, since the process started");
        _loadTime = _meter.CreateHistogram("modelplatform.inference.model_load.duration", unit: "s",
            description: "Time to download, verify, load and warm a model version", advice: SecondsAdvice);
        _evictions = _meter.CreateCounter<long>("modelplatform.inference.model_evictions", unit: "{model}",
            description: "Models unloaded to stay within the memory budget");
        _shadowRows = _meter.CreateCounter<long>("modelplatform.inference.shadow.rows", unit: "{row}",
            description: "Rows a shadow version scored, by whether its answer agreed with the one returned");
        _shadowDropped = _meter.CreateCounter<long>("modelplatform.inference.shadow.dropped", unit: "{request}",
            description: "Copies of requests not sent to a shadow version because its queue was full");
        _explanationDuration = _meter.CreateHistogram("modelplatform.inference.explanation.duration", unit: "s",
            description: "Time to explain one request's predictions, by model, version and method", advice: SecondsAdvice);
        _sampleDropped = _meter.CreateCounter<long>("modelplatform.inference.drift.sample_dropped", unit: "{request}",
            description: "Requests whose rows were not offered to the drift sample because its queue was full");
        _meter.CreateObservableGauge("modelplatform.inference.drift.share",
            () => ObserveDrift(drift => drift.DriftedShare), unit: "1",
            description: "Share of a model version's compared inputs that drifted from its training data, at its last drift check");
        _meter.CreateObservableGauge("modelplatform.inference.drift.columns",
            () => ObserveDrift(drift => drift.DriftedColumns), unit: "{column}",
            description: "A model version's inputs that drifted from its training data, at its last drift check");
    }

    public void Scored(string model, int version, string protocol, int rows, TimeSpan elapsed)
    {
        // One tag array per model version and protocol, made once: nothing is built or boxed per request.
        var tags = _scoredTags.GetOrAdd((model, version, protocol), static key =>
            [new("model", key.Model), new("version", key.Version), new("protocol", key.Protocol)]);

        _requests.Add(1, tags);
        _rows.Add(rows, tags);
        _duration.Record(elapsed.TotalSeconds, tags);
    }

    public void CacheLookups(string model, int hits, int misses)
    {
        _cacheLookups.Add(hits, new TagList { { "model", model }, { "result", "hit" } });
        _cacheLookups.Add(misses, new TagList { { "model", model }, { "result", "miss" } });
        var tally = _cacheTallies.GetOrAdd(model, _ => new CacheTally());
        Interlocked.Add(ref tally.Hits, hits);
        Interlocked.Add(ref tally.Lookups, hits + misses);
    }

    public void ModelLoaded(ModelVersionInfo version, TimeSpan elapsed) =>
        _loadTime.Record(elapsed.TotalSeconds, new TagList { { "model", version.ModelName }, { "version", version.Version } });

    public void Explained(ModelVersionInfo version, string method, TimeSpan elapsed) =>
        _explanationDuration.Record(elapsed.TotalSeconds, new TagList { { "model", version.ModelName }, { "version", version.Version }, { "method", method } });

    public void ModelEvicted(string model, int version) =>
        _evictions.Add(1, new TagList { { "model", model }, { "version", version } });

    /// <summary>Reports the loaded models' estimated memory, one measurement per model version.</summary>
    public void ObserveLoadedModels(Func<IReadOnlyList<(string Model, int Version, long Bytes)>> loaded) =>
        _meter.CreateObservableGauge("modelplatform.inference.models.memory",
            () => loaded().Select(model => new Measurement<long>(model.Bytes, new TagList { { "model", model.Model }, { "version", model.Version } })),
            unit: "By",
            description: "Estimated memory of each loaded model version (its artifact's uncompressed size)");

    public void ShadowScored(string model, int shadowVersion, int agreed, int disagreed)
    {
        _shadowRows.Add(agreed, new TagList { { "model", model }, { "version", shadowVersion }, { "outcome", "agreed" } });
        _shadowRows.Add(disagreed, new TagList { { "model", model }, { "version", shadowVersion }, { "outcome", "disagreed" } });
    }

    public void ShadowDropped(string model) => _shadowDropped.Add(1, new KeyValuePair<string, object?>("model", model));

    public void SampleDropped(string model) => _sampleDropped.Add(1, new KeyValuePair<string, object?>("model", model));

    /// <summary>Keeps a version's latest drift for the drift gauges.</summary>
    public void DriftMeasured(string model, int version, DatasetDrift drift) => _drift[(model, version)] = drift;

    private IEnumerable<Measurement<double>> ObserveDrift(Func<DatasetDrift, double> value) =>
        _drift.Select(pair => new Measurement<double>(value(pair.Value), new TagList { { "model", pair.Key.Model }, { "version", pair.Key.Version } }));

    private IEnumerable<Measurement<double>> ObserveHitRatios() =>
        _cacheTallies.Where(pair => Interlocked.Read(ref pair.Value.Lookups) > 0)
            .Select(pair => new Measurement<double>(
                (double)Interlocked.Read(ref pair.Value.Hits) / Interlocked.Read(ref pair.Value.Lookups),
                new KeyValuePair<string, object?>("model", pair.Key)));

    private sealed class CacheTally
    {
        public long Hits;
        public long Lookups;
    }
}

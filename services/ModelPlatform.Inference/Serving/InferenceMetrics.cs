using System.Diagnostics;
using System.Diagnostics.Metrics;
using ModelPlatform.Contracts;

namespace ModelPlatform.Inference.Serving;

/// <summary>Serving metrics, shown in the Aspire dashboard under the ModelPlatform.Inference meter.</summary>
public sealed class InferenceMetrics
{
    public const string MeterName = "ModelPlatform.Inference";

    private readonly Counter<long> _rows;
    private readonly Histogram<double> _latency;
    private readonly Histogram<double> _loadTime;

    public InferenceMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _rows = meter.CreateCounter<long>("modelplatform.inference.rows", unit: "{row}", description: "Records scored");
        _latency = meter.CreateHistogram<double>("modelplatform.inference.duration", unit: "s", description: "Time to score one request, from parsed body to predictions");
        _loadTime = meter.CreateHistogram<double>("modelplatform.inference.model_load.duration", unit: "s", description: "Time to download, verify and load a model version");
    }

    public void Scored(string model, int version, int rows, TimeSpan elapsed)
    {
        var tags = new TagList { { "model", model }, { "version", version } };
        _rows.Add(rows, tags);
        _latency.Record(elapsed.TotalSeconds, tags);
    }

    public void ModelLoaded(ModelVersionInfo version, TimeSpan elapsed) =>
        _loadTime.Record(elapsed.TotalSeconds, new TagList { { "model", version.ModelName }, { "version", version.Version } });
}

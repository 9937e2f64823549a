using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using ModelPlatform.Contracts;
using ModelPlatform.ML;

namespace ModelPlatform.Inference.Serving;

/// <summary>A request's records and the answers returned, to be scored again by the alias's shadow version.</summary>
public sealed record ShadowCopy(ModelVersionInfo Answered, int ShadowVersion, IReadOnlyList<ModelRecord> Records, IReadOnlyList<Prediction> Answers);

/// <summary>
/// Sends copies of requests to shadow versions off the request path: a bounded queue (copies are dropped, and counted,
/// when it is full, so a slow shadow never slows an answer) and one background scorer. Each copy is compared row by row
/// with the answers returned: the same label (classifiers), and the absolute difference of the probability or value.
/// Totals go to Redis through <see cref="ShadowTotals"/> (<c>GET /models/{name}/shadow</c> reads them), and to the
/// <c>modelplatform.inference.shadow.rows</c> metric.
/// </summary>
public sealed partial class ShadowTraffic(
    ModelCatalog catalog,
    LoadedModels models,
    ShadowTotals totals,
    InferenceMetrics metrics,
    IOptions<InferenceOptions> options,
    ILogger<ShadowTraffic> logger) : BackgroundService
{
    private readonly Channel<ShadowCopy> _queue = Channel.CreateBounded<ShadowCopy>(
        new BoundedChannelOptions(options.Value.ShadowQueueLength) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    public void Send(ShadowCopy copy)
    {
        if (!_queue.Writer.TryWrite(copy))
        {
            metrics.ShadowDropped(copy.Answered.ModelName);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var copy in _queue.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                await ScoreAsync(copy, stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                LogShadowFailed(ex, copy.Answered.ModelName, copy.ShadowVersion);
            }
        }
    }

    private async Task ScoreAsync(ShadowCopy copy, CancellationToken cancellationToken)
    {
        var model = copy.Answered.ModelName;
        var shadow = await catalog.GetVersionAsync(model, copy.ShadowVersion, cancellationToken)
            ?? throw new InvalidOperationException($"The registry has no {model} v{copy.ShadowVersion}.");
        if (!SameInputs(copy.Answered.Signature, shadow.Signature))
        {
            throw new InvalidOperationException($"{model} v{copy.ShadowVersion} takes other inputs than v{copy.Answered.Version}; it cannot shadow it.");
        }

        var predictor = await models.GetAsync(shadow, cancellationToken);
        var answers = predictor.Predict(copy.Records);
        var (agreed, absoluteDifference) = Compare(copy.Answers, answers);
        metrics.ShadowScored(model, copy.ShadowVersion, agreed, answers.Length - agreed);
        await totals.AddAsync(model, copy.Answered.Version, copy.ShadowVersion, answers.Length, agreed, absoluteDifference);
    }

    /// <summary>
    /// Rows whose answers agree (same label; for regression, the same value to 1e-6), and the summed difference per row:
    /// of the probability (binary), of the class distributions (multiclass, total variation), or of the value.
    /// </summary>
    internal static (int Agreed, double AbsoluteDifference) Compare(IReadOnlyList<Prediction> answered, IReadOnlyList<Prediction> shadow)
    {
        var agreed = 0;
        var difference = 0.0;
        for (var i = 0; i < answered.Count; i++)
        {
            var (a, b) = (answered[i], shadow[i]);
            if (a.Value is { } value)
            {
                var delta = Math.Abs(value - b.Value!.Value);
                difference += delta;
                agreed += delta <= 1e-6 * Math.Max(1, Math.Abs(value)) ? 1 : 0;
                continue;
            }

            agreed += SameLabel(a.Label, b.Label) ? 1 : 0;
            if (a.Probability is { } probability)
            {
                difference += Math.Abs(probability - b.Probability!.Value);
            }
            else if (a.Scores is { } scores)
            {
                // How far apart the two class distributions are: half the summed differences (0 same, 1 disjoint).
                difference += scores.Sum(score => Math.Abs(score.Value - b.Scores!.GetValueOrDefault(score.Key))) / 2;
            }
        }

        return (agreed, difference);
    }

    // A label read back from the prediction cache is a JsonElement; compare what each would write.
    private static bool SameLabel(object? a, object? b) =>
        JsonSerializer.Serialize(a, JsonSerializerOptions.Web) == JsonSerializer.Serialize(b, JsonSerializerOptions.Web);

    private static bool SameInputs(ModelSignature a, ModelSignature b) => a.Inputs.SequenceEqual(b.Inputs);

    [LoggerMessage(LogLevel.Warning, "Shadow scoring of {ModelName} v{ShadowVersion} failed")]
    private partial void LogShadowFailed(Exception exception, string modelName, int shadowVersion);
}

using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using ModelPlatform.Contracts;
using ModelPlatform.ML;

namespace ModelPlatform.Inference.Serving;

/// <summary>A request's records and the answers returned, to be scored again by the alias's shadow version.</summary>
public sealed record ShadowCopy(ModelVersionInfo Answered, int ShadowVersion, IReadOnlyList<ModelRecord> Records, IReadOnlyList<Prediction> Answers);

/// <summary>How a shadow version compares with the version that answered, over every copy it has scored.</summary>
public sealed record ShadowComparison(
    int AnsweredVersion, int ShadowVersion, long Rows, long Agreed, double Agreement, double MeanAbsoluteDifference);

/// <summary>
/// Sends copies of requests to shadow versions off the request path: a bounded queue (copies are dropped, and counted,
/// when it is full, so a slow shadow never slows an answer) and one background scorer. Each copy is compared row by row
/// with the answers returned: the same label (classifiers), and the absolute difference of the probability or value.
/// Totals go to Redis, shared by every replica (<c>GET /models/{name}/shadow</c> reads them), and to the
/// <c>modelplatform.inference.shadow.rows</c> metric.
/// </summary>
public sealed partial class ShadowTraffic(
    ModelCatalog catalog,
    LoadedModels models,
    RedisCache redis,
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

    /// <summary>Every answered/shadow version pair of the model with its totals; null when Redis, which keeps them, is unreachable.</summary>
    public Task<List<ShadowComparison>?> ComparisonsAsync(string model) =>
        redis.TryAsync(async db =>
        {
            var pairs = await db.SetMembersAsync(PairsKey(model));
            var comparisons = new List<ShadowComparison>();
            foreach (var pair in pairs.Select(pair => ((string)pair!).Split(':')).OrderBy(pair => pair[0]).ThenBy(pair => pair[1]))
            {
                var totals = (await db.HashGetAllAsync(TotalsKey(model, int.Parse(pair[0]), int.Parse(pair[1])))).ToDictionary(
                    entry => (string)entry.Name!, entry => (double)entry.Value);
                var rows = (long)totals.GetValueOrDefault("rows");
                var agreed = (long)totals.GetValueOrDefault("agreed");
                comparisons.Add(new ShadowComparison(int.Parse(pair[0]), int.Parse(pair[1]), rows, agreed,
                    rows == 0 ? 0 : (double)agreed / rows, rows == 0 ? 0 : totals.GetValueOrDefault("absolute_difference") / rows));
            }

            return comparisons;
        });

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
        await redis.TryAsync(async db =>
        {
            var totals = TotalsKey(model, copy.Answered.Version, copy.ShadowVersion);
            await db.SetAddAsync(PairsKey(model), $"{copy.Answered.Version}:{copy.ShadowVersion}");
            await db.HashIncrementAsync(totals, "rows", answers.Length);
            await db.HashIncrementAsync(totals, "agreed", agreed);
            return await db.HashIncrementAsync(totals, "absolute_difference", absoluteDifference);
        });
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

    private static string PairsKey(string model) => $"modelplatform:inference:shadow:{model}";

    private static string TotalsKey(string model, int answered, int shadow) => $"modelplatform:inference:shadow:{model}:{answered}:{shadow}";

    [LoggerMessage(LogLevel.Warning, "Shadow scoring of {ModelName} v{ShadowVersion} failed")]
    private partial void LogShadowFailed(Exception exception, string modelName, int shadowVersion);
}

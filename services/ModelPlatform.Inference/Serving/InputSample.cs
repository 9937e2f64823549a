using System.Buffers;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using ModelPlatform.Contracts;
using ModelPlatform.ML;
using StackExchange.Redis;

namespace ModelPlatform.Inference.Serving;

/// <summary>
/// A window's sample of the rows a model version was sent: when the window starts and ends, how many rows the version
/// scored in it (on every replica), and the sample, column by column in the signature's order.
/// </summary>
public sealed record InputSampleWindow(DateTimeOffset Start, DateTimeOffset End, long ScoredRows, int SampledRows, IReadOnlyList<ColumnSample> Columns);

/// <summary>
/// Keeps a bounded, uniform sample of the rows each model version is sent, per window, for drift against its training set.
/// The sample is a reservoir in Redis: one hash per version and window, holding the rows claimed so far (counted with
/// HINCRBY, so every replica's rows take their own positions in the stream), the rows scored (written with their slots)
/// and <see cref="InferenceOptions.DriftSampleSize"/> slots.
/// Rows are offered off the request path through a bounded queue (dropped, and counted, when it is full), and written in
/// batches by one background writer; a row costs the request a queue write, and is encoded only if it takes a slot.
/// </summary>
public sealed partial class InputSample(
    RedisCache redis, TimeProvider clock, InferenceMetrics metrics, IOptions<InferenceOptions> options, ILogger<InputSample> logger)
    : BackgroundService
{
    private const string ClaimedField = "claimed";
    private const string ScoredField = "scored";
    private const int QueueLength = 1000;
    private const int MaxBatch = 256;

    private readonly Channel<(ModelVersionInfo Version, IReadOnlyList<ModelRecord> Records)> _queue =
        Channel.CreateBounded<(ModelVersionInfo, IReadOnlyList<ModelRecord>)>(
            new BoundedChannelOptions(QueueLength) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    private readonly int _size = options.Value.DriftSampleSize;
    private readonly TimeSpan _window = TimeSpan.FromMinutes(options.Value.DriftWindowMinutes);

    /// <summary>Offers a request's rows, as the version read them, to its sample.</summary>
    public void Offer(ModelVersionInfo version, IReadOnlyList<ModelRecord> records)
    {
        if (_size > 0 && records.Count > 0 && !_queue.Writer.TryWrite((version, records)))
        {
            metrics.SampleDropped(version.ModelName);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<(ModelVersionInfo Version, IReadOnlyList<ModelRecord> Records)>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync(stoppingToken))
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var offered))
            {
                batch.Add(offered);
            }

            try
            {
                await AddAsync(batch);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                LogSampleFailed(ex);
            }
        }
    }

    /// <summary>Adds rows to their versions' samples: one increment and at most one write per version in the batch.</summary>
    internal async Task AddAsync(IReadOnlyList<(ModelVersionInfo Version, IReadOnlyList<ModelRecord> Records)> batch)
    {
        var now = clock.GetUtcNow();
        var window = WindowStart(now);
        foreach (var offered in batch.GroupBy(item => (item.Version.ModelName, item.Version.Version)))
        {
            var version = offered.First().Version;
            var rows = offered.SelectMany(item => item.Records).ToList();
            var key = Key(version.ModelName, version.Version, window);
            await redis.TryAsync(async db =>
            {
                // Each row takes its own position in the stream, whichever replica scored it.
                var claimed = await db.HashIncrementAsync(key, ClaimedField, rows.Count);
                var slots = Reservoir.Slots(claimed - rows.Count, rows.Count, _size, Random.Shared);
                // The rows and their count land together, so a reader never counts rows whose slots are not written yet.
                var transaction = db.CreateTransaction();
                _ = transaction.HashSetAsync(key, [.. slots.Select(slot => new HashEntry(slot.Key, Encode(version.Signature.Inputs, rows[slot.Value])))]);
                _ = transaction.HashIncrementAsync(key, ScoredField, rows.Count);
                // Kept through the next window, so the one before it can be read there. A time to live rather than a time
                // of expiry: Redis's clock need not agree with this one.
                _ = transaction.KeyExpireAsync(key, window + 2 * _window - now);
                return await transaction.ExecuteAsync();
            });
        }
    }

    /// <summary>The current window's sample of the version, or the previous one's; null when Redis is unreachable.</summary>
    public async Task<InputSampleWindow?> ReadAsync(ModelVersionInfo version, bool previous)
    {
        var start = WindowStart(clock.GetUtcNow()) - (previous ? _window : TimeSpan.Zero);
        var entries = await redis.TryAsync(db => db.HashGetAllAsync(Key(version.ModelName, version.Version, start)));
        if (entries is null)
        {
            return null;
        }

        var inputs = version.Signature.Inputs;
        var columns = inputs.Select(_ => new List<JsonElement>()).ToList();
        var (scored, sampled) = (0L, 0);
        foreach (var entry in entries)
        {
            if (entry.Name == ScoredField)
            {
                scored = (long)entry.Value;
                continue;
            }

            if (entry.Name == ClaimedField)
            {
                continue;
            }

            sampled++;
            using var row = JsonDocument.Parse((string)entry.Value!);
            for (var c = 0; c < inputs.Count; c++)
            {
                columns[c].Add(row.RootElement[c].Clone());
            }
        }

        return new InputSampleWindow(start, start + _window, scored, sampled, [.. inputs.Select((input, c) => new ColumnSample(input.Name, columns[c]))]);
    }

    /// <summary>
    /// A row as a JSON array in the signature's order, with the values a dataset holds: numbers, true/false for booleans,
    /// strings for labels, and null for a missing value (NaN, or an empty label, as the model read them).
    /// </summary>
    internal static string Encode(IReadOnlyList<ColumnSchema> inputs, ModelRecord record)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            for (var c = 0; c < inputs.Count; c++)
            {
                var (number, text) = (record.Numbers[c], record.Texts[c]);
                switch (inputs[c].Type)
                {
                    case not (ColumnType.Numeric or ColumnType.Boolean) when text.Length > 0:
                        writer.WriteStringValue(text);
                        break;
                    case ColumnType.Numeric when float.IsFinite(number):
                        writer.WriteNumberValue(number);
                        break;
                    case ColumnType.Boolean when !float.IsNaN(number):
                        writer.WriteBooleanValue(number != 0);
                        break;
                    default:
                        writer.WriteNullValue();
                        break;
                }
            }

            writer.WriteEndArray();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private DateTimeOffset WindowStart(DateTimeOffset now) =>
        DateTimeOffset.UnixEpoch + _window * Math.Floor((now - DateTimeOffset.UnixEpoch) / _window);

    private static string Key(string model, int version, DateTimeOffset window) =>
        $"modelplatform:inference:sample:{model}:{version}:{window.ToUnixTimeSeconds()}";

    [LoggerMessage(LogLevel.Warning, "Adding rows to the drift samples failed")]
    private partial void LogSampleFailed(Exception exception);
}

using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using ModelPlatform.Contracts;
using ModelPlatform.ML;
using StackExchange.Redis;

namespace ModelPlatform.Inference.Serving;

/// <summary>
/// Predictions cached in Redis for the models that opt in (<see cref="InferenceOptions.PredictionCacheSeconds"/>),
/// one entry per row. The key is the model version plus a SHA-256 of the row's values in the signature's column order,
/// so the same record hits however its JSON was written (key order, spacing, 1 or 1.0) and whichever protocol sent it.
/// </summary>
public sealed class PredictionCache(RedisCache redis, IOptions<InferenceOptions> options, InferenceMetrics metrics)
{
    public ValueTask<Prediction[]> PredictAsync(ModelVersionInfo version, ModelPredictor predictor, IReadOnlyList<ModelRecord> records) =>
        // Most models do not cache: they are scored at once, with no state machine or closure on the request path.
        options.Value.PredictionCacheSeconds.TryGetValue(version.ModelName, out var ttlSeconds) && redis.IsAvailable
            ? PredictCachedAsync(version, predictor, records, ttlSeconds)
            : ValueTask.FromResult(predictor.Predict(records));

    private async ValueTask<Prediction[]> PredictCachedAsync(
        ModelVersionInfo version, ModelPredictor predictor, IReadOnlyList<ModelRecord> records, int ttlSeconds)
    {

        var keys = new RedisKey[records.Count];
        for (var i = 0; i < records.Count; i++)
        {
            keys[i] = Key(version, records[i]);
        }

        var cached = await redis.TryAsync(db => db.StringGetAsync(keys));
        if (cached is null)
        {
            return predictor.Predict(records);
        }

        var predictions = new Prediction[records.Count];
        var misses = new List<int>();
        for (var i = 0; i < records.Count; i++)
        {
            if (cached[i].HasValue)
            {
                predictions[i] = JsonSerializer.Deserialize<Prediction>((string)cached[i]!, JsonSerializerOptions.Web)!;
            }
            else
            {
                misses.Add(i);
            }
        }

        metrics.CacheLookups(version.ModelName, records.Count - misses.Count, misses.Count);
        if (misses.Count == 0)
        {
            return predictions;
        }

        var scored = predictor.Predict(misses.Select(i => records[i]).ToList());
        for (var m = 0; m < misses.Count; m++)
        {
            predictions[misses[m]] = scored[m];
        }

        var ttl = TimeSpan.FromSeconds(ttlSeconds);
        await redis.TryAsync(async db =>
        {
            var batch = db.CreateBatch();
            var writes = misses.Select(i => batch.StringSetAsync(keys[i], JsonSerializer.Serialize(predictions[i], JsonSerializerOptions.Web), ttl)).ToList();
            batch.Execute();
            return await Task.WhenAll(writes);
        });

        return predictions;
    }

    /// <summary>The row's cache key: <c>modelplatform:inference:prediction:{model}:{version}:{sha256 of its values}</c>.</summary>
    public static string Key(ModelVersionInfo version, ModelRecord record)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> number = stackalloc byte[4];
        var inputs = version.Signature.Inputs;
        for (var c = 0; c < inputs.Count; c++)
        {
            if (ColumnValues.IsNumeric(inputs[c].Type))
            {
                // Every NaN (a missing value) is the same value.
                var value = float.IsNaN(record.Numbers[c]) ? float.NaN : record.Numbers[c];
                BinaryPrimitives.WriteSingleLittleEndian(number, value);
                hash.AppendData(number);
            }
            else
            {
                // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
                var text = Encoding.UTF8.GetBytes(record.Texts[c]);
                BinaryPrimitives.WriteInt32LittleEndian(number, text.Length);
                hash.AppendData(number);
                hash.AppendData(text);
            }
        }

        return $"modelplatform:inference:prediction:{version.ModelName}:{version.Version}:{Convert.ToHexStringLower(hash.GetHashAndReset())}";
    }
}

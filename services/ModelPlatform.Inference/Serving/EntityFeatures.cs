using System.Buffers;
using System.Text.Json;
using ModelPlatform.Contracts;
using ModelPlatform.Features.Online;

namespace ModelPlatform.Inference.Serving;

/// <summary>
/// The records of an entity-key request: for each entity, the model's features read from the online store, beside the
/// request-time columns the caller sent. <see cref="Missing"/> says, per record, which features the model will impute.
/// </summary>
public sealed class EntityRecords(JsonDocument records, OnlineFeatureTable features, IReadOnlyList<IReadOnlyDictionary<string, FeatureStatus>> missing)
    : IDisposable
{
    /// <summary>One JSON object per entity, with every input of the model: what <c>records</c> would have held.</summary>
    public IReadOnlyList<JsonElement> Records { get; } = [.. records.RootElement.EnumerateArray()];

    /// <summary>Every value read, with its status, in the online store's own shape.</summary>
    public OnlineFeatureTable Features { get; } = features;

    /// <summary>Per record, each feature that was not present (so a missing value to the model), and why.</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, FeatureStatus>> Missing { get; } = missing;

    public void Dispose() => records.Dispose();
}

/// <summary>
/// Serves a model trained from a feature service by entity key: its features are read from the online store in Redis in
/// one pipelined batch, by the keys, views and TTLs its training set's lineage names (the TTL it was trained with, so a
/// value too old is missing exactly as it was in training). A value not found, null or past its TTL becomes a missing
/// value, which the model imputes as it learned to; never an error, and never a stale value.
/// </summary>
public sealed class EntityFeatures(OnlineStore online)
{
    /// <summary>
    /// Reads the features of every entity in <paramref name="entities"/> (each join key and request-time column a list of
    /// values, all of one length) for a model with <paramref name="inputs"/>. Null with the problems, by field, when the
    /// request cannot be read.
    /// </summary>
    public async Task<(EntityRecords? Records, Dictionary<string, string[]>? Problems)> ReadAsync(
        TrainingSetLineage trainingSet, IReadOnlyList<ColumnSchema> inputs, JsonElement entities, int maxEntities, CancellationToken cancellationToken)
    {
        if (Columns(entities, maxEntities, out var count) is { } shapeProblem)
        {
            return (null, new() { ["entities"] = [shapeProblem] });
        }

        var featureColumns = trainingSet.Views
            .SelectMany(view => view.Features.Select(feature => (feature.Column, Reference: $"{view.View}:{feature.Feature}")))
            .ToDictionary(feature => feature.Column, feature => feature.Reference);
        var joinKeys = trainingSet.JoinKeys.ToList();
        var problems = new Dictionary<string, string[]>();
        foreach (var key in joinKeys.Where(key => !entities.TryGetProperty(key, out _)))
        {
            problems[$"entities.{key}"] = [$"is missing: the model's features are found by {string.Join(", ", joinKeys)}"];
        }

        foreach (var input in inputs.Where(input => !featureColumns.ContainsKey(input.Name) && !entities.TryGetProperty(input.Name, out _)))
        {
            problems[$"entities.{input.Name}"] =
                [$"is missing: the model reads this {input.Type.ToString().ToLowerInvariant()} column from the request (send null for an unknown value)"];
        }

        if (problems.Count > 0)
        {
            return (null, problems);
        }

        var keys = Enumerable.Range(0, count)
            .Select(row => (IReadOnlyDictionary<string, object?>)joinKeys.ToDictionary(key => key, key => (object?)entities.GetProperty(key)[row]))
            .ToList();
        var requests = trainingSet.Views
            .Select(view => new OnlineFeatureRequest(
                new OnlineView(view.View, view.JoinKeys, TimeSpan.FromSeconds(view.TtlSeconds)), [.. view.Features.Select(feature => feature.Feature)]))
            .ToList();
        OnlineFeatureTable table;
        try
        {
            table = await online.ReadAsync(requests, keys, cancellationToken);
        }
        catch (ArgumentException ex)
        {
            return (null, new() { ["entities"] = [ex.Message] });
        }

        return (new EntityRecords(Records(inputs, featureColumns, table, entities, count), table, Missing(table, count)), null);
    }

    /// <summary>What is wrong with the shape of <paramref name="entities"/>, or null; <paramref name="count"/> is the number of entities.</summary>
    private static string? Columns(JsonElement entities, int maxEntities, out int count)
    {
        count = 0;
        if (entities.ValueKind != JsonValueKind.Object)
        {
            return "must be an object mapping each join key (and request-time column) to a list of values";
        }

        var lengths = entities.EnumerateObject()
            .Select(column => column.Value.ValueKind == JsonValueKind.Array ? column.Value.GetArrayLength() : -1)
            .Distinct()
            .ToList();
        if (lengths is not [var length and > 0])
        {
            return "give each join key and request-time column a non-empty list of values, all of one length";
        }

        count = length;
        return length > maxEntities ? $"has {length} entities; at most {maxEntities} are allowed per request" : null;
    }

    /// <summary>The model's records as JSON, each input from the store (null unless present) or from the request.</summary>
    private static JsonDocument Records(
        IReadOnlyList<ColumnSchema> inputs, Dictionary<string, string> featureColumns, OnlineFeatureTable table, JsonElement entities, int count)
    {
        // Where each input comes from, found once rather than once per row: a feature's values, or the request's list.
        var sources = inputs
            .Select(input => featureColumns.TryGetValue(input.Name, out var reference)
                ? new InputSource(JsonEncodedText.Encode(input.Name), table[reference].Values, default)
                : new InputSource(JsonEncodedText.Encode(input.Name), null, entities.GetProperty(input.Name)))
            .ToArray();
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            for (var row = 0; row < count; row++)
            {
                writer.WriteStartObject();
                foreach (var (name, stored, sent) in sources)
                {
                    writer.WritePropertyName(name);
                    if (stored is null)
                    {
                        sent[row].WriteTo(writer);
                    }
                    else
                    {
                        // A number with no JSON form is written as null: the missing value a NaN would have been to the model.
                        OnlineFeatureResultConverter.WriteValue(writer, stored, row);
                    }
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        return JsonDocument.Parse(buffer.WrittenMemory);
    }

    /// <summary>A model input's name, and its values: read from the store, or else sent in the request.</summary>
    private readonly record struct InputSource(JsonEncodedText Name, IReadOnlyList<object?>? Stored, JsonElement Sent);

    private static IReadOnlyDictionary<string, FeatureStatus>[] Missing(OnlineFeatureTable table, int count)
    {
        // Most rows miss nothing: they share one empty dictionary.
        var none = new Dictionary<string, FeatureStatus>();
        var missing = new IReadOnlyDictionary<string, FeatureStatus>[count];
        for (var row = 0; row < count; row++)
        {
            Dictionary<string, FeatureStatus>? found = null;
            for (var feature = 0; feature < table.Results.Count; feature++)
            {
                if (table.Results[feature].Statuses[row] is var status and not FeatureStatus.Present)
                {
                    (found ??= [])[table.Metadata.Features[feature]] = status;
                }
            }

            missing[row] = found ?? none;
        }

        return missing;
    }
}

using System.Text.Json.Serialization;

namespace ModelPlatform.Contracts;

/// <summary>The logical type of a tabular column, inferred from its values.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ColumnType>))]
public enum ColumnType
{
    /// <summary>Numbers (integers or decimals).</summary>
    [JsonStringEnumMemberName("numeric")] Numeric,
    /// <summary>A small set of repeated labels, such as colours or countries.</summary>
    [JsonStringEnumMemberName("categorical")] Categorical,
    /// <summary>Free text, such as a message body.</summary>
    [JsonStringEnumMemberName("text")] Text,
    /// <summary>true / false.</summary>
    [JsonStringEnumMemberName("boolean")] Boolean,
    /// <summary>A moment, such as an event's time: ISO 8601 with a date and a time (UTC unless it says otherwise).</summary>
    [JsonStringEnumMemberName("timestamp")] Timestamp,
}

public sealed record ColumnSchema(string Name, ColumnType Type);

/// <summary>The machine-learning task a model solves.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<MLTask>))]
public enum MLTask
{
    [JsonStringEnumMemberName("binary")] Binary,
    [JsonStringEnumMemberName("multiclass")] Multiclass,
    [JsonStringEnumMemberName("regression")] Regression,
}

/// <summary>
/// What a model takes and returns: its input columns, its label and, for classifiers,
/// the label values it predicts, in the order of the model's score vector.
/// </summary>
public sealed record ModelSignature(
    MLTask Task,
    IReadOnlyList<ColumnSchema> Inputs,
    ColumnSchema Label,
    IReadOnlyList<string>? Classes);

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

/// <summary>A trainer a job may name for a task, with the settings it takes (what a form to submit a job is built from).</summary>
/// <param name="IsDefault">The task's trainer when a job names none.</param>
public sealed record TrainerInfo(string Name, MLTask Task, bool IsDefault, IReadOnlyList<HyperparameterInfo> Hyperparameters);

/// <summary>A trainer's setting: its valid range, and its default (null where ML.NET picks the value from the data).</summary>
/// <param name="LogScale">Its useful values span orders of magnitude: a form steps it by factors, and the search samples it so.</param>
public sealed record HyperparameterInfo(string Name, double Min, double Max, double? Default, bool IsInteger, bool LogScale);

/// <summary>A metric a job may optimise for a task, and which way is better.</summary>
/// <param name="IsDefault">The task's metric when a job names none.</param>
public sealed record MetricInfo(string Name, MLTask Task, bool IsDefault, bool HigherIsBetter);

/// <summary>
/// The trainers and metrics per task, and the name that asks for the automatic search over all of a task's trainers.
/// </summary>
public sealed record TrainerCatalog(string Auto, BudgetRange BudgetSeconds, IReadOnlyList<TrainerInfo> Trainers, IReadOnlyList<MetricInfo> Metrics);

/// <summary>The automatic search's time budget a job may ask for, in seconds.</summary>
public sealed record BudgetRange(int Min, int Default, int Max);

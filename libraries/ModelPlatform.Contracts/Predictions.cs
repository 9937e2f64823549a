using System.Text.Json.Serialization;

namespace ModelPlatform.Contracts;

/// <summary>
/// One prediction. Binary: <see cref="Label"/> and <see cref="Probability"/> (of the positive class);
/// multiclass: <see cref="Label"/> and <see cref="Scores"/> per class; regression: <see cref="Value"/>.
/// Labels are the values the training data used (a string, number or boolean).
/// </summary>
public sealed record Prediction(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] object? Label = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] float? Probability = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, float>? Scores = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] float? Value = null);

/// <summary>How a shadow version compares with the version that answered, over every copy it has scored.</summary>
public sealed record ShadowComparison(
    int AnsweredVersion, int ShadowVersion, long Rows, long Agreed, double Agreement, double MeanAbsoluteDifference);

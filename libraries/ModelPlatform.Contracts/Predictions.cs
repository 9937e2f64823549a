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

/// <summary>
/// Why a model gave one prediction: how much each input column moved <see cref="Output"/> away from <see cref="BaseValue"/>.
/// </summary>
/// <param name="Method">
/// <c>feature-contribution</c>: ML.NET's feature contribution calculation, read from the parameters of a single linear or
/// tree model. <c>shapley-sampling</c>: baseline Shapley values, measured by scoring the record with its columns swapped in
/// one at a time from a reference row (every order of the columns when they are few, else sampled orders); any model.
/// </param>
/// <param name="Output">
/// What is explained, in the model's terms: <c>probability</c> of the positive class (binary), <c>value</c> (regression),
/// <c>score</c> of the class predicted for the record (multiclass), or, from <c>feature-contribution</c> on a binary model,
/// <c>score</c> for its raw margin (before calibration turns it into the probability).
/// </param>
/// <param name="BaseValue">
/// Where the contributions start from, so that BaseValue + the sum of <paramref name="Contributions"/> is the explained
/// output. Shapley: the output for the reference row, and the sum is exact (to float rounding) whether the orders were all
/// enumerated or sampled. Feature contribution of a linear model: its bias, and the sum is exact (to float rounding), each
/// contribution being a column's weights times its scaled feature values. Feature contribution of a tree model: trees have
/// no bias and their contributions (each the change in the score had a split on the column gone the other way) do not
/// add up, so BaseValue is what they leave unexplained (the output less their sum), not a bias.
/// </param>
/// <param name="Contributions">
/// Each input column's contribution, in the units of <see cref="Output"/>, keyed by the column's name as the model's
/// signature gives it: every input column is present (zero when it made no difference), and a one-hot category or a
/// featurized text is one column, never its slots.
/// </param>
public sealed record Explanation(string Method, string Output, double BaseValue, IReadOnlyDictionary<string, double> Contributions)
{
    public const string FeatureContribution = "feature-contribution";
    public const string ShapleySampling = "shapley-sampling";

    public const string Probability = "probability";
    public const string Value = "value";
    public const string Score = "score";
}

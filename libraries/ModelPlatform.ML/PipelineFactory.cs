using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML;

/// <summary>
/// Builds the ML.NET pipeline for a signature. Every preprocessing step lives inside the saved model, so the
/// served model takes raw records: missing numbers are imputed with the mean, categoricals are one-hot
/// encoded (unseen values become all zeros; columns with very many values are hashed into a fixed number
/// of slots instead), free text is featurised, and features are scaled for linear trainers
/// (to [0, 1], or to unit variance when <c>standardize</c> is 1).
/// </summary>
public static class PipelineFactory
{
    private const int HashBits = 10;

    /// <summary>The whole pipeline: raw columns in, prediction out.</summary>
    /// <param name="threads">Threads the trainer may use; null lets it choose.</param>
    public static IEstimator<ITransformer> Create(
        MLContext ml,
        ModelSignature signature,
        TrainerSpec trainer,
        IReadOnlyDictionary<string, double>? hyperparameters = null,
        IReadOnlySet<string>? hashedColumns = null,
        int? threads = null) =>
        AppendLearner(ml, Featurizer(ml, signature, hashedColumns), signature, trainer, hyperparameters, threads);

    /// <summary>Turns the raw columns into the one feature vector trainers take.</summary>
    private static IEstimator<ITransformer> Featurizer(MLContext ml, ModelSignature signature, IReadOnlySet<string>? hashedColumns)
    {
        IEstimator<ITransformer> pipeline = new EstimatorChain<ITransformer>();
        var featureColumns = new List<string>();

        var numeric = signature.Inputs.Where(input => ColumnValues.IsNumeric(input.Type)).Select(input => input.Name).ToArray();
        if (numeric.Length > 0)
        {
            pipeline = pipeline.Append(ml.Transforms.ReplaceMissingValues(
                numeric.Select(name => new InputOutputColumnPair(name)).ToArray(),
                MissingValueReplacingEstimator.ReplacementMode.Mean));
            featureColumns.AddRange(numeric);
        }

        var categorical = signature.Inputs.Where(input => input.Type == ColumnType.Categorical).Select(input => input.Name).ToLookup(
            name => hashedColumns?.Contains(name) == true);
        if (categorical[false].Any())
        {
            var encoded = categorical[false].Select(name => new InputOutputColumnPair("__onehot_" + name, name)).ToArray();
            pipeline = pipeline.Append(ml.Transforms.Categorical.OneHotEncoding(encoded));
            featureColumns.AddRange(encoded.Select(pair => pair.OutputColumnName));
        }

        if (categorical[true].Any())
        {
            var hashed = categorical[true].Select(name => new InputOutputColumnPair("__hash_" + name, name)).ToArray();
            pipeline = pipeline.Append(ml.Transforms.Categorical.OneHotHashEncoding(hashed, numberOfBits: HashBits));
            featureColumns.AddRange(hashed.Select(pair => pair.OutputColumnName));
        }

        foreach (var text in signature.Inputs.Where(input => input.Type == ColumnType.Text))
        {
            var output = "__text_" + text.Name;
            pipeline = pipeline.Append(ml.Transforms.Text.FeaturizeText(output, text.Name));
            featureColumns.Add(output);
        }

        return pipeline.Append(ml.Transforms.Concatenate(ModelSchema.FeaturesColumn, [.. featureColumns]));
    }

    private static IEstimator<ITransformer> AppendLearner(
        MLContext ml,
        IEstimator<ITransformer> pipeline,
        ModelSignature signature,
        TrainerSpec trainer,
        IReadOnlyDictionary<string, double>? hyperparameters,
        int? threads)
    {
        if (trainer.NeedsNormalizedFeatures)
        {
            pipeline = pipeline.Append(trainer.Value(hyperparameters, Trainers.Standardize.Name) == 1
                ? ml.Transforms.NormalizeMeanVariance(ModelSchema.FeaturesColumn)
                : ml.Transforms.NormalizeMinMax(ModelSchema.FeaturesColumn));
        }

        pipeline = pipeline.Append(trainer.Create(ml, hyperparameters, threads));

        if (signature.Task == MLTask.Multiclass)
        {
            // Keep the key-typed PredictedLabel for evaluation; serve the class name from a column of its own.
            pipeline = pipeline.Append(ml.Transforms.Conversion.MapKeyToValue(ModelSchema.PredictedClassColumn, "PredictedLabel"));
        }

        return pipeline;
    }

    /// <summary>Maps the label to a key for multiclass training (outside the saved model, which never sees labels).</summary>
    public static IDataView PrepareLabel(MLContext ml, IDataView data, MLTask task) => task == MLTask.Multiclass
        ? ml.Transforms.Conversion.MapValueToKey(ModelSchema.LabelColumn, keyOrdinality: ValueToKeyMappingEstimator.KeyOrdinality.ByValue)
            .Fit(data).Transform(data)
        : data;
}

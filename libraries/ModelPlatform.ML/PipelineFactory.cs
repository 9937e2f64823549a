using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using Microsoft.ML.Transforms.Text;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML;

/// <summary>
/// Builds the ML.NET pipeline for a signature. Every preprocessing step lives inside the saved model, so the
/// served model takes raw records: missing numbers are imputed with the mean, categoricals are one-hot
/// encoded (unseen values become all zeros; for tree trainers, columns with very many values are hashed into
/// a fixed number of slots instead, since a tree considers every slot at every split), free text is featurised
/// (for tree trainers, to its most informative slots only, for the same reason), and features are scaled for
/// linear trainers: numbers to [0, 1], or centred to unit variance when <c>standardize</c> is 1; encoded slots
/// always to [0, 1], since they are sparse (and scaling 100,000 text slots to unit variance takes ML.NET minutes).
/// </summary>
public static class PipelineFactory
{
    private const int HashBits = 10;

    // A text column's n-grams a tree trainer sees: those that tell most about the label (scikit-learn's benchmark gives
    // HistGradientBoosting 500). On 100,000 slots a tree trainer fits too slowly to finish, and LightGbm's dataset
    // building, which cannot be cancelled, alone takes tens of seconds.
    private const int TextSlotsForTrees = 1000;

    // ML.NET's defaults (word unigrams and bigrams, character trigrams, each vector of unit length), weighted by TF-IDF
    // as scikit-learn's TfidfVectorizer weighs them: rare n-grams, which tell most, count for more (macro accuracy 0.871
    // against 0.865 on a fold of austen-novels, and +0.006 to +0.009 on two more).
    private static TextFeaturizingEstimator.Options TextOptions() => new()
    {
        WordFeatureExtractor = new WordBagEstimator.Options { NgramLength = 2, Weighting = NgramExtractingEstimator.WeightingCriteria.TfIdf },
        CharFeatureExtractor = new WordBagEstimator.Options
        {
            NgramLength = 3,
            UseAllLengths = false,
            Weighting = NgramExtractingEstimator.WeightingCriteria.TfIdf,
        },
    };

    // The featurizer's two outputs, which the learner scales (numbers only) and joins into the feature vector.
    private const string NumericColumn = "__numeric";
    private const string EncodedColumn = "__encoded";

    // Each categorical or text column's block of encoded slots is named after it.
    private const string OneHotPrefix = "__onehot_";
    private const string HashPrefix = "__hash_";
    private const string TextPrefix = "__text_";

    /// <summary>The whole pipeline: raw columns in, prediction out.</summary>
    /// <param name="threads">Threads the trainer may use; null lets it choose.</param>
    public static IEstimator<ITransformer> Create(
        MLContext ml,
        ModelSignature signature,
        TrainerSpec trainer,
        IReadOnlyDictionary<string, double>? hyperparameters = null,
        IReadOnlySet<string>? hashedColumns = null,
        int? threads = null) =>
        AppendLearner(ml, Featurizer(ml, signature, trainer.IsLinear, hashedColumns), signature, trainer, hyperparameters, threads);

    /// <summary>
    /// Turns the raw columns into two vectors, numbers and encoded (categorical and text) slots, for <see cref="Learner"/>:
    /// for a linear trainer every category one-hot and every text slot; for a tree trainer <paramref name="hashedColumns"/>
    /// hashed and text cut to its most informative slots.
    /// </summary>
    public static IEstimator<ITransformer> Featurizer(MLContext ml, ModelSignature signature, bool isLinear, IReadOnlySet<string>? hashedColumns)
    {
        hashedColumns = isLinear ? null : hashedColumns;
        IEstimator<ITransformer> pipeline = new EstimatorChain<ITransformer>();
        var encodedColumns = new List<string>();

        var numeric = signature.Inputs.Where(input => ColumnValues.IsNumeric(input.Type)).Select(input => input.Name).ToArray();
        if (numeric.Length > 0)
        {
            pipeline = pipeline
                .Append(ml.Transforms.ReplaceMissingValues(
                    numeric.Select(name => new InputOutputColumnPair(name)).ToArray(), MissingValueReplacingEstimator.ReplacementMode.Mean))
                .Append(ml.Transforms.Concatenate(NumericColumn, numeric));
        }

        var categorical = signature.Inputs.Where(input => input.Type == ColumnType.Categorical).Select(input => input.Name).ToLookup(
            name => hashedColumns?.Contains(name) == true);
        if (categorical[false].Any())
        {
            var encoded = categorical[false].Select(name => new InputOutputColumnPair(OneHotPrefix + name, name)).ToArray();
            pipeline = pipeline.Append(ml.Transforms.Categorical.OneHotEncoding(encoded));
            encodedColumns.AddRange(encoded.Select(pair => pair.OutputColumnName));
        }

        if (categorical[true].Any())
        {
            var hashed = categorical[true].Select(name => new InputOutputColumnPair(HashPrefix + name, name)).ToArray();
            pipeline = pipeline.Append(ml.Transforms.Categorical.OneHotHashEncoding(hashed, numberOfBits: HashBits));
            encodedColumns.AddRange(hashed.Select(pair => pair.OutputColumnName));
        }

        foreach (var text in signature.Inputs.Where(input => input.Type == ColumnType.Text))
        {
            var output = TextPrefix + text.Name;
            pipeline = pipeline.Append(ml.Transforms.Text.FeaturizeText(output, TextOptions(), text.Name));
            if (!isLinear)
            {
                pipeline = pipeline.Append(ml.Transforms.FeatureSelection.SelectFeaturesBasedOnMutualInformation(
                    output, labelColumnName: ModelSchema.LabelColumn, slotsInOutput: TextSlotsForTrees));
            }

            encodedColumns.Add(output);
        }

        return encodedColumns.Count == 0 ? pipeline : pipeline.Append(ml.Transforms.Concatenate(EncodedColumn, [.. encodedColumns]));
    }

    /// <summary>What follows the featurizer: scaling where the trainer needs it, the trainer, and the class name.</summary>
    public static IEstimator<ITransformer> Learner(
        MLContext ml, ModelSignature signature, TrainerSpec trainer, IReadOnlyDictionary<string, double>? hyperparameters, int? threads) =>
        AppendLearner(ml, new EstimatorChain<ITransformer>(), signature, trainer, hyperparameters, threads);

    private static IEstimator<ITransformer> AppendLearner(
        MLContext ml,
        IEstimator<ITransformer> pipeline,
        ModelSignature signature,
        TrainerSpec trainer,
        IReadOnlyDictionary<string, double>? hyperparameters,
        int? threads)
    {
        var blocks = new List<string>();
        if (signature.Inputs.Any(input => ColumnValues.IsNumeric(input.Type)))
        {
            if (trainer.IsLinear)
            {
                pipeline = pipeline.Append(trainer.Value(hyperparameters, Trainers.Standardize.Name) == 1
                    ? ml.Transforms.NormalizeMeanVariance(NumericColumn, fixZero: false)
                    : ml.Transforms.NormalizeMinMax(NumericColumn, fixZero: false));
            }

            blocks.Add(NumericColumn);
        }

        if (signature.Inputs.Any(input => !ColumnValues.IsNumeric(input.Type)))
        {
            if (trainer.IsLinear)
            {
                // Min-max keeps sparse slots sparse and is cheap; it leaves one-hot slots as they are, and it lifts rare
                // words in text vectors much as TF-IDF does (macro accuracy 0.84 against 0.71 unscaled on austen-novels).
                pipeline = pipeline.Append(ml.Transforms.NormalizeMinMax(EncodedColumn));
            }

            blocks.Add(EncodedColumn);
        }

        pipeline = pipeline
            .Append(ml.Transforms.Concatenate(ModelSchema.FeaturesColumn, [.. blocks]))
            .Append(trainer.Create(ml, hyperparameters, threads));

        if (signature.Task == MLTask.Multiclass)
        {
            // Keep the key-typed PredictedLabel for evaluation; serve the class name from a column of its own.
            pipeline = pipeline.Append(ml.Transforms.Conversion.MapKeyToValue(ModelSchema.PredictedClassColumn, "PredictedLabel"));
        }

        return pipeline;
    }

    /// <summary>
    /// The input column each slot of the feature vector comes from, as an index into the signature's inputs. The vector is
    /// the numbers, one slot each in input order, then the encoded blocks in the order <see cref="Featurizer"/> joins them:
    /// one-hot categoricals, hashed categoricals, then texts, each in input order. A block's size is read from
    /// <paramref name="featurized"/>, the schema of rows once featurized. (ML.NET's slot names would not do: hashed slots have
    /// none, a block joined alone keeps its own (<c>__encoded.centre</c>), and a dot in a column or value makes them
    /// ambiguous.) Null when the vector is not built so.
    /// </summary>
    internal static int[]? FeatureSlotColumns(ModelSignature signature, DataViewSchema featurized)
    {
        int? Size(string column) => featurized.GetColumnOrNull(column)?.Type is VectorDataViewType { Size: > 0 } vector ? vector.Size : null;
        var inputs = signature.Inputs;
        var numeric = Enumerable.Range(0, inputs.Count).Where(c => ColumnValues.IsNumeric(inputs[c].Type)).ToList();
        var blocks = numeric.Select(c => (Column: c, Size: (int?)1)).ToList();
        if (numeric.Count > 0 && Size(NumericColumn) != numeric.Count)
        {
            return null;
        }

        var categorical = Enumerable.Range(0, inputs.Count).Where(c => inputs[c].Type == ColumnType.Categorical).ToList();
        var oneHot = categorical.Where(c => Size(OneHotPrefix + inputs[c].Name) is not null).ToList();
        var hashed = categorical.Except(oneHot).ToList();
        blocks.AddRange(oneHot.Select(c => (c, Size(OneHotPrefix + inputs[c].Name))));
        blocks.AddRange(hashed.Select(c => (c, Size(HashPrefix + inputs[c].Name))));
        blocks.AddRange(Enumerable.Range(0, inputs.Count).Where(c => inputs[c].Type == ColumnType.Text).Select(c => (c, Size(TextPrefix + inputs[c].Name))));
        if (blocks.Any(block => block.Size is null) || blocks.Sum(block => block.Size!.Value) != Size(ModelSchema.FeaturesColumn))
        {
            return null;
        }

        return [.. blocks.SelectMany(block => Enumerable.Repeat(block.Column, block.Size!.Value))];
    }

    /// <summary>Maps the label to a key for multiclass training (outside the saved model, which never sees labels).</summary>
    public static IDataView PrepareLabel(MLContext ml, IDataView data, MLTask task) => task == MLTask.Multiclass
        ? ml.Transforms.Conversion.MapValueToKey(ModelSchema.LabelColumn, keyOrdinality: ValueToKeyMappingEstimator.KeyOrdinality.ByValue)
            .Fit(data).Transform(data)
        : data;
}

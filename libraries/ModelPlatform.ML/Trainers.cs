using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Trainers;
using Microsoft.ML.Trainers.FastTree;
using Microsoft.ML.Trainers.LightGbm;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML;

/// <summary>
/// A tunable setting of a trainer, with its valid range; searched on a log scale where <see cref="LogScale"/> (a log-scale
/// setting whose range starts at 0, a regularization, is sampled as 0, off, half the time). A null <see cref="Default"/>
/// means ML.NET chooses the value from the data. <see cref="GrowsCost"/> marks a setting that makes training slower as it
/// grows (trees, iterations, leaves), which the search starts small. <see cref="SearchFrom"/> is where the search starts
/// when that differs from the default, as FLAML's low-cost initial values do.
/// </summary>
public sealed record Hyperparameter(
    string Name, double Min, double Max, double? Default, bool IsInteger, bool LogScale, bool GrowsCost = false, double? SearchFrom = null)
{
    public string? Error(double value) => value >= Min && value <= Max && (!IsInteger || value == Math.Floor(value))
        ? null
        : string.Create(CultureInfo.InvariantCulture, $"must be {(IsInteger ? "a whole number" : "a number")} from {Min} to {Max}");
}

/// <summary>One ML.NET trainer: its name, the settings that may be tuned, and how to build it.</summary>
/// <param name="IsLinear">A linear model: it needs scaled features, and it gets every categorical value one-hot
/// encoded, however many there are, since it learns one weight per value from sparse slots at little cost.</param>
/// <param name="Build">Builds the trainer from the settings and a thread count (null: the trainer's own choice).</param>
public sealed record TrainerSpec(
    string Name,
    MLTask Task,
    bool IsLinear,
    IReadOnlyList<Hyperparameter> Hyperparameters,
    Func<MLContext, Func<string, double?>, int?, IEstimator<ITransformer>> Build)
{
    /// <summary>Builds the trainer with <paramref name="values"/>, the defaults filling in what is not given.</summary>
    /// <param name="threads">Threads the trainer may use; the search runs one trial per core, each on one thread.</param>
    public IEstimator<ITransformer> Create(MLContext ml, IReadOnlyDictionary<string, double>? values, int? threads = null) =>
        Build(ml, name => Value(values, name), threads);

    /// <summary>The value of a setting: the given one, else its default (null where ML.NET picks it from the data).</summary>
    public double? Value(IReadOnlyDictionary<string, double>? values, string name) =>
        values is not null && values.TryGetValue(name, out var value) ? value : Hyperparameters.SingleOrDefault(parameter => parameter.Name == name)?.Default;

    /// <summary>Where the automatic search starts this trainer: its defaults, except where a setting has its own starting point.</summary>
    public IReadOnlyDictionary<string, double>? SearchStart =>
        Hyperparameters.Where(parameter => parameter.SearchFrom is not null).ToDictionary(parameter => parameter.Name, parameter => parameter.SearchFrom!.Value)
            is { Count: > 0 } start ? start : null;

    /// <summary>The settings a trial used: the given ones over the defaults (those ML.NET picks from the data are left out).</summary>
    public IReadOnlyDictionary<string, double> Complete(IReadOnlyDictionary<string, double>? values) =>
        Hyperparameters
            .Select(parameter => (parameter.Name, Value: Value(values, parameter.Name)))
            .Where(pair => pair.Value is not null)
            .ToDictionary(pair => pair.Name, pair => pair.Value!.Value);
}

/// <summary>The trainers a job may name, per task, with their hyperparameters; the first of each task is its default.</summary>
public static class Trainers
{
    private const string Label = ModelSchema.LabelColumn;
    private const string Features = ModelSchema.FeaturesColumn;

    // Defaults are ML.NET's own, so naming a trainer without settings trains what ML.NET would; SDCA's are the exception.
    private static readonly Hyperparameter Leaves = new("numberOfLeaves", 2, 512, 20, IsInteger: true, LogScale: true, GrowsCost: true);
    private static readonly Hyperparameter Trees = new("numberOfTrees", 5, 2000, 100, IsInteger: true, LogScale: true, GrowsCost: true);
    private static readonly Hyperparameter MinLeafRows = new("minimumExampleCountPerLeaf", 1, 200, 10, IsInteger: true, LogScale: true);
    private static readonly Hyperparameter LearningRate = new("learningRate", 0.001, 1, 0.2, IsInteger: false, LogScale: true);
    private static readonly Hyperparameter LightGbmLeaves = Leaves with { Default = 31 };
    private static readonly Hyperparameter LightGbmMinLeafRows = MinLeafRows with { Default = 20 };
    private static readonly Hyperparameter LightGbmLearningRate = LearningRate with { Default = 0.1 };
    private static readonly Hyperparameter Iterations = new("numberOfIterations", 5, 2000, 100, IsInteger: true, LogScale: true, GrowsCost: true);
    // The search starts linear trainers without L1, as scikit-learn does: on 100,000 text slots, L1 (which turns L-BFGS
    // into OWL-QN) fits 3x slower and scores 0.84 against 0.87 without it (docs/training-quality.md).
    private static readonly Hyperparameter L1 = new("l1Regularization", 0, 10, 1, IsInteger: false, LogScale: true, SearchFrom: 0);
    private static readonly Hyperparameter L2 = new("l2Regularization", 1e-6, 10, 1, IsInteger: false, LogScale: true);

    // ML.NET's SDCA tunes L2 to about 2.7e-5 whatever the data (the figure follows its iteration cap of 1.5 million
    // rows' worth of epochs), so on small, non-separable data it runs thousands of epochs that do not converge:
    // 15-130 s on 800 rows, for an AUC no better than 100 epochs give in 1 s (docs/training-quality.md). SDCA needs
    // about (rows + 1/L2) steps per digit of precision; L2 = 1e-3 converges within these 100 epochs on small data.
    private static readonly Hyperparameter SdcaL1 = L1 with { Default = null };
    private static readonly Hyperparameter SdcaL2 = L2 with { Default = 1e-3 };
    private static readonly Hyperparameter SdcaEpochs = new("maximumNumberOfIterations", 5, 1000, 100, IsInteger: true, LogScale: true, GrowsCost: true);

    /// <summary>
    /// Linear trainers' scaling of numeric features: 0 scales each to [0, 1] (min-max); 1 centres it on its mean and
    /// divides it by its standard deviation, as scikit-learn's StandardScaler does (without centring, a weakly
    /// regularized L-BFGS scored 0.89 against 0.97 on the wine hold-out). Categorical and text slots: see PipelineFactory.
    /// </summary>
    public static readonly Hyperparameter Standardize = new("standardize", 0, 1, 0, IsInteger: true, LogScale: false);

    private static readonly Hyperparameter[] FastTreeParameters = [Leaves, Trees, MinLeafRows, LearningRate];
    private static readonly Hyperparameter[] FastForestParameters = [Leaves, Trees, MinLeafRows];
    private static readonly Hyperparameter[] LightGbmParameters = [LightGbmLeaves, Iterations, LightGbmMinLeafRows, LightGbmLearningRate];
    // ML.NET's L-BFGS stops at a relative improvement of 1e-7; the search starts from scikit-learn's 1e-4, which on
    // text fits three times faster for the same score.
    private static readonly Hyperparameter Tolerance = new("optimizationTolerance", 1e-8, 1e-2, 1e-7, IsInteger: false, LogScale: true, SearchFrom: 1e-4);
    private static readonly Hyperparameter[] LinearParameters = [L1, L2, Tolerance, Standardize];
    private static readonly Hyperparameter[] SdcaParameters = [SdcaL1, SdcaL2, SdcaEpochs, Standardize];

    private static readonly IReadOnlyDictionary<MLTask, IReadOnlyList<TrainerSpec>> ByTask = new Dictionary<MLTask, IReadOnlyList<TrainerSpec>>
    {
        [MLTask.Binary] =
        [
            new("FastTree", MLTask.Binary, false, FastTreeParameters,
                (ml, p, threads) => ml.BinaryClassification.Trainers.FastTree(Boosted(new FastTreeBinaryTrainer.Options(), p, threads))),
            new("LightGbm", MLTask.Binary, false, LightGbmParameters, (ml, p, threads) => ml.BinaryClassification.Trainers.LightGbm(
                new LightGbmBinaryTrainer.Options
                {
                    LabelColumnName = Label, FeatureColumnName = Features, NumberOfLeaves = Int(p, Leaves), MinimumExampleCountPerLeaf = Int(p, MinLeafRows),
                    LearningRate = p(LearningRate.Name), NumberOfIterations = Int(p, Iterations), NumberOfThreads = threads,
                })),
            new("FastForest", MLTask.Binary, false, FastForestParameters,
                (ml, p, threads) => ml.BinaryClassification.Trainers.FastForest(Tree(new FastForestBinaryTrainer.Options(), p, threads))),
            new("SdcaLogisticRegression", MLTask.Binary, true, SdcaParameters, (ml, p, threads) => ml.BinaryClassification.Trainers.SdcaLogisticRegression(
                new SdcaLogisticRegressionBinaryTrainer.Options
                {
                    LabelColumnName = Label, FeatureColumnName = Features, L1Regularization = (float?)p(L1.Name), L2Regularization = (float?)p(L2.Name),
                    MaximumNumberOfIterations = Int(p, SdcaEpochs), NumberOfThreads = threads,
                })),
            new("LbfgsLogisticRegression", MLTask.Binary, true, LinearParameters, (ml, p, threads) => ml.BinaryClassification.Trainers.LbfgsLogisticRegression(
                new LbfgsLogisticRegressionBinaryTrainer.Options
                {
                    LabelColumnName = Label, FeatureColumnName = Features, L1Regularization = (float)p(L1.Name)!.Value,
                    L2Regularization = (float)p(L2.Name)!.Value, OptimizationTolerance = (float)p(Tolerance.Name)!.Value, NumberOfThreads = threads,
                })),
        ],
        [MLTask.Multiclass] =
        [
            new("LbfgsMaximumEntropy", MLTask.Multiclass, true, LinearParameters, (ml, p, threads) => ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(
                new LbfgsMaximumEntropyMulticlassTrainer.Options
                {
                    LabelColumnName = Label, FeatureColumnName = Features, L1Regularization = (float)p(L1.Name)!.Value,
                    L2Regularization = (float)p(L2.Name)!.Value, OptimizationTolerance = (float)p(Tolerance.Name)!.Value, NumberOfThreads = threads,
                })),
            new("LightGbm", MLTask.Multiclass, false, LightGbmParameters, (ml, p, threads) => ml.MulticlassClassification.Trainers.LightGbm(
                new LightGbmMulticlassTrainer.Options
                {
                    LabelColumnName = Label, FeatureColumnName = Features, NumberOfLeaves = Int(p, Leaves), MinimumExampleCountPerLeaf = Int(p, MinLeafRows),
                    LearningRate = p(LearningRate.Name), NumberOfIterations = Int(p, Iterations), NumberOfThreads = threads,
                })),
            new("SdcaMaximumEntropy", MLTask.Multiclass, true, SdcaParameters, (ml, p, threads) => ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(
                new SdcaMaximumEntropyMulticlassTrainer.Options
                {
                    LabelColumnName = Label, FeatureColumnName = Features, L1Regularization = (float?)p(L1.Name), L2Regularization = (float?)p(L2.Name),
                    MaximumNumberOfIterations = Int(p, SdcaEpochs), NumberOfThreads = threads,
                })),
            new("OneVersusAllFastTree", MLTask.Multiclass, false, FastTreeParameters, (ml, p, threads) => ml.MulticlassClassification.Trainers.OneVersusAll(
                ml.BinaryClassification.Trainers.FastTree(Boosted(new FastTreeBinaryTrainer.Options(), p, threads)), Label)),
        ],
        [MLTask.Regression] =
        [
            new("FastTree", MLTask.Regression, false, FastTreeParameters,
                (ml, p, threads) => ml.Regression.Trainers.FastTree(Boosted(new FastTreeRegressionTrainer.Options(), p, threads))),
            new("LightGbm", MLTask.Regression, false, LightGbmParameters, (ml, p, threads) => ml.Regression.Trainers.LightGbm(
                new LightGbmRegressionTrainer.Options
                {
                    LabelColumnName = Label, FeatureColumnName = Features, NumberOfLeaves = Int(p, Leaves), MinimumExampleCountPerLeaf = Int(p, MinLeafRows),
                    LearningRate = p(LearningRate.Name), NumberOfIterations = Int(p, Iterations), NumberOfThreads = threads,
                })),
            new("FastForest", MLTask.Regression, false, FastForestParameters,
                (ml, p, threads) => ml.Regression.Trainers.FastForest(Tree(new FastForestRegressionTrainer.Options(), p, threads))),
            new("Sdca", MLTask.Regression, true, SdcaParameters, (ml, p, threads) => ml.Regression.Trainers.Sdca(
                new SdcaRegressionTrainer.Options
                {
                    LabelColumnName = Label, FeatureColumnName = Features, L1Regularization = (float?)p(L1.Name), L2Regularization = (float?)p(L2.Name),
                    MaximumNumberOfIterations = Int(p, SdcaEpochs), NumberOfThreads = threads,
                })),
        ],
    };

    /// <summary>The name that asks for the automatic search over every trainer of the task.</summary>
    public const string Auto = "auto";

    /// <summary>The trainer a model reports when the search chose an ensemble of its best candidates.</summary>
    public const string Ensemble = "ensemble";

    /// <summary>The trainer used when a job names none: the first listed for its task.</summary>
    public static string DefaultFor(MLTask task) => ByTask[task][0].Name;

    public static IReadOnlyList<TrainerSpec> For(MLTask task) => ByTask[task];

    public static IReadOnlyList<string> NamesFor(MLTask task) => [.. ByTask[task].Select(trainer => trainer.Name)];

    /// <summary>The trainer's canonical name, or null when <paramref name="name"/> is not a trainer for the task.</summary>
    public static string? Canonical(MLTask task, string name) => Find(task, name)?.Name;

    public static TrainerSpec? Find(MLTask task, string name) =>
        ByTask[task].FirstOrDefault(trainer => string.Equals(trainer.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Every problem with the hyperparameters given for a trainer, keyed by <c>hyperparameters.name</c>,
    /// naming the allowed settings and ranges.
    /// </summary>
    public static Dictionary<string, string[]> Validate(TrainerSpec trainer, IReadOnlyDictionary<string, double>? values)
    {
        var errors = new Dictionary<string, string[]>();
        foreach (var (name, value) in values ?? new Dictionary<string, double>())
        {
            var parameter = trainer.Hyperparameters.FirstOrDefault(p => p.Name == name);
            var error = parameter is null
                ? $"is not a setting of {trainer.Name}; its settings are {string.Join(", ", trainer.Hyperparameters.Select(p => p.Name))}"
                : parameter.Error(value);
            if (error is not null)
            {
                errors[$"hyperparameters.{name}"] = [error];
            }
        }

        return errors;
    }

    private static int Int(Func<string, double?> values, Hyperparameter parameter) => (int)Math.Round(values(parameter.Name)!.Value);

    private static T Tree<T>(T options, Func<string, double?> p, int? threads)
        where T : TreeOptions
    {
        options.LabelColumnName = Label;
        options.FeatureColumnName = Features;
        options.NumberOfLeaves = Int(p, Leaves);
        options.NumberOfTrees = Int(p, Trees);
        options.MinimumExampleCountPerLeaf = Int(p, MinLeafRows);
        options.NumberOfThreads = threads;
        return options;
    }

    private static T Boosted<T>(T options, Func<string, double?> p, int? threads)
        where T : BoostedTreeOptions
    {
        options.LearningRate = p(LearningRate.Name)!.Value;
        return Tree(options, p, threads);
    }
}

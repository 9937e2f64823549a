using System.Globalization;
using Microsoft.ML;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML;

/// <summary>
/// A tunable setting of a trainer, with its valid range; searched on a log scale where <see cref="LogScale"/>.
/// A null <see cref="Default"/> means ML.NET chooses the value from the data.
/// </summary>
public sealed record Hyperparameter(string Name, double Min, double Max, double? Default, bool IsInteger, bool LogScale)
{
    public string? Error(double value) => value >= Min && value <= Max && (!IsInteger || value == Math.Floor(value))
        ? null
        : string.Create(CultureInfo.InvariantCulture, $"must be {(IsInteger ? "a whole number" : "a number")} from {Min} to {Max}");
}

/// <summary>One ML.NET trainer: its name, the settings that may be tuned, and how to build it.</summary>
public sealed record TrainerSpec(
    string Name,
    MLTask Task,
    bool NeedsNormalizedFeatures,
    IReadOnlyList<Hyperparameter> Hyperparameters,
    Func<MLContext, Func<string, double?>, IEstimator<ITransformer>> Build)
{
    /// <summary>Builds the trainer with <paramref name="values"/>, the defaults filling in what is not given.</summary>
    public IEstimator<ITransformer> Create(MLContext ml, IReadOnlyDictionary<string, double>? values) =>
        Build(ml, name => values is not null && values.TryGetValue(name, out var value)
            ? value
            : Hyperparameters.Single(parameter => parameter.Name == name).Default);

    /// <summary>The settings a trial used: the given ones over the defaults (those ML.NET picks from the data are left out).</summary>
    public IReadOnlyDictionary<string, double> Complete(IReadOnlyDictionary<string, double>? values) =>
        Hyperparameters
            .Select(parameter => (parameter.Name, Value: values is not null && values.TryGetValue(parameter.Name, out var value) ? value : parameter.Default))
            .Where(pair => pair.Value is not null)
            .ToDictionary(pair => pair.Name, pair => pair.Value!.Value);
}

/// <summary>The trainers a job may name, per task, with their hyperparameters; the first of each task is its default.</summary>
public static class Trainers
{
    private const string Label = ModelSchema.LabelColumn;
    private const string Features = ModelSchema.FeaturesColumn;

    // Defaults are ML.NET's own, so naming a trainer without settings trains what ML.NET would.
    private static readonly Hyperparameter Leaves = new("numberOfLeaves", 2, 512, 20, IsInteger: true, LogScale: true);
    private static readonly Hyperparameter Trees = new("numberOfTrees", 5, 2000, 100, IsInteger: true, LogScale: true);
    private static readonly Hyperparameter MinLeafRows = new("minimumExampleCountPerLeaf", 1, 200, 10, IsInteger: true, LogScale: true);
    private static readonly Hyperparameter LearningRate = new("learningRate", 0.001, 1, 0.2, IsInteger: false, LogScale: true);
    private static readonly Hyperparameter LightGbmLeaves = Leaves with { Default = 31 };
    private static readonly Hyperparameter LightGbmMinLeafRows = MinLeafRows with { Default = 20 };
    private static readonly Hyperparameter LightGbmLearningRate = LearningRate with { Default = 0.1 };
    private static readonly Hyperparameter Iterations = new("numberOfIterations", 5, 2000, 100, IsInteger: true, LogScale: true);
    private static readonly Hyperparameter L1 = new("l1Regularization", 0, 10, 1, IsInteger: false, LogScale: false);
    private static readonly Hyperparameter L2 = new("l2Regularization", 1e-6, 10, 1, IsInteger: false, LogScale: true);
    private static readonly Hyperparameter SdcaL1 = L1 with { Default = null };
    private static readonly Hyperparameter SdcaL2 = L2 with { Default = null };

    private static readonly Hyperparameter[] FastTreeParameters = [Leaves, Trees, MinLeafRows, LearningRate];
    private static readonly Hyperparameter[] FastForestParameters = [Leaves, Trees, MinLeafRows];
    private static readonly Hyperparameter[] LightGbmParameters = [LightGbmLeaves, Iterations, LightGbmMinLeafRows, LightGbmLearningRate];
    private static readonly Hyperparameter[] LinearParameters = [L1, L2];
    private static readonly Hyperparameter[] SdcaParameters = [SdcaL1, SdcaL2];

    private static readonly IReadOnlyDictionary<MLTask, IReadOnlyList<TrainerSpec>> ByTask = new Dictionary<MLTask, IReadOnlyList<TrainerSpec>>
    {
        [MLTask.Binary] =
        [
            new("FastTree", MLTask.Binary, false, FastTreeParameters, (ml, p) => ml.BinaryClassification.Trainers.FastTree(
                Label, Features, numberOfLeaves: Int(p, Leaves), numberOfTrees: Int(p, Trees), minimumExampleCountPerLeaf: Int(p, MinLeafRows),
                learningRate: p(LearningRate.Name)!.Value)),
            new("LightGbm", MLTask.Binary, false, LightGbmParameters, (ml, p) => ml.BinaryClassification.Trainers.LightGbm(
                Label, Features, numberOfLeaves: Int(p, Leaves), minimumExampleCountPerLeaf: Int(p, MinLeafRows), learningRate: p(LearningRate.Name),
                numberOfIterations: Int(p, Iterations))),
            new("FastForest", MLTask.Binary, false, FastForestParameters, (ml, p) => ml.BinaryClassification.Trainers.FastForest(
                Label, Features, numberOfLeaves: Int(p, Leaves), numberOfTrees: Int(p, Trees), minimumExampleCountPerLeaf: Int(p, MinLeafRows))),
            new("SdcaLogisticRegression", MLTask.Binary, true, SdcaParameters, (ml, p) => ml.BinaryClassification.Trainers.SdcaLogisticRegression(
                Label, Features, l2Regularization: (float?)p(L2.Name), l1Regularization: (float?)p(L1.Name))),
            new("LbfgsLogisticRegression", MLTask.Binary, true, LinearParameters, (ml, p) => ml.BinaryClassification.Trainers.LbfgsLogisticRegression(
                Label, Features, l1Regularization: (float)p(L1.Name)!.Value, l2Regularization: (float)p(L2.Name)!.Value)),
        ],
        [MLTask.Multiclass] =
        [
            new("LbfgsMaximumEntropy", MLTask.Multiclass, true, LinearParameters, (ml, p) => ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(
                Label, Features, l1Regularization: (float)p(L1.Name)!.Value, l2Regularization: (float)p(L2.Name)!.Value)),
            new("LightGbm", MLTask.Multiclass, false, LightGbmParameters, (ml, p) => ml.MulticlassClassification.Trainers.LightGbm(
                Label, Features, numberOfLeaves: Int(p, Leaves), minimumExampleCountPerLeaf: Int(p, MinLeafRows), learningRate: p(LearningRate.Name),
                numberOfIterations: Int(p, Iterations))),
            new("SdcaMaximumEntropy", MLTask.Multiclass, true, SdcaParameters, (ml, p) => ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(
                Label, Features, l2Regularization: (float?)p(L2.Name), l1Regularization: (float?)p(L1.Name))),
            new("OneVersusAllFastTree", MLTask.Multiclass, false, FastTreeParameters, (ml, p) => ml.MulticlassClassification.Trainers.OneVersusAll(
                ml.BinaryClassification.Trainers.FastTree(labelColumnName: Label, featureColumnName: Features, numberOfLeaves: Int(p, Leaves),
                    numberOfTrees: Int(p, Trees), minimumExampleCountPerLeaf: Int(p, MinLeafRows), learningRate: p(LearningRate.Name)!.Value), Label)),
        ],
        [MLTask.Regression] =
        [
            new("FastTree", MLTask.Regression, false, FastTreeParameters, (ml, p) => ml.Regression.Trainers.FastTree(
                Label, Features, numberOfLeaves: Int(p, Leaves), numberOfTrees: Int(p, Trees), minimumExampleCountPerLeaf: Int(p, MinLeafRows),
                learningRate: p(LearningRate.Name)!.Value)),
            new("LightGbm", MLTask.Regression, false, LightGbmParameters, (ml, p) => ml.Regression.Trainers.LightGbm(
                Label, Features, numberOfLeaves: Int(p, Leaves), minimumExampleCountPerLeaf: Int(p, MinLeafRows), learningRate: p(LearningRate.Name),
                numberOfIterations: Int(p, Iterations))),
            new("FastForest", MLTask.Regression, false, FastForestParameters, (ml, p) => ml.Regression.Trainers.FastForest(
                Label, Features, numberOfLeaves: Int(p, Leaves), numberOfTrees: Int(p, Trees), minimumExampleCountPerLeaf: Int(p, MinLeafRows))),
            new("Sdca", MLTask.Regression, true, SdcaParameters, (ml, p) => ml.Regression.Trainers.Sdca(
                Label, Features, l2Regularization: (float?)p(L2.Name), l1Regularization: (float?)p(L1.Name))),
        ],
    };

    /// <summary>The name that asks for the automatic search over every trainer of the task.</summary>
    public const string Auto = "auto";

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
}

using Microsoft.ML;
using Microsoft.ML.Trainers;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML;

/// <summary>The ML.NET trainers a job may name, per task, and the default for each task.</summary>
public static class Trainers
{
    private const string Label = ModelSchema.LabelColumn;
    private const string Features = ModelSchema.FeaturesColumn;

    private sealed record TrainerInfo(string Name, bool NeedsNormalizedFeatures, Func<MLContext, IEstimator<ITransformer>> Create);

    private static readonly IReadOnlyDictionary<MLTask, IReadOnlyList<TrainerInfo>> ByTask = new Dictionary<MLTask, IReadOnlyList<TrainerInfo>>
    {
        [MLTask.Binary] =
        [
            new("FastTree", false, ml => ml.BinaryClassification.Trainers.FastTree(Label, Features)),
            new("LightGbm", false, ml => ml.BinaryClassification.Trainers.LightGbm(Label, Features)),
            new("FastForest", false, ml => ml.BinaryClassification.Trainers.FastForest(Label, Features)),
            new("SdcaLogisticRegression", true, ml => ml.BinaryClassification.Trainers.SdcaLogisticRegression(Label, Features)),
            new("LbfgsLogisticRegression", true, ml => ml.BinaryClassification.Trainers.LbfgsLogisticRegression(Label, Features)),
        ],
        [MLTask.Multiclass] =
        [
            new("LbfgsMaximumEntropy", true, ml => ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(Label, Features)),
            new("LightGbm", false, ml => ml.MulticlassClassification.Trainers.LightGbm(Label, Features)),
            new("SdcaMaximumEntropy", true, ml => ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(Label, Features)),
            new("OneVersusAllFastTree", false, ml => ml.MulticlassClassification.Trainers.OneVersusAll(
                ml.BinaryClassification.Trainers.FastTree(labelColumnName: Label, featureColumnName: Features), Label)),
        ],
        [MLTask.Regression] =
        [
            new("FastTree", false, ml => ml.Regression.Trainers.FastTree(Label, Features)),
            new("LightGbm", false, ml => ml.Regression.Trainers.LightGbm(Label, Features)),
            new("FastForest", false, ml => ml.Regression.Trainers.FastForest(Label, Features)),
            new("Sdca", true, ml => ml.Regression.Trainers.Sdca(Label, Features)),
        ],
    };

    /// <summary>The trainer used when a job names none: the first listed for its task.</summary>
    public static string DefaultFor(MLTask task) => ByTask[task][0].Name;

    public static IReadOnlyList<string> NamesFor(MLTask task) => [.. ByTask[task].Select(trainer => trainer.Name)];

    /// <summary>The trainer's canonical name, or null when <paramref name="name"/> is not a trainer for the task.</summary>
    public static string? Canonical(MLTask task, string name) =>
        ByTask[task].FirstOrDefault(trainer => string.Equals(trainer.Name, name, StringComparison.OrdinalIgnoreCase))?.Name;

    internal static (IEstimator<ITransformer> Estimator, bool NeedsNormalizedFeatures) Create(MLContext ml, MLTask task, string name)
    {
        var trainer = ByTask[task].Single(trainer => trainer.Name == Canonical(task, name));
        return (trainer.Create(ml), trainer.NeedsNormalizedFeatures);
    }
}

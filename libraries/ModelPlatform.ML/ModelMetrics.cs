using Microsoft.ML;
using Microsoft.ML.Data;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML;

/// <summary>The metrics of each task, computed from scored rows, and the one a search optimises.</summary>
public static class ModelMetrics
{
    /// <summary>The metrics a search may optimise per task, the default first; false where lower is better.</summary>
    private static readonly IReadOnlyDictionary<MLTask, (string Name, bool HigherIsBetter)[]> Optimisable = new Dictionary<MLTask, (string, bool)[]>
    {
        [MLTask.Binary] = [("auc", true), ("accuracy", true), ("f1", true), ("logLoss", false)],
        [MLTask.Multiclass] = [("macroAccuracy", true), ("microAccuracy", true), ("logLoss", false)],
        [MLTask.Regression] = [("r2", true), ("rmse", false), ("mae", false)],
    };

    public static string DefaultFor(MLTask task) => Optimisable[task][0].Name;

    public static IReadOnlyList<string> NamesFor(MLTask task) => [.. Optimisable[task].Select(metric => metric.Name)];

    /// <summary>Whether a larger value of <paramref name="metric"/> is better; null when it is not a metric of the task.</summary>
    public static bool? HigherIsBetter(MLTask task, string metric) =>
        Optimisable[task].Where(candidate => candidate.Name == metric).Select(candidate => (bool?)candidate.HigherIsBetter).FirstOrDefault();

    public static Dictionary<string, double> Evaluate(MLContext ml, ModelSignature signature, IDataView scored)
    {
        const string label = ModelSchema.LabelColumn;
        switch (signature.Task)
        {
            case MLTask.Binary when scored.Schema.GetColumnOrNull("Probability") is not null:
                var calibrated = ml.BinaryClassification.Evaluate(scored, label);
                return new()
                {
                    ["accuracy"] = calibrated.Accuracy,
                    ["auc"] = calibrated.AreaUnderRocCurve,
                    ["f1"] = calibrated.F1Score,
                    ["logLoss"] = calibrated.LogLoss,
                };
            case MLTask.Binary:
                var uncalibrated = ml.BinaryClassification.EvaluateNonCalibrated(scored, label);
                return new()
                {
                    ["accuracy"] = uncalibrated.Accuracy,
                    ["auc"] = uncalibrated.AreaUnderRocCurve,
                    ["f1"] = uncalibrated.F1Score,
                };
            case MLTask.Multiclass:
                var multiclass = ml.MulticlassClassification.Evaluate(scored, label);
                var metrics = new Dictionary<string, double>
                {
                    ["microAccuracy"] = multiclass.MicroAccuracy,
                    ["macroAccuracy"] = multiclass.MacroAccuracy,
                    ["logLoss"] = multiclass.LogLoss,
                };
                AddPerClass(metrics, signature.Classes, multiclass);
                return metrics;
            default:
                var regression = ml.Regression.Evaluate(scored, label);
                return new()
                {
                    ["r2"] = regression.RSquared,
                    ["rmse"] = regression.RootMeanSquaredError,
                    ["mae"] = regression.MeanAbsoluteError,
                };
        }
    }

    // Flat names (perClass.{class}.precision) keep the registry's metrics a simple map, as in MLflow.
    private static void AddPerClass(Dictionary<string, double> metrics, IReadOnlyList<string>? classes, MulticlassClassificationMetrics multiclass)
    {
        if (classes is null)
        {
            return;
        }

        var matrix = multiclass.ConfusionMatrix;
        for (var i = 0; i < classes.Count && i < matrix.NumberOfClasses; i++)
        {
            metrics[$"perClass.{classes[i]}.precision"] = Finite(matrix.PerClassPrecision[i]);
            metrics[$"perClass.{classes[i]}.recall"] = Finite(matrix.PerClassRecall[i]);
            metrics[$"perClass.{classes[i]}.logLoss"] = Finite(multiclass.PerClassLogLoss[i]);
        }
    }

    // A class absent from a small hold-out has no precision; JSON cannot carry NaN.
    private static double Finite(double value) => double.IsFinite(value) ? value : 0;
}

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

    /// <summary>
    /// The task's metrics of the scored rows, every one a finite number (JSON has no NaN or infinity): log-loss clips
    /// probabilities, R² of a constant label is 1 or 0, per-class precision and recall of a class never predicted or never
    /// seen are 0 (each as scikit-learn defines them); anything else that is not finite is left out.
    /// </summary>
    public static Dictionary<string, double> Evaluate(MLContext ml, ModelSignature signature, IDataView scored)
    {
        var metrics = EvaluateAll(ml, signature, scored);
        foreach (var (name, value) in metrics.Where(metric => !double.IsFinite(metric.Value)).ToList())
        {
            metrics.Remove(name);
        }

        return metrics;
    }

    private static Dictionary<string, double> EvaluateAll(MLContext ml, ModelSignature signature, IDataView scored)
    {
        const string label = ModelSchema.LabelColumn;
        switch (signature.Task)
        {
            case MLTask.Binary when scored.Schema.GetColumnOrNull("Probability") is not null:
                if (EvaluatedOrNull(() => ml.BinaryClassification.Evaluate(scored, label)) is not { } calibrated)
                {
                    return CountedMetrics(scored, label);
                }

                return new()
                {
                    ["accuracy"] = calibrated.Accuracy,
                    ["auc"] = calibrated.AreaUnderRocCurve,
                    ["f1"] = calibrated.F1Score,
                    // The two agree wherever ML.NET's is finite: the rows are scored a second time only when it is not.
                    ["logLoss"] = double.IsFinite(calibrated.LogLoss) ? calibrated.LogLoss : ClippedLogLoss(scored, label),
                };
            case MLTask.Binary:
                if (EvaluatedOrNull(() => ml.BinaryClassification.EvaluateNonCalibrated(scored, label)) is not { } uncalibrated)
                {
                    return CountedMetrics(scored, label);
                }

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
                    ["r2"] = double.IsFinite(regression.RSquared) ? regression.RSquared : ConstantLabelR2(regression),
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

    /// <summary>
    /// Binary log-loss in bits, as ML.NET's, but with each probability clipped to [1e-15, 1 - 1e-15] as scikit-learn's
    /// log_loss clips it: ML.NET's is infinite when a trainer gives a wrong answer a probability of exactly 0 or 1, which
    /// a float reaches at 1 - 6e-8. Wherever ML.NET's is finite, the two agree.
    /// </summary>
    private static double ClippedLogLoss(IDataView scored, string label)
    {
        const double Epsilon = 1e-15;
        using var cursor = scored.GetRowCursor([scored.Schema[label], scored.Schema["Probability"]]);
        var getLabel = cursor.GetGetter<bool>(scored.Schema[label]);
        var getProbability = cursor.GetGetter<float>(scored.Schema["Probability"]);
        var isPositive = false;
        var probability = 0f;
        double sum = 0;
        long rows = 0;
        while (cursor.MoveNext())
        {
            getLabel(ref isPositive);
            getProbability(ref probability);
            var ofTruth = Math.Clamp(isPositive ? probability : 1 - (double)probability, Epsilon, 1 - Epsilon);
            sum -= Math.Log2(ofTruth);
            rows++;
        }

        return rows == 0 ? double.NaN : sum / rows;
    }

    /// <summary>
    /// Accuracy and F1 counted from the rows, for a set ML.NET refuses to evaluate because AUC is undefined there (a small
    /// fold with one class, or whose scores of one class are all NaN). AUC is left out; F1 with no positive is 0.
    /// </summary>
    private static Dictionary<string, double> CountedMetrics(IDataView scored, string label)
    {
        using var cursor = scored.GetRowCursor([scored.Schema[label], scored.Schema["PredictedLabel"]]);
        var getLabel = cursor.GetGetter<bool>(scored.Schema[label]);
        var getPredicted = cursor.GetGetter<bool>(scored.Schema["PredictedLabel"]);
        bool isPositive = false, predicted = false;
        long rows = 0, right = 0, truePositives = 0, positives = 0, predictedPositives = 0;
        while (cursor.MoveNext())
        {
            getLabel(ref isPositive);
            getPredicted(ref predicted);
            rows++;
            right += isPositive == predicted ? 1 : 0;
            truePositives += isPositive && predicted ? 1 : 0;
            positives += isPositive ? 1 : 0;
            predictedPositives += predicted ? 1 : 0;
        }

        var f1 = truePositives == 0 ? 0 : 2.0 * truePositives / (positives + predictedPositives);
        return new() { ["accuracy"] = rows == 0 ? double.NaN : (double)right / rows, ["f1"] = f1 };
    }

    /// <summary>ML.NET's binary metrics, or null where it refuses them (it throws when AUC is undefined).</summary>
    private static T? EvaluatedOrNull<T>(Func<T> evaluate)
        where T : class
    {
        try
        {
            return evaluate();
        }
        catch (ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    // R² of a label that never varies has no scale; scikit-learn's force_finite: 1 for a perfect fit, else 0.
    private static double ConstantLabelR2(RegressionMetrics regression) => regression.MeanSquaredError == 0 ? 1 : 0;

    // A class absent from a small hold-out has no precision; scikit-learn's zero_division default makes it 0.
    private static double Finite(double value) => double.IsFinite(value) ? value : 0;
}

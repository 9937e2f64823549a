using Microsoft.ML;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML;

/// <summary>
/// Scores two models on the same held-out rows, through the same path (their served predictions), so that their metrics
/// differ only by the models: the candidate a job trained, and a baseline such as the version behind <c>production</c>.
/// A classifier's metrics include each class's recall (<c>perClass.{class}.recall</c>), for gates that refuse a model
/// that buys its overall gain by missing one class.
/// </summary>
public static class HoldOutComparer
{
    /// <summary>
    /// The metrics of <paramref name="candidate"/> and of <paramref name="baseline"/> on <paramref name="holdOut"/> (rows with
    /// the label prepared for the candidate's task); or why the baseline cannot be scored on them.
    /// </summary>
    public static (IReadOnlyDictionary<string, double>? Candidate, IReadOnlyDictionary<string, double>? Baseline, string? Problem) Compare(
        MLContext ml, ModelPredictor candidate, ModelPredictor baseline, IDataView holdOut)
    {
        var signature = candidate.Signature;
        if (baseline.Signature.Task != signature.Task)
        {
            return (null, null, $"the baseline is a {Name(baseline.Signature.Task)} model, and the candidate a {Name(signature.Task)} one");
        }

        foreach (var input in baseline.Signature.Inputs)
        {
            var column = holdOut.Schema.GetColumnOrNull(input.Name);
            if (column is null || ColumnValues.IsNumeric(input.Type) != (column.Value.Type.RawType == typeof(float)))
            {
                return (null, null, $"the baseline reads the column '{input.Name}' ({input.Type.ToString().ToLowerInvariant()}), which the rows "
                    + (column is null ? "no longer have" : "hold as another type"));
            }
        }

        var labels = ScoredRows.Labels(holdOut, signature.Task);
        var classes = ScoredRows.Classes(holdOut, signature.Task);
        return (
            Metrics(ml, signature, labels, classes, Predictions(candidate, holdOut, signature)),
            Metrics(ml, signature, labels, classes, Predictions(baseline, holdOut, signature)),
            null);
    }

    /// <summary>A model's predictions for every row, flat as <see cref="ScoredRows"/> has them, in the candidate's class order.</summary>
    private static float[] Predictions(ModelPredictor model, IDataView rows, ModelSignature candidate)
    {
        var predictions = model.Predict(OnnxExport.Records(rows, model.Signature.Inputs, int.MaxValue));
        switch (candidate.Task)
        {
            case MLTask.Binary:
                // Its probability is of its own positive class (the second); flipped when that is the candidate's negative one.
                var flipped = model.Signature.Classes?[^1] != candidate.Classes?[^1];
                return [.. predictions.Select(prediction => flipped ? 1 - prediction.Probability!.Value : prediction.Probability!.Value)];
            case MLTask.Multiclass:
                // A class the model never learnt scores 0.
                return [.. predictions.SelectMany(prediction => candidate.Classes!.Select(name => prediction.Scores!.GetValueOrDefault(name)))];
            default:
                return [.. predictions.Select(prediction => prediction.Value!.Value)];
        }
    }

    private static Dictionary<string, double> Metrics(MLContext ml, ModelSignature signature, float[] labels, int classes, float[] predictions)
    {
        var metrics = ModelMetrics.Evaluate(ml, signature, ScoredRows.View(ml, signature.Task, classes, labels, predictions));
        if (signature.Task == MLTask.Binary && signature.Classes is [var negative, var positive])
        {
            // Multiclass metrics have each class's recall already; a binary model's two are counted here.
            metrics[$"perClass.{negative}.recall"] = Recall(labels, predictions, label: 0, predicted: probability => probability <= 0.5f);
            metrics[$"perClass.{positive}.recall"] = Recall(labels, predictions, label: 1, predicted: probability => probability > 0.5f);
        }

        return metrics;
    }

    /// <summary>The share of the rows labelled <paramref name="label"/> that the model predicted as it; 0 when there are none.</summary>
    private static double Recall(float[] labels, float[] probabilities, float label, Func<float, bool> predicted)
    {
        var (rows, found) = (0, 0);
        for (var i = 0; i < labels.Length; i++)
        {
            if (labels[i] == label)
            {
                rows++;
                found += predicted(probabilities[i]) ? 1 : 0;
            }
        }

        return rows == 0 ? 0 : (double)found / rows;
    }

    private static string Name(MLTask task) => task.ToString().ToLowerInvariant();
}

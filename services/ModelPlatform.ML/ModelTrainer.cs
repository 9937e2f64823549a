using Microsoft.ML;
using Microsoft.ML.Data;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML;

/// <summary>A fitted model, saved as an ML.NET zip, with the metrics it scored on the hold-out rows.</summary>
public sealed record TrainedModel(byte[] Artifact, ModelSignature Signature, IReadOnlyDictionary<string, double> Metrics, string Trainer);

/// <summary>Fits a pipeline on a seeded training split and evaluates it on the rest.</summary>
public static class ModelTrainer
{
    public const double DefaultTestFraction = 0.2;

    public static TrainedModel Train(TrainingData data, string trainer, int seed = 42, double testFraction = DefaultTestFraction)
    {
        var ml = new MLContext(seed);
        var signature = data.Signature;
        var prepared = PipelineFactory.PrepareLabel(ml, data.View, signature.Task);
        var split = ml.Data.TrainTestSplit(prepared, testFraction, seed: seed);
        var trainSet = ml.Data.Cache(split.TrainSet);

        var model = PipelineFactory.Create(ml, signature, trainer).Fit(trainSet);
        var scored = model.Transform(split.TestSet);
        var metrics = Evaluate(ml, signature.Task, scored);

        var inputSchema = ModelSchema.ForInputs(signature.Inputs);
        if (signature.Task == MLTask.Multiclass)
        {
            // The score vector is ordered by the label's key values; record that order as the classes.
            signature = signature with { Classes = ScoreSlotNames(model.GetOutputSchema(inputSchema)) };
        }

        using var artifact = new MemoryStream();
        ml.Model.Save(model, inputSchema, artifact);
        return new TrainedModel(artifact.ToArray(), signature, metrics, Trainers.Canonical(signature.Task, trainer)!);
    }

    private static Dictionary<string, double> Evaluate(MLContext ml, MLTask task, IDataView scored)
    {
        const string label = ModelSchema.LabelColumn;
        switch (task)
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
                return new()
                {
                    ["microAccuracy"] = multiclass.MicroAccuracy,
                    ["macroAccuracy"] = multiclass.MacroAccuracy,
                    ["logLoss"] = multiclass.LogLoss,
                };
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

    private static List<string> ScoreSlotNames(DataViewSchema schema)
    {
        VBuffer<ReadOnlyMemory<char>> names = default;
        schema["Score"].GetSlotNames(ref names);
        return [.. names.DenseValues().Select(name => name.ToString())];
    }
}

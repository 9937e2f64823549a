using Microsoft.ML;
using Microsoft.ML.Data;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML;

/// <summary>What to train: a named trainer with optional settings, or <see cref="Trainers.Auto"/> with a time budget.</summary>
/// <param name="Metric">What the search optimises; the task's default (AUC, macro accuracy, R²) when null.</param>
/// <param name="MaxTrials">Caps the search so that a run is reproducible whatever the machine's speed.</param>
/// <param name="HoldOutFromRow">When set, rows from this index on are the hold-out (a split made elsewhere, as in a
/// benchmark); otherwise a seeded <paramref name="TestFraction"/> of the rows is.</param>
public sealed record TrainingSettings(
    string Trainer,
    IReadOnlyDictionary<string, double>? Hyperparameters = null,
    int BudgetSeconds = 60,
    string? Metric = null,
    int Seed = 42,
    int Folds = 5,
    int? MaxTrials = null,
    double TestFraction = 0.2,
    int? HoldOutFromRow = null);

/// <summary>Where a training run is, for a job's progress.</summary>
public sealed record TrainingProgress(string Phase, double Fraction);

/// <summary>A fitted model, saved as an ML.NET zip, with the metrics it scored on the hold-out rows.</summary>
public sealed record TrainedModel(
    byte[] Artifact,
    ModelSignature Signature,
    IReadOnlyDictionary<string, double> Metrics,
    string Trainer,
    IReadOnlyDictionary<string, double> Hyperparameters,
    IReadOnlyList<SearchTrial>? Leaderboard,
    IReadOnlyList<DroppedColumn> DroppedColumns);

/// <summary>Fits a pipeline on a seeded training split (searching for it first when asked) and evaluates it on the rest.</summary>
public static class ModelTrainer
{
    public static TrainedModel Train(
        TrainingData data, TrainingSettings settings, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var ml = new MLContext(settings.Seed);
        using var cancellation = cancellationToken.Register(() => Cancellation.Cancel(ml));
        var signature = data.Signature;
        var prepared = PipelineFactory.PrepareLabel(ml, data.View, signature.Task);
        var (trainRows, testSet) = settings.HoldOutFromRow is { } firstHeldOut
            ? (ml.Data.TakeRows(prepared, firstHeldOut), ml.Data.SkipRows(prepared, firstHeldOut))
            : ml.Data.TrainTestSplit(prepared, settings.TestFraction, seed: settings.Seed) switch { var split => (split.TrainSet, split.TestSet) };
        var trainSet = ml.Data.Cache(trainRows);

        TrainerSpec trainer;
        IReadOnlyDictionary<string, double>? hyperparameters;
        IReadOnlyList<SearchTrial>? leaderboard = null;
        if (string.Equals(settings.Trainer, Trainers.Auto, StringComparison.OrdinalIgnoreCase))
        {
            var search = new AutoSearch(ml, data, settings, progress);
            leaderboard = search.Run(trainSet, cancellationToken);
            var best = search.Best
                ?? throw new TrainingDataException($"Every trial of the search failed; the first error: {leaderboard.FirstOrDefault()?.Error}");
            (trainer, hyperparameters) = (Trainers.Find(signature.Task, best.Trainer)!, best.Hyperparameters);
        }
        else
        {
            trainer = Trainers.Find(signature.Task, settings.Trainer)
                ?? throw new ArgumentException($"'{settings.Trainer}' is not a {signature.Task} trainer.", nameof(settings));
            hyperparameters = settings.Hyperparameters;
        }

        progress?.Report(new TrainingProgress("training", 0));
        var model = PipelineFactory.Create(ml, signature, trainer, hyperparameters, data.HashedColumns).Fit(trainSet);
        cancellationToken.ThrowIfCancellationRequested();

        progress?.Report(new TrainingProgress("evaluating", 0));
        var inputSchema = ModelSchema.ForInputs(signature.Inputs);
        if (signature.Task == MLTask.Multiclass)
        {
            // The score vector is ordered by the label's key values; record that order as the classes.
            signature = signature with { Classes = ScoreSlotNames(model.GetOutputSchema(inputSchema)) };
        }

        var metrics = ModelMetrics.Evaluate(ml, signature, model.Transform(testSet));
        using var artifact = new MemoryStream();
        ml.Model.Save(model, inputSchema, artifact);
        return new TrainedModel(artifact.ToArray(), signature, metrics, trainer.Name, trainer.Complete(hyperparameters), leaderboard, data.DroppedColumns);
    }

    private static List<string> ScoreSlotNames(DataViewSchema schema)
    {
        VBuffer<ReadOnlyMemory<char>> names = default;
        schema["Score"].GetSlotNames(ref names);
        return [.. names.DenseValues().Select(name => name.ToString())];
    }
}

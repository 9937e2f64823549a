using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using ModelPlatform.Contracts;
using ModelPlatform.ML.Explanations;

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

/// <summary>How a model's metrics were measured.</summary>
/// <param name="Method"><c>hold-out</c> (rows the model never saw) or <c>cross-validation</c> (the mean over k folds of all rows).</param>
/// <param name="Rows">The rows scored: the hold-out's, or all of them.</param>
public sealed record ModelEvaluation(string Method, int Rows, int? Folds = null)
{
    public const string HoldOut = "hold-out";
    public const string CrossValidation = "cross-validation";
}

/// <summary>A fitted model, saved as its artifact (<see cref="ModelArtifact"/>), with its metrics and how they were measured.</summary>
/// <param name="Trainer">The trainer, or <see cref="Trainers.Ensemble"/> for an ensemble of the search's best candidates.</param>
/// <param name="SearchSeconds">How long the automatic search took, when there was one (the final fit comes after).</param>
/// <param name="Warnings">What the user should know about this model before trusting it: small data, a budget too small.</param>
/// <param name="Ensemble">The ensemble's members and its cross-validated score, when the search chose one.</param>
/// <param name="Importance">Each input column's permutation importance on the hold-out; null without a hold-out.</param>
/// <param name="OnnxExport">The pipeline exported to ONNX and checked against the model on the hold-out, or why it is not.</param>
/// <param name="Reference">The typical training row that explanations measure from (<see cref="ReferenceRow"/>), as JSON values.</param>
/// <param name="Comparison">With a baseline to compare with: both models on the hold-out.</param>
public sealed record TrainedModel(
    byte[] Artifact,
    ModelSignature Signature,
    IReadOnlyDictionary<string, double> Metrics,
    string Trainer,
    IReadOnlyDictionary<string, double> Hyperparameters,
    IReadOnlyList<SearchTrial>? Leaderboard,
    IReadOnlyList<DroppedColumn> DroppedColumns,
    ModelEvaluation Evaluation,
    double? SearchSeconds,
    IReadOnlyList<string> Warnings,
    SearchEnsemble? Ensemble = null,
    FeatureImportance? Importance = null,
    OnnxExportResult? OnnxExport = null,
    IReadOnlyDictionary<string, JsonElement>? Reference = null,
    HoldOutComparison? Comparison = null);

/// <summary>
/// A new model and a baseline scored on the same held-out rows (<see cref="HoldOutComparer"/>): their metrics, or
/// <paramref name="Problem"/>, why they could not be compared.
/// </summary>
public sealed record HoldOutComparison(
    int Rows, IReadOnlyDictionary<string, double>? Candidate, IReadOnlyDictionary<string, double>? Baseline, string? Problem);

/// <summary>
/// Fits a pipeline on a seeded training split (searching for it first when asked) and evaluates it on the rest.
/// Data too small for a hold-out that means anything is not split: the model is fit on every row and its metrics
/// are cross-validated, and the evaluation says so.
/// </summary>
public static class ModelTrainer
{
    /// <summary>A hold-out smaller than this is too small to measure a model (one row moves accuracy by 2% or more).</summary>
    public const int MinHoldOutRows = 50;

    /// <param name="baseline">A model to score on the same hold-out as the new one (the version in production, say), for
    /// <see cref="TrainedModel.Comparison"/>.</param>
    public static TrainedModel Train(
        TrainingData data, TrainingSettings settings, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default,
        ModelPredictor? baseline = null)
    {
        try
        {
            return TrainCancellably(data, settings, progress, baseline, cancellationToken);
        }
        catch (Exception ex) when (cancellationToken.IsCancellationRequested && ex is not OperationCanceledException)
        {
            // A cancelled fit may surface as another exception (FastTree's parallel binning throws an AggregateException).
            throw new OperationCanceledException("Training was cancelled.", ex, cancellationToken);
        }
    }

    private static TrainedModel TrainCancellably(
        TrainingData data, TrainingSettings settings, IProgress<TrainingProgress>? progress, ModelPredictor? baseline, CancellationToken cancellationToken)
    {
        var ml = new MLContext(settings.Seed);
        using var cancellation = new FitWatchdog(ml, TimeSpan.MaxValue, cancellationToken);
        var signature = data.Signature;
        var prepared = PipelineFactory.PrepareLabel(ml, data.View, signature.Task);
        var holdOutRows = settings.HoldOutFromRow is { } firstHeldOut ? data.Rows - firstHeldOut : (int)Math.Round(data.Rows * settings.TestFraction);
        var crossValidate = settings.HoldOutFromRow is null && holdOutRows < MinHoldOutRows;
        // The training rows are not cached (ml.Data.Cache): the view reads the job's columns, in memory already, and a cache
        // would copy them as ML.NET's own arrays, grown by doubling (docs/performance.md). Trainers that pass over their rows
        // many times (SDCA, L-BFGS) cache the featurized rows themselves, and the search caches its folds.
        var (trainSet, testSet) = crossValidate ? (prepared, null)
            : settings.HoldOutFromRow is { } first ? (ml.Data.TakeRows(prepared, first), ml.Data.SkipRows(prepared, first))
            : ml.Data.TrainTestSplit(prepared, settings.TestFraction, seed: settings.Seed) switch { var split => (split.TrainSet, split.TestSet) };

        TrainerSpec trainer;
        IReadOnlyDictionary<string, double>? hyperparameters;
        SearchEnsemble? ensemble = null;
        IReadOnlyList<SearchTrial>? leaderboard = null;
        double? searchSeconds = null;
        var warnings = new List<string>();
        if (string.Equals(settings.Trainer, Trainers.Auto, StringComparison.OrdinalIgnoreCase))
        {
            var clock = Stopwatch.StartNew();
            var search = new AutoSearch(data, settings, progress);
            leaderboard = search.Run(ml, trainSet, cancellationToken);
            searchSeconds = clock.Elapsed.TotalSeconds;
            ensemble = search.Ensemble;
            if (search.Best is { } best)
            {
                (trainer, hyperparameters) = (Trainers.Find(signature.Task, best.Trainer)!, best.Hyperparameters);
                if (best.Stopped is not null)
                {
                    warnings.Add($"No candidate was scored on every fold within the budget of {settings.BudgetSeconds} s; trial {best.Trial} "
                        + $"was chosen on {best.FoldsScored} of {search.FoldCount} folds. A larger budgetSeconds searches properly.");
                }
            }
            else if (leaderboard.All(trial => trial.Error is not null))
            {
                throw new TrainingDataException($"Every trial of the search failed; the first error: {leaderboard.FirstOrDefault()?.Error}");
            }
            else
            {
                (trainer, hyperparameters) = (search.FirstCandidate, null);
                warnings.Add($"No candidate finished one fold within its time limit (a quarter of the budget of {settings.BudgetSeconds} s), "
                    + $"so {trainer.Name} was trained with its defaults, unsearched. A larger budgetSeconds searches properly.");
            }
        }
        else
        {
            trainer = Trainers.Find(signature.Task, settings.Trainer)
                ?? throw new ArgumentException($"'{settings.Trainer}' is not a {signature.Task} trainer.", nameof(settings));
            hyperparameters = settings.Hyperparameters;
        }

        progress?.Report(new TrainingProgress("training", 0));
        IReadOnlyList<(IEstimator<ITransformer> Pipeline, double Weight)> members = ensemble is null
            ? [(PipelineFactory.Create(ml, signature, trainer, hyperparameters, data.HashedColumns), 1.0)]
            : [.. ensemble.Members.Select(member => (
                PipelineFactory.Create(ml, signature, Trainers.Find(signature.Task, member.Trainer)!, member.Hyperparameters, data.HashedColumns),
                member.Weight))];
        var model = Fit(members, trainSet);
        cancellationToken.ThrowIfCancellationRequested();
        // From the rows the pipeline imputed its means from.
        var reference = ReferenceRow.Compute(trainSet, signature.Inputs);

        progress?.Report(new TrainingProgress("evaluating", 0));
        var inputSchema = ModelSchema.ForInputs(signature.Inputs);
        if (signature.Task == MLTask.Multiclass)
        {
            // The score vector is ordered by the label's key values (the same for every member); record that order as the classes.
            signature = signature with { Classes = ScoreSlotNames(model[0].Model.GetOutputSchema(inputSchema)) };
        }

        var (metrics, evaluation) = testSet is null
            ? CrossValidate(ml, signature, members, trainSet, Math.Min(settings.Folds, data.Rows), settings.Seed)
            // The split is seeded, not exact: the rows it held out are counted.
            : (ModelMetrics.Evaluate(ml, signature, Score(ml, signature.Task, model, testSet)),
                new ModelEvaluation(ModelEvaluation.HoldOut, (int)testSet.CountRows()));
        FeatureImportance? importance = null;
        if (testSet is not null)
        {
            progress?.Report(new TrainingProgress("measuring importance", 0));
            importance = PermutationImportance.Measure(
                ml, signature, settings.Metric ?? ModelMetrics.DefaultFor(signature.Task), rows => Score(ml, signature.Task, model, rows), testSet,
                settings.Seed, cancellationToken);
        }
        else
        {
            warnings.Add($"Only {data.Rows} rows: a hold-out would have {holdOutRows} (fewer than {MinHoldOutRows}), too few to measure the model, "
                + $"so it is trained on every row and its metrics are the mean of {evaluation.Folds}-fold cross-validation.");
        }

        var artifact = ModelArtifact.Save(ml, model, inputSchema);
        HoldOutComparison? comparison = null;
        if (baseline is not null)
        {
            progress?.Report(new TrainingProgress("comparing", 0));
            comparison = Compare(ml, signature, artifact, baseline, testSet, data.Rows);
        }

        progress?.Report(new TrainingProgress("exporting to ONNX", 0));
        // Without a hold-out, the rows the model was fit on are all there is to compare the export on.
        var export = OnnxExport.Export(ml, model, signature, artifact, testSet ?? trainSet);
        return ensemble is null
            ? new TrainedModel(
                artifact, signature, metrics, trainer.Name, trainer.Complete(hyperparameters), leaderboard, data.DroppedColumns, evaluation,
                searchSeconds, warnings, Importance: importance, OnnxExport: export, Reference: reference, Comparison: comparison)
            : new TrainedModel(
                artifact, signature, metrics, Trainers.Ensemble, new Dictionary<string, double>(), leaderboard, data.DroppedColumns, evaluation,
                searchSeconds, warnings, ensemble, importance, export, reference, comparison);
    }

    /// <summary>The new model and <paramref name="baseline"/> on the hold-out; without one, why they could not be compared.</summary>
    private static HoldOutComparison Compare(
        MLContext ml, ModelSignature signature, byte[] artifact, ModelPredictor baseline, IDataView? holdOut, int rows)
    {
        if (holdOut is null)
        {
            return new HoldOutComparison(0, null, null,
                $"only {rows} rows: too few to hold any out (a hold-out needs {MinHoldOutRows}), so there are no rows neither model trained on");
        }

        using var candidate = MLNetPredictor.Load(new MemoryStream(artifact, writable: false), signature);
        var (candidateMetrics, baselineMetrics, problem) = HoldOutComparer.Compare(ml, candidate, baseline, holdOut);
        return new HoldOutComparison((int)holdOut.CountRows(), candidateMetrics, baselineMetrics, problem);
    }

    private static List<(ITransformer Model, double Weight)> Fit(IReadOnlyList<(IEstimator<ITransformer> Pipeline, double Weight)> members, IDataView rows) =>
        [.. members.Select(member => (member.Pipeline.Fit(rows), member.Weight))];

    // An ensemble's rows are scored by averaging its members' predictions.
    private static IDataView Score(MLContext ml, MLTask task, IReadOnlyList<(ITransformer Model, double Weight)> model, IDataView rows) =>
        model.Count == 1
            ? model[0].Model.Transform(rows)
            : ScoredRows.View(
                ml,
                task,
                ScoredRows.Classes(rows, task),
                ScoredRows.Labels(rows, task),
                ScoredRows.Average([.. model.Select(member => (ScoredRows.Predictions(member.Model.Transform(rows), task), member.Weight))]));

    /// <summary>Each metric's mean over the folds; a metric some fold cannot have (say, AUC of a one-class fold) is left out.</summary>
    private static (IReadOnlyDictionary<string, double>, ModelEvaluation) CrossValidate(
        MLContext ml, ModelSignature signature, IReadOnlyList<(IEstimator<ITransformer> Pipeline, double Weight)> members, IDataView rows, int folds, int seed)
    {
        var scored = ml.Data.CrossValidationSplit(rows, folds, seed: seed)
            .Select(fold => ModelMetrics.Evaluate(ml, signature, Score(ml, signature.Task, Fit(members, fold.TrainSet), fold.TestSet)))
            .ToList();
        var metrics = scored[0].Keys
            .Where(name => scored.All(fold => fold.ContainsKey(name)))
            .ToDictionary(name => name, name => scored.Average(fold => fold[name]));
        return (metrics, new ModelEvaluation(ModelEvaluation.CrossValidation, (int)rows.GetRowCount()!.Value, folds));
    }

    private static List<string> ScoreSlotNames(DataViewSchema schema)
    {
        VBuffer<ReadOnlyMemory<char>> names = default;
        schema["Score"].GetSlotNames(ref names);
        return [.. names.DenseValues().Select(name => name.ToString())];
    }
}

using System.Diagnostics;
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
            var best = search.Best ?? throw new TrainingDataException($"Every trial of the search failed; the first error: {leaderboard.FirstOrDefault()?.Error}");
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

/// <summary>One candidate of an automatic search, scored by k-fold cross-validation on the training split.</summary>
public sealed record SearchTrial(
    int Trial,
    string Trainer,
    IReadOnlyDictionary<string, double> Hyperparameters,
    string Metric,
    double? Mean,
    double? StandardDeviation,
    double Seconds,
    string? Error = null);

/// <summary>
/// A seeded search over every trainer of the task and their hyperparameters, within a time budget.
/// It first tries each trainer with ML.NET's defaults, then spends the rest of the budget on the two best
/// trainers: half the trials perturb the best settings found so far (log-normal steps), half sample the
/// whole range. The sequence of candidates depends only on the seed; the budget (or <c>MaxTrials</c>)
/// decides how far along it the search gets.
/// </summary>
internal sealed class AutoSearch(MLContext ml, TrainingData data, TrainingSettings settings, IProgress<TrainingProgress>? progress)
{
    private readonly MLTask _task = data.Signature.Task;
    private readonly string _metric = settings.Metric ?? ModelMetrics.DefaultFor(data.Signature.Task);
    private readonly List<SearchTrial> _trials = [];
    private readonly Random _random = new(settings.Seed);

    public SearchTrial? Best => _trials.Where(trial => trial.Mean is not null).OrderByDescending(Score).FirstOrDefault();

    public IReadOnlyList<SearchTrial> Run(IDataView trainSet, CancellationToken cancellationToken)
    {
        if (ModelMetrics.HigherIsBetter(_task, _metric) is null)
        {
            throw new ArgumentException($"'{_metric}' is not a {_task} metric.", nameof(settings));
        }

        var budget = TimeSpan.FromSeconds(settings.BudgetSeconds);
        var clock = Stopwatch.StartNew();
        var folds = ml.Data.CrossValidationSplit(trainSet, settings.Folds, seed: settings.Seed)
            .Select(fold => (Train: ml.Data.Cache(fold.TrainSet), fold.TestSet))
            .ToList();

        foreach (var (trainer, hyperparameters) in Candidates())
        {
            if (clock.Elapsed >= budget || _trials.Count >= (settings.MaxTrials ?? int.MaxValue))
            {
                break;
            }

            cancellationToken.ThrowIfCancellationRequested();
            progress?.Report(new TrainingProgress("searching", Math.Min(1, clock.Elapsed / budget)));
            _trials.Add(Evaluate(_trials.Count + 1, trainer, hyperparameters, folds));
        }

        return [.. _trials.OrderByDescending(trial => trial.Mean is null ? double.NegativeInfinity : Score(trial))];
    }

    // Larger is better after this, whichever way the metric points.
    private double Score(SearchTrial trial) => ModelMetrics.HigherIsBetter(_task, _metric)!.Value ? trial.Mean!.Value : -trial.Mean!.Value;

    private IEnumerable<(TrainerSpec Trainer, IReadOnlyDictionary<string, double>? Hyperparameters)> Candidates()
    {
        var trainers = Trainers.For(_task);
        foreach (var trainer in trainers)
        {
            yield return (trainer, null);
        }

        while (true)
        {
            var leaders = _trials.Where(trial => trial.Mean is not null)
                .GroupBy(trial => trial.Trainer)
                .Select(group => group.OrderByDescending(Score).First())
                .OrderByDescending(Score)
                .Take(2)
                .ToList();
            var leader = leaders.Count == 0 ? null : leaders[_random.Next(leaders.Count)];
            var trainer = leader is null ? trainers[_random.Next(trainers.Count)] : Trainers.Find(_task, leader.Trainer)!;
            yield return (trainer, leader is not null && _random.NextDouble() < 0.5 ? Perturb(trainer, leader.Hyperparameters) : Sample(trainer));
        }
    }

    private Dictionary<string, double> Sample(TrainerSpec trainer) =>
        trainer.Hyperparameters.ToDictionary(parameter => parameter.Name, parameter =>
            Round(parameter, parameter.LogScale
                ? Math.Exp(Lerp(Math.Log(Math.Max(parameter.Min, 1e-9)), Math.Log(parameter.Max), _random.NextDouble()))
                : Lerp(parameter.Min, parameter.Max, _random.NextDouble())));

    private Dictionary<string, double> Perturb(TrainerSpec trainer, IReadOnlyDictionary<string, double> best) =>
        trainer.Hyperparameters.ToDictionary(parameter => parameter.Name, parameter =>
        {
            if (!best.TryGetValue(parameter.Name, out var value))
            {
                return Sample(trainer)[parameter.Name];
            }

            // A step of about ±40% on a log scale, or a tenth of the range on a linear one.
            var step = Gaussian() * (parameter.LogScale ? 0.4 : 0.1 * (parameter.Max - parameter.Min));
            var moved = parameter.LogScale ? Math.Exp(Math.Log(Math.Max(value, 1e-9)) + step) : value + step;
            return Round(parameter, Math.Clamp(moved, parameter.Min, parameter.Max));
        });

    private SearchTrial Evaluate(int number, TrainerSpec trainer, IReadOnlyDictionary<string, double>? hyperparameters, List<(IDataView Train, IDataView Test)> folds)
    {
        var clock = Stopwatch.StartNew();
        var settingsUsed = trainer.Complete(hyperparameters);
        try
        {
            var scores = folds.Select(fold =>
            {
                var model = PipelineFactory.Create(ml, data.Signature, trainer, hyperparameters, data.HashedColumns).Fit(fold.Train);
                return ModelMetrics.Evaluate(ml, data.Signature, model.Transform(fold.Test))[_metric];
            }).ToList();
            var mean = scores.Average();
            var std = Math.Sqrt(scores.Sum(score => (score - mean) * (score - mean)) / scores.Count);
            return new SearchTrial(number, trainer.Name, settingsUsed, _metric, mean, std, clock.Elapsed.TotalSeconds);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // One failing candidate (say, settings a trainer rejects on this data) must not end the search.
            return new SearchTrial(number, trainer.Name, settingsUsed, _metric, null, null, clock.Elapsed.TotalSeconds, ex.Message);
        }
    }

    private static double Round(Hyperparameter parameter, double value) => parameter.IsInteger ? Math.Round(value) : Math.Round(value, 6);

    private static double Lerp(double from, double to, double fraction) => from + (to - from) * fraction;

    private double Gaussian() => Math.Sqrt(-2 * Math.Log(1 - _random.NextDouble())) * Math.Cos(2 * Math.PI * _random.NextDouble());
}

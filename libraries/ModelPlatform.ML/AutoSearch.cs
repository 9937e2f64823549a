using System.Diagnostics;
using Microsoft.ML;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML;

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

    private SearchTrial Evaluate(
        int number, TrainerSpec trainer, IReadOnlyDictionary<string, double>? hyperparameters, List<(IDataView Train, IDataView Test)> folds)
    {
        var clock = Stopwatch.StartNew();
        var settingsUsed = trainer.Complete(hyperparameters);
        try
        {
            var scores = folds.Select((fold, index) =>
            {
                var model = PipelineFactory.Create(ml, data.Signature, trainer, hyperparameters, data.HashedColumns).Fit(fold.Train);
                // Evaluate leaves out what is not finite (or, for an uncalibrated trainer, a log-loss it cannot have).
                return ModelMetrics.Evaluate(ml, data.Signature, model.Transform(fold.Test)).TryGetValue(_metric, out var score)
                    ? score
                    : throw new InvalidOperationException($"{trainer.Name} has no finite {_metric} on fold {index + 1} of {folds.Count}.");
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

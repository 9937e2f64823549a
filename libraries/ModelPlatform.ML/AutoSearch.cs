using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML;

/// <summary>One candidate of an automatic search, scored by k-fold cross-validation on the training split.</summary>
/// <param name="Mean">The mean over the folds scored; only a trial scored on every fold, without error, ranks.</param>
/// <param name="FoldsScored">How many of the folds the trial was scored on before it ended.</param>
/// <param name="Stopped">Why the trial ended before its last fold: pruned as hopeless, or over its time limit.</param>
public sealed record SearchTrial(
    int Trial,
    string Trainer,
    IReadOnlyDictionary<string, double> Hyperparameters,
    string Metric,
    double? Mean,
    double? StandardDeviation,
    double Seconds,
    string? Error = null,
    int FoldsScored = 0,
    string? Stopped = null);

/// <summary>
/// A seeded, cost-aware search over every trainer of the task and their settings, within a time budget.
/// <list type="bullet">
/// <item>It tries each trainer with its defaults, cheap linear ones first, then spends most of the budget on the two
/// best trainers and a fifth of it on any trainer: half the candidates of a leader step from its best settings so far
/// (log-normal steps, which may grow the cost where it pays), the others are drawn from the whole range with costly
/// settings (trees, iterations, leaves) held to a few times their defaults, as FLAML's CFO starts cheap and grows.</item>
/// <item>Candidates run in rounds of <see cref="RoundSize"/>, one per core, each trainer on one thread. A round's
/// candidates depend only on the seed and the rounds before it, so a run is reproducible whatever the core count.</item>
/// <item>A candidate is scored fold by fold and dropped as soon as its folds so far trail the best finished candidate
/// by more than twice that one's spread (successive halving over folds).</item>
/// <item>Each candidate has its own time limit, a quarter of the budget, and none runs past the budget: at its limit
/// its ML.NET context is cancelled, and it is kept in the leaderboard with the folds it finished. A candidate whose
/// folds so far beat every finished one may use the rest of the budget to finish.</item>
/// <item>A candidate proposed before is not tried again.</item>
/// <item>The last <see cref="EnsembleShareOfBudget"/> of the budget chooses an ensemble of the best candidates from their
/// out-of-fold predictions (<see cref="EnsembleSelection"/>), kept when it beats the best candidate in cross-validation.</item>
/// </list>
/// </summary>
/// <param name="trainers">The trainers to search; the task's own (<see cref="Trainers.For"/>) unless a test gives others.</param>
internal sealed class AutoSearch(
    TrainingData data, TrainingSettings settings, IProgress<TrainingProgress>? progress, IReadOnlyList<TrainerSpec>? trainers = null)
{
    /// <summary>Candidates proposed at once; fixed, so the sequence does not depend on the machine's core count.</summary>
    public const int RoundSize = 4;

    /// <summary>The share of the budget one candidate may take.</summary>
    public const double TrialShareOfBudget = 0.25;

    /// <summary>The share of the budget kept for choosing an ensemble, after the last round of candidates.</summary>
    public const double EnsembleShareOfBudget = 0.05;

    /// <summary>Below this many training rows, cross-validation is repeated three times, with different shuffles.</summary>
    public const int RepeatBelowRows = 1000;

    // Sampled settings that make a trainer slower stay within this many times their default (local steps may go further).
    private const double CostCap = 4;

    private readonly MLTask _task = data.Signature.Task;
    private readonly string _metric = settings.Metric ?? ModelMetrics.DefaultFor(data.Signature.Task);
    private readonly List<SearchTrial> _trials = [];

    // Out-of-fold predictions of the best finished candidates, by trial number: what an ensemble is chosen from.
    private readonly Dictionary<int, float[][]> _predictions = [];
    private readonly Random _random = new(settings.Seed);
    private readonly IReadOnlyList<TrainerSpec> _trainers = trainers ?? Trainers.For(data.Signature.Task);
    private readonly Lock _leaderLock = new();
    private double _leaderScore = double.NegativeInfinity;

    /// <summary>
    /// The best candidate scored on every fold; failing that (a budget too small for the data), the one scored on the
    /// most folds, best first; null when no candidate finished a fold.
    /// </summary>
    public SearchTrial? Best => _trials.Where(Ranks).OrderByDescending(Score).FirstOrDefault()
        ?? _trials.Where(trial => trial.Mean is not null && trial.Error is null)
            .OrderByDescending(trial => trial.FoldsScored)
            .ThenByDescending(Score)
            .FirstOrDefault();

    /// <summary>The ensemble of the best candidates, when one beat the best alone in cross-validation; known after <see cref="Run"/>.</summary>
    public SearchEnsemble? Ensemble { get; private set; }

    /// <summary>The folds each candidate is scored on: <c>Folds</c>, three times over on small data; known once <see cref="Run"/> starts.</summary>
    public int FoldCount { get; private set; }

    /// <summary>The candidate tried first: the cheapest trainer of the task with its defaults.</summary>
    public TrainerSpec FirstCandidate => _trainers.OrderByDescending(trainer => trainer.IsLinear).First();

    /// <summary>Searches on <paramref name="trainSet"/>; returns every candidate, ranked ones first, best first.</summary>
    public IReadOnlyList<SearchTrial> Run(MLContext ml, IDataView trainSet, CancellationToken cancellationToken)
    {
        if (ModelMetrics.HigherIsBetter(_task, _metric) is null)
        {
            throw new ArgumentException($"'{_metric}' is not a {_task} metric.", nameof(settings));
        }

        var budget = TimeSpan.FromSeconds(settings.BudgetSeconds);
        var searchTime = budget * (1 - EnsembleShareOfBudget);
        var clock = Stopwatch.StartNew();
        // On small data one k-fold split is noisy enough that the best of hundreds of candidates is partly luck; repeating
        // it with other shuffles steadies the estimates, and small data trains fast.
        var repeats = trainSet.CountRows() < RepeatBelowRows ? 3 : 1;
        var splits = Enumerable.Range(0, repeats)
            .SelectMany(repeat => ml.Data.CrossValidationSplit(trainSet, settings.Folds, seed: settings.Seed + repeat))
            .ToList();
        FoldCount = splits.Count;
        Lazy<List<(IDataView Train, IDataView Test)>> Folds(bool isLinear) =>
            new(() => [.. splits.Select(fold => Featurize(ml, fold, isLinear))]);

        // Linear and tree trainers encode many-valued categoricals and text differently; where there are none, they share folds.
        var treeFolds = Folds(isLinear: false);
        var sameForBoth = data.HashedColumns.Count == 0 && data.Signature.Inputs.All(input => input.Type != ColumnType.Text);
        var linearFolds = sameForBoth ? treeFolds : Folds(isLinear: true);
        var maxTrials = settings.MaxTrials ?? int.MaxValue;
        using var candidates = Candidates().GetEnumerator();
        while (clock.Elapsed < searchTime && _trials.Count < maxTrials)
        {
            progress?.Report(new TrainingProgress("searching", Math.Min(1, clock.Elapsed / budget)));
            var round = new List<(TrainerSpec Trainer, IReadOnlyDictionary<string, double>? Hyperparameters)>();
            while (round.Count < Math.Min(RoundSize, maxTrials - _trials.Count) && candidates.MoveNext())
            {
                round.Add(candidates.Current);
            }

            var best = Best;
            var results = new (SearchTrial Trial, float[][]? Predictions)?[round.Count];
            Parallel.For(
                0,
                round.Count,
                new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancellationToken },
                i =>
                {
                    // A candidate whose turn comes after the budget is spent is not started.
                    var left = searchTime - clock.Elapsed;
                    var limit = Min(left, budget * TrialShareOfBudget);
                    var (trainer, hyperparameters) = round[i];
                    var trainerFolds = trainer.IsLinear ? linearFolds : treeFolds;
                    results[i] = left <= TimeSpan.Zero
                        ? null
                        : Evaluate(_trials.Count + i + 1, trainer, hyperparameters, trainerFolds.Value, best, limit, left, cancellationToken);
                });
            cancellationToken.ThrowIfCancellationRequested();
            foreach (var (trial, predictions) in results.OfType<(SearchTrial, float[][]?)>())
            {
                _trials.Add(trial);
                if (predictions is not null)
                {
                    _predictions[trial.Trial] = predictions;
                }
            }

            KeepLibraryPredictions();
        }

        var foldLabels = splits.Select(fold => ScoredRows.Labels(fold.TestSet, _task)).ToList();
        var selection = new EnsembleSelection(ml, data.Signature, _metric, ScoredRows.Classes(trainSet, _task), foldLabels);
        Ensemble = selection.Select([.. Library().Select(trial => (trial, _predictions[trial.Trial]))], budget - clock.Elapsed, cancellationToken);
        return [.. _trials.OrderByDescending(trial => Ranks(trial) ? Score(trial) : double.NegativeInfinity)];
    }

    /// <summary>
    /// Featurizes a fold once, fit on its training rows as the whole pipeline would be: candidates differ only in
    /// scaling and trainer, and text or one-hot encoding would otherwise be redone by every candidate, on every pass.
    /// The rows are featurized here, not on the first candidate's first pass, so that no candidate's time limit pays for it.
    /// </summary>
    private (IDataView Train, IDataView Test) Featurize(MLContext ml, DataOperationsCatalog.TrainTestData fold, bool isLinear)
    {
        var featurizer = PipelineFactory.Featurizer(ml, data.Signature, isLinear, data.HashedColumns).Fit(fold.TrainSet);
        return (Cached(ml, featurizer.Transform(fold.TrainSet)), Cached(ml, featurizer.Transform(fold.TestSet)));
    }

    private static IDataView Cached(MLContext ml, IDataView rows)
    {
        var cached = ml.Data.Cache(rows);
        using var cursor = cached.GetRowCursor(cached.Schema);
        while (cursor.MoveNext())
        {
        }

        return cached;
    }

    // The best few candidates, and the best of each trainer: an ensemble gains most from models that err differently.
    private List<SearchTrial> Library()
    {
        var finished = _trials.Where(trial => Ranks(trial) && _predictions.ContainsKey(trial.Trial)).OrderByDescending(Score).ToList();
        return [.. finished.Take(EnsembleSelection.LibrarySize).Union(finished.DistinctBy(trial => trial.Trainer)).OrderByDescending(Score)];
    }

    // Only the best few candidates' predictions can join an ensemble; the rest would only hold memory.
    private void KeepLibraryPredictions()
    {
        var library = Library().Select(trial => trial.Trial).ToHashSet();
        foreach (var trial in _predictions.Keys.Where(trial => !library.Contains(trial)).ToList())
        {
            _predictions.Remove(trial);
        }
    }

    // The best candidate scored on every fold so far, this round's included (a round's candidates run at once).
    private bool LeadsSoFar(double mean)
    {
        lock (_leaderLock)
        {
            return _leaderScore > double.NegativeInfinity && Score(mean) > _leaderScore;
        }
    }

    private void Finished(double mean)
    {
        lock (_leaderLock)
        {
            _leaderScore = Math.Max(_leaderScore, Score(mean));
        }
    }

    private bool Ranks(SearchTrial trial) => trial.Mean is not null && trial.Error is null && trial.Stopped is null;

    // Larger is better after this, whichever way the metric points.
    private double Score(SearchTrial trial) => Score(trial.Mean!.Value);

    private double Score(double value) => ModelMetrics.HigherIsBetter(_task, _metric)!.Value ? value : -value;

    private IEnumerable<(TrainerSpec Trainer, IReadOnlyDictionary<string, double>? Hyperparameters)> Candidates()
    {
        var proposed = new HashSet<string>(StringComparer.Ordinal);
        string Key((TrainerSpec Trainer, IReadOnlyDictionary<string, double>? Hyperparameters) candidate) =>
            candidate.Trainer.Name + string.Concat(candidate.Trainer.Complete(candidate.Hyperparameters)
                .Select(pair => string.Create(CultureInfo.InvariantCulture, $";{pair.Key}={pair.Value:R}")));

        foreach (var trainer in _trainers.OrderByDescending(trainer => trainer.IsLinear))
        {
            // Linear trainers first: the cheapest, and the first finished candidate sets the bar for pruning.
            var start = (trainer, trainer.SearchStart);
            proposed.Add(Key(start));
            yield return start;
        }

        while (true)
        {
            // A candidate proposed before would score the same; draw again, a few times (a small space may be spent).
            var candidate = Next();
            for (var draw = 1; draw < 20 && !proposed.Add(Key(candidate)); draw++)
            {
                candidate = Next();
            }

            yield return candidate;
        }
    }

    private (TrainerSpec Trainer, IReadOnlyDictionary<string, double>? Hyperparameters) Next()
    {
        var leaders = _trials.Where(Ranks)
            .GroupBy(trial => trial.Trainer)
            .Select(group => group.OrderByDescending(Score).First())
            .OrderByDescending(Score)
            .Take(2)
            .ToList();
        // One candidate in five goes to any trainer, so one whose defaults suit the data badly still gets tuned; but not to a
        // trainer that could not finish one fold within a candidate's time limit, which would only spend another limit so.
        var explore = _random.NextDouble() < 0.2;
        var leader = leaders.Count == 0 || explore ? null : leaders[_random.Next(leaders.Count)];
        var tooSlow = _trials.GroupBy(trial => trial.Trainer).Where(tried => tried.All(trial => trial.FoldsScored == 0 && trial.Stopped is not null))
            .Select(tried => tried.Key)
            .ToHashSet();
        var open = _trainers.Where(spec => !tooSlow.Contains(spec.Name)).ToList() is { Count: > 0 } fastEnough ? fastEnough : _trainers;
        var trainer = leader is null ? open[_random.Next(open.Count)] : _trainers.First(spec => spec.Name == leader.Trainer);
        return (trainer, leader is not null && _random.NextDouble() < 0.5 ? Perturb(trainer, leader.Hyperparameters) : Sample(trainer));
    }

    private Dictionary<string, double> Sample(TrainerSpec trainer) =>
        trainer.Hyperparameters.ToDictionary(parameter => parameter.Name, parameter =>
        {
            var max = parameter.GrowsCost && parameter.Default is { } cheap ? Math.Min(parameter.Max, cheap * CostCap) : parameter.Max;
            if (parameter.LogScale && parameter.Min == 0 && _random.NextDouble() < 0.5)
            {
                return 0;
            }

            // A range from 0 is sampled on a log scale over its top four decades.
            var min = parameter.LogScale && parameter.Min == 0 ? max * 1e-4 : parameter.Min;
            return Round(parameter, parameter.LogScale
                ? Math.Exp(Lerp(Math.Log(min), Math.Log(max), _random.NextDouble()))
                : Lerp(parameter.Min, max, _random.NextDouble()));
        });

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

    /// <summary>Scores one candidate fold by fold, on its own ML.NET context so that its time limit stops it alone.</summary>
    private (SearchTrial Trial, float[][]? Predictions) Evaluate(
        int number,
        TrainerSpec trainer,
        IReadOnlyDictionary<string, double>? hyperparameters,
        List<(IDataView Train, IDataView Test)> folds,
        SearchTrial? best,
        TimeSpan limit,
        TimeSpan budgetLeft,
        CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var ml = new MLContext(settings.Seed);
        using var watchdog = new FitWatchdog(ml, limit, cancellationToken);
        var scores = new List<double>();
        var predictions = new List<float[]>();
        SearchTrial Trial(string? error = null, string? stopped = null)
        {
            var mean = scores.Count == 0 ? (double?)null : scores.Average();
            double? std = mean is { } m ? Math.Sqrt(scores.Sum(score => (score - m) * (score - m)) / scores.Count) : null;
            return new SearchTrial(
                number, trainer.Name, trainer.Complete(hyperparameters), _metric, mean, std, clock.Elapsed.TotalSeconds, error, scores.Count, stopped);
        }

        try
        {
            foreach (var (train, test) in folds)
            {
                var model = PipelineFactory.Learner(ml, data.Signature, trainer, hyperparameters, threads: 1).Fit(train);
                if (watchdog.TimedOut)
                {
                    throw new OperationCanceledException();
                }

                // Evaluate leaves out what is not finite (or, for an uncalibrated trainer, a log-loss it cannot have).
                var scored = model.Transform(test);
                scores.Add(ModelMetrics.Evaluate(ml, data.Signature, scored).TryGetValue(_metric, out var score)
                    ? score
                    : throw new InvalidOperationException($"{trainer.Name} has no finite {_metric} on fold {scores.Count + 1} of {folds.Count}."));
                predictions.Add(ScoredRows.Predictions(scored, _task));
                if (scores.Count < folds.Count && best is not null && Score(scores.Average()) < Score(best) - 2 * best.StandardDeviation!.Value)
                {
                    return (Trial(stopped: string.Create(
                        CultureInfo.InvariantCulture,
                        $"pruned after {scores.Count} of {folds.Count} folds: {scores.Average():0.####} "
                        + $"against trial {best.Trial}'s {best.Mean:0.####} ± {best.StandardDeviation:0.####}")), null);
                }

                if (scores.Count < folds.Count && LeadsSoFar(scores.Average()))
                {
                    // The limit keeps slow candidates from eating the budget; one that leads may use what is left to finish.
                    watchdog.ExtendTo(budgetLeft);
                }
            }

            Finished(scores.Average());
            return (Trial(), [.. predictions]);
        }
        catch (Exception) when (watchdog.TimedOut)
        {
            return (Trial(stopped: string.Create(
                CultureInfo.InvariantCulture,
                $"stopped at its time limit of {watchdog.Limit.TotalSeconds:0.#} s, after {scores.Count} of {folds.Count} folds")), null);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // One failing candidate (say, settings a trainer rejects on this data) must not end the search.
            return (Trial(error: ex.Message), null);
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static double Round(Hyperparameter parameter, double value) => parameter.IsInteger ? Math.Round(value) : Math.Round(value, 6);

    private static double Lerp(double from, double to, double fraction) => from + (to - from) * fraction;

    private double Gaussian() => Math.Sqrt(-2 * Math.Log(1 - _random.NextDouble())) * Math.Cos(2 * Math.PI * _random.NextDouble());
}

using System.Diagnostics;
using Microsoft.ML;
using ModelPlatform.Contracts;

namespace ModelPlatform.ML;

/// <summary>One model of an ensemble: a trial of the search and its share of the averaged prediction.</summary>
public sealed record EnsembleMember(int Trial, string Trainer, IReadOnlyDictionary<string, double> Hyperparameters, double Weight);

/// <summary>An ensemble a search chose, scored on the same folds as its trials.</summary>
/// <param name="Baseline">The best trial's mean, measured the same way as the ensemble's (from the averaged predictions).</param>
public sealed record SearchEnsemble(IReadOnlyList<EnsembleMember> Members, string Metric, double Mean, double StandardDeviation, double Baseline);

/// <summary>
/// Caruana's ensemble selection (as auto-sklearn does it), from the out-of-fold predictions the trials already made, so it
/// trains nothing: start from the best trial and, step by step, add (again, perhaps) whichever trial of the best few
/// most improves the averaged predictions' score over all folds; keep the best ensemble seen. It is kept only when its
/// cross-validated mean beats the best trial's.
/// </summary>
internal sealed class EnsembleSelection(MLContext ml, ModelSignature signature, string metric, int classes, IReadOnlyList<float[]> foldLabels)
{
    /// <summary>The best trials the ensemble is chosen from (with the best of each trainer).</summary>
    public const int LibrarySize = 12;

    /// <summary>Steps of the selection; a trial chosen k times of n weighs k/n.</summary>
    public const int MaxSteps = 20;

    private readonly bool _higherIsBetter = ModelMetrics.HigherIsBetter(signature.Task, metric)!.Value;
    private readonly float[] _pooledLabels = [.. foldLabels.SelectMany(labels => labels)];

    /// <param name="library">The candidates, best first, each with its predictions for every fold's held-out rows.</param>
    public SearchEnsemble? Select(IReadOnlyList<(SearchTrial Trial, float[][] Predictions)> library, TimeSpan timeLimit, CancellationToken cancellationToken)
    {
        if (library.Count < 2)
        {
            return null;
        }

        var clock = Stopwatch.StartNew();
        var pooled = library.Select(candidate => candidate.Predictions.SelectMany(fold => fold).ToArray()).ToList();
        var sum = (float[])pooled[0].Clone();
        var counts = new int[library.Count];
        counts[0] = 1;
        var (bestCounts, bestScore) = ((int[])counts.Clone(), Score(PooledScore(sum, 1)));
        for (var step = 2; step <= MaxSteps && clock.Elapsed < timeLimit; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var scores = pooled.Select(candidate => Score(PooledScore(Add(sum, candidate), step))).ToList();
            var chosen = scores.IndexOf(scores.Max());
            sum = Add(sum, pooled[chosen]);
            counts[chosen]++;
            if (scores[chosen] > bestScore)
            {
                (bestCounts, bestScore) = ((int[])counts.Clone(), scores[chosen]);
            }
        }

        if (bestCounts.Count(count => count > 0) < 2)
        {
            return null;
        }

        var total = bestCounts.Sum();
        var members = library.Select((candidate, i) => (candidate, Weight: (double)bestCounts[i] / total)).Where(member => member.Weight > 0).ToList();
        var (mean, deviation) = FoldScores(members.Select(member => (member.candidate.Predictions, member.Weight)).ToList());
        var (baseline, _) = FoldScores([(library[0].Predictions, 1.0)]);
        return Score(mean) > Score(baseline)
            ? new SearchEnsemble(
                [.. members.Select(member => new EnsembleMember(
                    member.candidate.Trial.Trial, member.candidate.Trial.Trainer, member.candidate.Trial.Hyperparameters, member.Weight))],
                metric,
                mean,
                deviation,
                baseline)
            : null;
    }

    // The metric fold by fold, as each trial is scored, so the ensemble and the best trial compare on the same footing.
    private (double Mean, double StandardDeviation) FoldScores(List<(float[][] Predictions, double Weight)> members)
    {
        var scores = foldLabels
            .Select((labels, fold) => MetricOf(labels, ScoredRows.Average([.. members.Select(member => (member.Predictions[fold], member.Weight))])))
            .ToList();
        var mean = scores.Average();
        return (mean, Math.Sqrt(scores.Sum(score => (score - mean) * (score - mean)) / scores.Count));
    }

    private double PooledScore(float[] sum, int count) => MetricOf(_pooledLabels, [.. sum.Select(value => value / count)]);

    // A metric the averaged predictions cannot have (AUC of a one-class fold) ranks last.
    private double MetricOf(float[] labels, float[] predictions) =>
        ModelMetrics.Evaluate(ml, signature, ScoredRows.View(ml, signature.Task, classes, labels, predictions)).TryGetValue(metric, out var value)
            ? value
            : _higherIsBetter ? double.NegativeInfinity : double.PositiveInfinity;

    private double Score(double value) => _higherIsBetter ? value : -value;

    private static float[] Add(float[] sum, float[] predictions)
    {
        var result = new float[sum.Length];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = sum[i] + predictions[i];
        }

        return result;
    }
}

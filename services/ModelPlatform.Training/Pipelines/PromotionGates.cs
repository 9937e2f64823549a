using System.Globalization;
using ModelPlatform.Contracts;
using ModelPlatform.ML;

namespace ModelPlatform.Training.Pipelines;

/// <summary>A pipeline's gate applied to its candidate and the production version, both scored on the candidate's hold-out.</summary>
public static class PromotionGates
{
    private const string RecallPrefix = "perClass.";
    private const string RecallSuffix = ".recall";

    /// <summary>
    /// Whether the candidate may replace production: the gated metric gains at least the minimum, no other declared metric
    /// regresses past its limit, and no class's recall drops past its limit. With nothing in production, the candidate passes.
    /// </summary>
    /// <param name="trained">The candidate's own metrics, as its job measured them: what the verdict shows when nothing was compared.</param>
    public static GateVerdict Decide(PromotionGate gate, MLTask task, ModelComparison comparison, IReadOnlyDictionary<string, double> trained)
    {
        var metric = gate.Metric ?? ModelMetrics.DefaultFor(task);
        var minGain = gate.MinGain ?? 0;
        if (comparison.Version is null || comparison.Problem is not null || comparison.Candidate is null || comparison.Baseline is null)
        {
            double? measured = trained.TryGetValue(metric, out var value) ? value : null;
            return comparison.Version is null
                ? new GateVerdict(true, metric, measured, null, null, minGain, comparison.Rows, [],
                    "nothing serves as production yet: the first candidate goes in")
                : new GateVerdict(false, metric, measured, null, null, minGain, comparison.Rows, [], comparison.Problem ?? "no comparison");
        }

        if (!comparison.Baseline.TryGetValue(metric, out var baseline) || !comparison.Candidate.TryGetValue(metric, out var candidate))
        {
            return new GateVerdict(false, metric, null, null, null, minGain, comparison.Rows, [],
                $"{metric} could not be measured on the {comparison.Rows} held-out rows");
        }

        var gain = Better(task, metric, candidate, baseline);
        var checks = new List<GateCheck>();
        foreach (var (name, limit) in gate.MaxRegressions ?? new Dictionary<string, double>())
        {
            if (comparison.Candidate.TryGetValue(name, out var value) && comparison.Baseline.TryGetValue(name, out var before))
            {
                var change = Better(task, name, value, before);
                checks.Add(new GateCheck(name, value, before, change, limit, change >= -limit));
            }
        }

        if (gate.MaxRecallDrop is { } maxDrop)
        {
            foreach (var (name, before) in comparison.Baseline.Where(pair => IsRecall(pair.Key)).OrderBy(pair => pair.Key, StringComparer.Ordinal))
            {
                var value = comparison.Candidate.GetValueOrDefault(name);
                checks.Add(new GateCheck(name, value, before, value - before, maxDrop, value - before >= -maxDrop));
            }
        }

        var failed = checks.Where(check => !check.Passed).ToList();
        var reason = gain < minGain
            ? $"{metric} {Format(baseline)} → {Format(candidate)}: a gain of {Format(gain)}, short of the {Format(minGain)} required"
            : failed.Count > 0
                ? string.Join("; ", failed.Select(check => $"{check.Name} {Format(check.Baseline)} → {Format(check.Candidate)}: "
                    + $"worse by {Format(-check.Change)}, more than the {Format(check.Limit)} allowed"))
                : $"{metric} {Format(baseline)} → {Format(candidate)} (a gain of {Format(gain)}, at least {Format(minGain)}), "
                    + $"{checks.Count} regression check(s) within limits, on {comparison.Rows} held-out rows";
        return new GateVerdict(gain >= minGain && failed.Count == 0, metric, candidate, baseline, gain, minGain, comparison.Rows, checks, reason);
    }

    /// <summary>How much better <paramref name="value"/> is than <paramref name="before"/>, in the metric's better direction.</summary>
    private static double Better(MLTask task, string metric, double value, double before) =>
        (IsRecall(metric) || ModelMetrics.HigherIsBetter(task, metric) != false) ? value - before : before - value;

    private static bool IsRecall(string metric) =>
        metric.StartsWith(RecallPrefix, StringComparison.Ordinal) && metric.EndsWith(RecallSuffix, StringComparison.Ordinal);

    private static string Format(double value) => value.ToString("0.####", CultureInfo.InvariantCulture);
}

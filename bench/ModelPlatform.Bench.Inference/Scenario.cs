using System.Globalization;

namespace ModelPlatform.Bench.Inference;

/// <summary>One load scenario: a target, a request body and how many connections drive it.</summary>
/// <param name="Body">The request body's file; a <c>.jsonl</c> file holds several bodies, one a line, sent in turn.</param>
/// <param name="Key">The API key the requests send; none for the baselines, and for the anonymous predictor.</param>
internal sealed record Scenario(
    string Name, string Rows, string Url, string Body, string ContentType, int Connections, int RowsPerRequest, string? Key = null)
{
    public Task<WrkResult> RunAsync(TimeSpan duration) => Wrk.RunAsync(Url, Body, Connections, duration, ContentType, apiKey: Key);

    /// <summary>
    /// Runs each of <paramref name="scenarios"/> for <paramref name="warmUp"/>, so they are measured at steady state: under
    /// load, .NET's tiered compiler still recompiles the platform's hot methods (with profile-guided optimization) for tens
    /// of seconds; a profile 25 s in still spent 7% of the CPU in the JIT, one 70 s in none.
    /// </summary>
    public static async Task WarmUpAsync(IReadOnlyList<Scenario> scenarios, TimeSpan warmUp)
    {
        Console.WriteLine($"Warming up ({warmUp.TotalSeconds:F0} s per target)...");
        foreach (var scenario in scenarios)
        {
            await scenario.RunAsync(warmUp);
        }
    }

    /// <summary>
    /// Measures <paramref name="scenarios"/> side by side: every round runs them all in turn, so the machine's drift over a
    /// run falls on all of them alike.
    /// </summary>
    /// <param name="eachRound">Run at the start of every round (the in-process baseline measures itself there).</param>
    public static async Task<Dictionary<Scenario, List<WrkResult>>> MeasureAsync(
        IReadOnlyList<Scenario> scenarios, int rounds, TimeSpan seconds, Action? eachRound = null)
    {
        var results = scenarios.ToDictionary(scenario => scenario, _ => new List<WrkResult>());
        for (var round = 1; round <= rounds; round++)
        {
            Console.WriteLine($"Round {round} of {rounds}");
            eachRound?.Invoke();
            foreach (var scenario in scenarios)
            {
                var result = await scenario.RunAsync(seconds);
                Console.WriteLine($"  {scenario.Name,-28} {scenario.Rows,-12} {result.Rps,10:F0} req/s  "
                    + $"p50 {result.P50Ms,7:F2} ms  p99 {result.P99Ms,7:F2} ms  errors {result.Errors}");
                results[scenario].Add(result);
            }
        }

        return results;
    }

    /// <summary>
    /// This scenario's row of a results table (target, request, connections, requests/s, rows/s, p50 ms, p99 ms, errors):
    /// the medians of <paramref name="runs"/>, and their errors summed.
    /// </summary>
    public string TableRow(IReadOnlyList<WrkResult> runs)
    {
        var rps = Stats.Median(runs.Select(run => run.Rps));
        return string.Create(CultureInfo.InvariantCulture, $"| {Name} | {Rows} | {Connections} | {rps:N0} | {rps * RowsPerRequest:N0} | "
            + $"{Stats.Median(runs.Select(run => run.P50Ms)):F2} | {Stats.Median(runs.Select(run => run.P99Ms)):F2} | {runs.Sum(run => run.Errors)} |");
    }
}

internal static class Stats
{
    public static double Median(IEnumerable<double> values) => Percentile(values, 50);

    public static double Percentile(IEnumerable<double> values, double percentile)
    {
        var sorted = values.Order().ToList();
        if (sorted.Count == 0)
        {
            return double.NaN;
        }

        var rank = percentile / 100 * (sorted.Count - 1);
        var (low, high) = ((int)Math.Floor(rank), (int)Math.Ceiling(rank));
        return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
    }
}

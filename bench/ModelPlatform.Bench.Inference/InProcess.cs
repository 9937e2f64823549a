using System.Diagnostics;
using ModelPlatform.ML;

namespace ModelPlatform.Bench.Inference;

/// <summary>Baseline (a), the ceiling: the same ML.NET model scoring the same rows in this process, no HTTP and no JSON.</summary>
internal static class InProcess
{
    /// <summary>Rows per second scoring <paramref name="records"/> over and over on <paramref name="threads"/> threads.</summary>
    public static double RowsPerSecond(ModelPredictor predictor, IReadOnlyList<ModelRecord> records, int threads, TimeSpan duration)
    {
        predictor.Predict(records);
        var clock = Stopwatch.StartNew();
        var rows = new long[threads];
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, thread =>
        {
            while (clock.Elapsed < duration)
            {
                predictor.Predict(records);
                rows[thread] += records.Count;
            }
        });
        return rows.Sum() / clock.Elapsed.TotalSeconds;
    }
}

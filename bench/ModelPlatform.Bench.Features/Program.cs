using System.Globalization;
using ModelPlatform.Bench.Features;
using ModelPlatform.Feature.Offline;

// Usage: flock /tmp/modelplatform-heavy.lock dotnet run -c Release --project bench/ModelPlatform.Bench.Features -- [ROUNDS=5] [ENTITY_ROWS=1000000]
// The issue's target: a point-in-time join of 1 000 000 entity rows with 3 views of 10 features (a million rows each) in
// under 30 s and under 2 GiB on the 2-core machine. Writes the data (BenchData) to a temporary folder, runs the join
// ROUNDS times as the service would (default limits), and prints a Markdown table: time, rows/s, the process's peak
// resident memory during each join (VmHWM, reset before it) and DuckDB's own (sampled); then checks a sample of the
// output against a plain join (SpotCheck). About a minute; run it alone, as other load shows in the times.
var rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5;
var entityRows = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1_000_000;
const int RowsPerView = 1_000_000;
const double TargetSeconds = 30;
const long TargetBytes = 2L << 30;
var limits = PointInTimeJoinLimits.Default;

var folder = Directory.CreateTempSubdirectory("pit-bench-").FullName;
try
{
    Console.Error.WriteLine($"Writing {entityRows:#,0} entity rows and {BenchData.Customers:#,0} customers' features to {folder}...");
    var data = BenchData.Write(folder, entityRows, RowsPerView);
    var output = Path.Combine(folder, "training-set.parquet");

    var seconds = new List<double>();
    var peakResident = new List<double>();
    var peakEngine = new List<double>();
    var peakSpilled = new List<double>();
    PointInTimeJoinResult result = null!;
    for (var round = 1; round <= rounds; round++)
    {
        ProcessMemory.ResetPeak();
        result = await PointInTimeJoin.WriteAsync(data.Entities, data.Views, output, folder, limits, CancellationToken.None);
        seconds.Add(result.Elapsed.TotalSeconds);
        peakResident.Add(ProcessMemory.PeakBytes());
        peakEngine.Add(result.PeakEngineMemoryBytes);
        peakSpilled.Add(result.PeakSpilledBytes);
        Console.Error.WriteLine($"round {round}: {result.Elapsed.TotalSeconds:0.00} s, peak {peakResident[^1] / (1 << 20):#,0} MiB");
    }

    var check = SpotCheck.Run(data, output, everyNthRow: 1000);

    const double MiB = 1 << 20;
    var holds = seconds.Max() < TargetSeconds && peakResident.Max() < TargetBytes;
    var views = data.Views.Select(view =>
        $"{view.Name} (TTL {(view.Ttl == TimeSpan.Zero ? "none" : $"{view.Ttl.TotalDays} days")}, {view.Files.Count} file{(view.Files.Count > 1 ? "s" : "")})");
    var agreement = check.Select(view => $"{view.View} {view.Sampled - view.Disagreeing}/{view.Sampled}");
    Console.WriteLine($"""
        | measure | median | min | max |
        |---|---:|---:|---:|
        {Row("join time, s", seconds, 1, "0.00")}
        {Row("entity rows/s", [.. seconds.Select(value => result.Rows / value)], 1, "#,0")}
        {Row("process peak resident memory (VmHWM), MiB", peakResident, MiB, "#,0")}
        {Row("DuckDB buffer memory, sampled peak, MiB", peakEngine, MiB, "#,0")}
        {Row("DuckDB spilled to disk, sampled peak, MiB", peakSpilled, MiB, "#,0")}

        Target: under {TargetSeconds} s and {TargetBytes / MiB / 1024} GiB in every round. Holds? {(holds ? "yes" : "NO")}.
        Workload: {result.Rows:#,0} entity rows ({BenchData.Customers:#,0} customers); views {string.Join(", ", views)},
        {RowsPerView:#,0} rows and {BenchData.FeaturesPerView} DOUBLE features each; output {result.Columns.Count} columns,
        {new FileInfo(output).Length / MiB:#,0} MiB of Parquet. Sampled rows agreeing with a plain join: {string.Join(", ", agreement)}.
        {rounds} rounds; {Environment.ProcessorCount} cores; DuckDB {BenchData.DuckDbVersion()}, memory_limit {limits.MemoryLimitBytes / MiB:#,0} MiB,
        {limits.Threads} threads; {DateTime.UtcNow:yyyy-MM-dd}.
        """);
    return check.Any(view => view.Disagreeing > 0) ? 1 : 0;
}
finally
{
    Directory.Delete(folder, recursive: true);
}

static string Row(string measure, List<double> values, double unit, string format)
{
    string Text(double value) => (value / unit).ToString(format, CultureInfo.InvariantCulture);
    return $"| {measure} | {Text(Median(values))} | {Text(values.Min())} | {Text(values.Max())} |";
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
}

namespace ModelPlatform.Bench.Features
{
    /// <summary>The process's peak resident memory, from Linux (proc(5): VmHWM; writing 5 to clear_refs resets it).</summary>
    internal static class ProcessMemory
    {
        public static void ResetPeak() => File.WriteAllText("/proc/self/clear_refs", "5");

        public static long PeakBytes()
        {
            var line = File.ReadLines("/proc/self/status").First(line => line.StartsWith("VmHWM:", StringComparison.Ordinal));
            return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        }
    }
}

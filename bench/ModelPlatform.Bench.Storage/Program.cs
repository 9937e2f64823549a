using System.Diagnostics;
using System.Globalization;
using ModelPlatform.Bench.Storage;
using ModelPlatform.TestSupport;

// Usage: flock /tmp/modelplatform-heavy.lock dotnet run -c Release --project bench/ModelPlatform.Bench.Storage -- [ROUNDS=5]
// Runs alone on the machine (it starts PostgreSQL, and the platform twice). Prints a Markdown report: medians of the rounds,
// SQLite and PostgreSQL side by side, and PostgreSQL's figure as a ratio of SQLite's.
var rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5;
var report = new List<string> { "| measure | unit | SQLite | PostgreSQL | PostgreSQL / SQLite |", "|---|---|---:|---:|---:|" };

// 1. The stores alone, in this process: the rounds alternate which engine goes first, so drift counts against neither.
using (var server = new PostgresServer())
{
    var results = new Dictionary<(string Measure, string Engine), List<double>>();
    for (var round = 0; round < rounds; round++)
    {
        Func<ITestDatabase>[] engines = [() => new SqliteTestDatabase(), () => new PostgresTestDatabase(server)];
        foreach (var newDatabase in round % 2 == 0 ? engines : engines.Reverse())
        {
            var engine = newDatabase == engines[0] ? "Sqlite" : "Postgres";
            foreach (var (measure, value) in await StoreWorkloads.RunAsync(newDatabase))
            {
                var key = (measure.Name, engine);
                (results.TryGetValue(key, out var values) ? values : results[key] = []).Add(value);
            }
        }
    }

    foreach (var measure in StoreWorkloads.Measures)
    {
        report.Add(Row(measure.Name, measure.Unit, results[(measure.Name, "Sqlite")], results[(measure.Name, "Postgres")]));
    }
}

// 2. The whole platform from its AppHost, once on each store: training jobs end to end, and predictions.
var platform = new Dictionary<string, IReadOnlyDictionary<Measure, List<double>>>();
foreach (var store in new[] { "sqlite", "postgres" })
{
    Console.Error.WriteLine($"Starting the platform on {store}...");
    platform[store] = await PlatformWorkloads.RunAsync(store, rounds);
}

foreach (var measure in PlatformWorkloads.Measures)
{
    report.Add(Row(measure.Name, measure.Unit, platform["sqlite"][measure], platform["postgres"][measure]));
}

Console.WriteLine(string.Join('\n', report));
Console.WriteLine($"\n{rounds} rounds, medians; {Environment.ProcessorCount} cores; {DateTime.UtcNow:yyyy-MM-dd}.");
return;

static string Row(string name, string unit, List<double> sqlite, List<double> postgres)
{
    var (s, p) = (Median(sqlite), Median(postgres));
    return $"| {name} | {unit} | {s:#,0.##} | {p:#,0.##} | {p / s:0.00} |";
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
}

namespace ModelPlatform.Bench.Storage
{
    /// <summary>One thing measured: its name and unit (higher is better unless the unit is a time).</summary>
    public sealed record Measure(string Name, string Unit);

    internal static class Timing
    {
        public static async Task<double> SecondsAsync(Func<Task> work)
        {
            var clock = Stopwatch.StartNew();
            await work();
            return clock.Elapsed.TotalSeconds;
        }
    }
}

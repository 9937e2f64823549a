using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace ModelPlatform.Bench.Storage;

/// <summary>
/// The whole platform from its AppHost on one store, as the integration tests start it: training jobs end to end (submit to
/// registered version, two workers), loading a promoted version, and single-row predictions under load.
/// </summary>
internal static class PlatformWorkloads
{
    private const int JobsPerRound = 4;
    private static readonly TimeSpan LoadDuration = TimeSpan.FromSeconds(10);

    public static readonly Measure JobSeconds = new("training job, submit to registered version (LightGbm on iris)", "s");
    public static readonly Measure Jobs = new($"training throughput, {JobsPerRound} jobs at once on 2 workers", "jobs/min");
    public static readonly Measure Promotion = new("promotion to first answer from the new version (artifact from the registry)", "s");
    public static readonly Measure Predictions = new("/predict, one row, 8 callers", "requests/s");
    public static readonly Measure[] Measures = [JobSeconds, Jobs, Promotion, Predictions];

    public static async Task<IReadOnlyDictionary<Measure, List<double>>> RunAsync(string store, int rounds)
    {
        var (app, data, key) = await PlatformClients.StartAsync(store);
        await using var running = app;
        using var feature = PlatformClients.Client(app, "feature", key);
        using var training = PlatformClients.Client(app, "training", key);
        using var registry = PlatformClients.Client(app, "registry", key);
        using var inference = PlatformClients.Client(app, "inference", key);
        var iris = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "iris.csv"));
        (await feature.PostAsync("/datasets/iris/versions", new StringContent(iris, Encoding.UTF8, "text/csv"))).EnsureSuccessStatusCode();

        var results = Measures.ToDictionary(measure => measure, _ => new List<double>());
        for (var round = 0; round < rounds; round++)
        {
            var clock = Stopwatch.StartNew();
            var durations = await Task.WhenAll(Enumerable.Range(0, JobsPerRound).Select(_ => TrainAsync(training)));
            results[Jobs].Add(JobsPerRound / clock.Elapsed.TotalMinutes);
            results[JobSeconds].AddRange(durations);

            var version = (await registry.GetFromJsonAsync<JsonObject>("/models/iris"))!["versions"]!.AsArray().Count;
            clock.Restart();
            (await registry.PutAsJsonAsync("/models/iris/aliases/production", new { version })).EnsureSuccessStatusCode();
            while (await ServedVersionAsync(inference) != version)
            {
                await Task.Delay(20);
            }

            results[Promotion].Add(clock.Elapsed.TotalSeconds);
            results[Predictions].Add(await PredictionsPerSecondAsync(inference));
        }

        await app.StopAsync();
        data.Delete(recursive: true);
        return results;
    }

    private static async Task<double> TrainAsync(HttpClient training) =>
        (await PlatformClients.TrainAsync(training, new { modelName = "iris", dataset = "iris", label = "species", task = "multiclass", trainer = "LightGbm" }))
        .Seconds;

    private static readonly object Record = new { records = new[] { new { sepal_length = 5.1, sepal_width = 3.5, petal_length = 1.4, petal_width = 0.2 } } };

    private static async Task<int> ServedVersionAsync(HttpClient inference)
    {
        using var response = await inference.PostAsJsonAsync("/models/iris/predict", Record);
        return response.IsSuccessStatusCode ? (await response.Content.ReadFromJsonAsync<JsonObject>())!["version"]!.GetValue<int>() : 0;
    }

    private static async Task<double> PredictionsPerSecondAsync(HttpClient inference)
    {
        var deadline = Stopwatch.StartNew();
        var counts = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            var count = 0;
            while (deadline.Elapsed < LoadDuration)
            {
                using var response = await inference.PostAsJsonAsync("/models/iris/predict", Record);
                response.EnsureSuccessStatusCode();
                count++;
            }

            return count;
        })));
        return counts.Sum() / deadline.Elapsed.TotalSeconds;
    }
}

using System.Buffers;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using ModelPlatform.Bench;
using ModelPlatform.Bench.OnlineStore;
using ModelPlatform.Features.Online;
using StackExchange.Redis;

// Usage: flock /tmp/modelplatform-heavy.lock dotnet run -c Release --project bench/ModelPlatform.Bench.OnlineStore -- [ROUNDS=5] [REQUESTS=5000]
// The issue's target: for 100 entities × 3 views (10 features each), p99 under 5 ms served by the feature service on this
// machine. Starts the platform (SQLite), stores and materializes the workload (OnlineWorkload), then each round times
// REQUESTS reads of 100 random customers' 30 features: POST /online-features by feature service and by the features listed,
// from one caller and from four; the library's OnlineStore.ReadAsync in this process (no HTTP); and, against the same Redis
// server, redis-benchmark doing the same Redis work (RedisBenchmark), the floor. Prints a Markdown table of medians over
// rounds with each row's ratio to the floor. A few minutes; run it alone, as other load shows in the tail.
var rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5;
var requests = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5000;
const int Entities = 100;
const int Callers = 4;
const double TargetP99Milliseconds = 5;
const string FloorName = "redis-benchmark (the floor)";

Console.Error.WriteLine("Starting the platform...");
// The feature service is reached directly, as in a deployment, not through the proxy Aspire puts in front of it locally.
// BENCH_FEATURE_ENV="KEY=VALUE;…" gives the feature service more variables (DOTNET_PerfMapEnabled=1 to profile it with perf).
var (app, data, key) = await PlatformClients.StartAsync("sqlite", builder =>
{
    var service = builder.CreateResourceBuilder(builder.Resources.OfType<ProjectResource>().Single(resource => resource.Name == "feature"))
        .WithEndpoint("http", endpoint => endpoint.IsProxied = false);
    foreach (var pair in (Environment.GetEnvironmentVariable("BENCH_FEATURE_ENV") ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries))
    {
        service.WithEnvironment(pair.Split('=', 2)[0], pair.Split('=', 2)[1]);
    }
});
await using (app)
{
    using var feature = PlatformClients.Client(app, "feature", key);
    Console.Error.WriteLine($"Storing {OnlineWorkload.Customers:N0} customers × {OnlineWorkload.Views.Count} views and materializing them...");
    var written = await OnlineWorkload.DefineAndMaterializeAsync(feature);

    var redisConnection = await app.GetConnectionStringAsync("redis") ?? throw new InvalidOperationException("The AppHost gave no Redis.");
    using var redis = await ConnectionMultiplexer.ConnectAsync(redisConnection);
    var store = new OnlineStore(redis, TimeProvider.System);
    var floor = RedisBenchmark.FromConnectionString(redisConnection);
    var views = OnlineWorkload.Views.ToDictionary(view => view.Name);
    var features = OnlineFeatureRequest.FromReferences(OnlineWorkload.References, views.GetValueOrDefault);
    var (byService, byList, inProcess) = OnlineWorkload.Requests(count: 1000, Entities, seed: 42);

    async Task PostAsync(byte[] body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/online-features")
        {
            Content = new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
        };
        using var response = await feature.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        // Reads the answer to its last byte into a pooled buffer, so the time is to the last byte and the benchmark does
        // not allocate (and collect) a 139 KiB copy per read on the cores the service runs on.
        await using var answer = await response.Content.ReadAsStreamAsync();
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (await answer.ReadAsync(buffer) > 0)
            {
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    var answerBytes = await CheckAnswerAsync(feature, byService[0], await store.ReadAsync(features, inProcess[0]));
    // What one read allocates in the library, which is what the service's garbage collector has to take back for it. The
    // count is the whole process's, so it includes what the AppHost in this process allocates meanwhile (little, when idle).
    var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
    for (var i = 0; i < 1000; i++)
    {
        await store.ReadAsync(features, inProcess[i % inProcess.Length]);
    }

    var allocatedPerRead = (GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / 1000;
    (string Name, int Callers, Func<int, Task> Call)[] reads =
    [
        ("OnlineStore.ReadAsync in process", 1, i => store.ReadAsync(features, inProcess[i % inProcess.Length])),
        ("POST /online-features, featureService", 1, i => PostAsync(byService[i % byService.Length])),
        ("POST /online-features, 30 features listed", 1, i => PostAsync(byList[i % byList.Length])),
        ("POST /online-features, featureService", Callers, i => PostAsync(byService[i % byService.Length])),
    ];
    int[] floorConnections = [1, Callers];

    Console.Error.WriteLine("Warming up...");
    foreach (var (_, callers, call) in reads)
    {
        await LatencySummary.MeasureAsync(Math.Max(1000, requests / 5), callers, call);
    }

    var results = new Dictionary<(string Name, int Callers), List<LatencySummary>>();
    void Add(string name, int callers, LatencySummary summary) =>
        (results.TryGetValue((name, callers), out var list) ? list : results[(name, callers)] = []).Add(summary);
    for (var round = 1; round <= rounds; round++)
    {
        // One view's keys a run, in turn.
        var view = OnlineWorkload.Views[(round - 1) % OnlineWorkload.Views.Count];
        foreach (var connections in floorConnections)
        {
            Add(FloorName, connections, await floor.RunAsync(view, Entities, OnlineWorkload.Views.Count, requests, connections));
        }

        foreach (var (name, callers, call) in reads)
        {
            Add(name, callers, await LatencySummary.MeasureAsync(requests, callers, call));
        }

        var p99s = results.Select(row => $"{row.Key.Name} ×{row.Key.Callers} {row.Value[^1].P99:0.00}");
        Console.Error.WriteLine($"round {round}, p99 ms: {string.Join(", ", p99s)}");
    }

    await app.StopAsync();
    data.Delete(recursive: true);

    var medians = results.ToDictionary(row => row.Key, row => LatencySummary.MedianOf(row.Value));
    string Ms(double value) => value.ToString("0.00", CultureInfo.InvariantCulture);
    Console.WriteLine(
        "| read of 100 customers × 30 features | callers | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | reads/s | p50 ÷ floor | p99 ÷ floor |");
    Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    foreach (var ((name, callers), median) in medians.OrderBy(row => row.Key.Callers))
    {
        var bottom = medians[(FloorName, callers)];
        Console.WriteLine($"| {name} | {callers} | {Ms(median.P50)} | {Ms(median.P90)} | {Ms(median.P99)} | {Ms(median.P999)} | {Ms(median.Max)} | "
            + $"{median.RequestsPerSecond.ToString("#,0", CultureInfo.InvariantCulture)} | {median.P50 / bottom.P50:0.0} | {median.P99 / bottom.P99:0.0} |");
    }

    var served = results.Where(row => row.Key.Name.StartsWith("POST", StringComparison.Ordinal) && row.Key.Callers == 1).ToList();
    var holds = served.All(row => medians[row.Key].P99 < TargetP99Milliseconds);
    var worst = served.Max(row => row.Value.Max(round => round.P99));
    Console.WriteLine($"""

        Target: p99 under {TargetP99Milliseconds} ms served by the feature service (one caller, median of rounds). Holds? {(holds ? "yes" : "NO")};
        the worst round's p99 was {Ms(worst)} ms. {rounds} rounds of {requests:N0} reads each after a warm-up, each read 100 random customers
        of {OnlineWorkload.Customers:N0}; {written:N0} rows materialized; one answer is {answerBytes / 1024.0:0} KiB of JSON,
        and OnlineStore.ReadAsync allocates {allocatedPerRead / 1024.0:0} KiB for it.
        redis-benchmark: {OnlineWorkload.Views.Count} pipelined MGETs of {Entities} rows a batch, on one view's keys a round; its p90
        and p99.9 are the next step of its percentile list (upper bounds), its latency stops at the reply's first bytes, and
        its reads/s are whole batches. {Environment.ProcessorCount} cores; {DateTime.UtcNow:yyyy-MM-dd}.
        """);
}

// Checks one answer by HTTP against the store's own read of the same customers: 30 features, every value present and equal.
static async Task<int> CheckAnswerAsync(HttpClient feature, byte[] body, OnlineFeatureTable expected)
{
    using var content = new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } };
    using var response = await feature.PostAsync("/online-features", content);
    var bytes = await response.Content.ReadAsByteArrayAsync();
    response.EnsureSuccessStatusCode();
    var answer = JsonDocument.Parse(bytes).RootElement;
    var results = answer.GetProperty("results").EnumerateArray().ToList();
    var agree = results.Count == OnlineWorkload.References.Count && results.Select((result, f) => (result, f)).All(pair =>
        pair.result.GetProperty("statuses").EnumerateArray().All(status => status.GetString() == "present")
        && pair.result.GetProperty("values").EnumerateArray().Select(value => value.GetDouble()).SequenceEqual(expected.Results[pair.f].Values.Cast<double>()));
    return agree ? bytes.Length : throw new InvalidOperationException($"The service's answer differs from the store's: {answer}");
}

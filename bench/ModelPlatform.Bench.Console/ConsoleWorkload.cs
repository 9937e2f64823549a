using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;

namespace ModelPlatform.Bench;

/// <summary>What the seeded platform holds that the pages are opened on.</summary>
/// <param name="Dataset">A dataset with three versions.</param>
/// <param name="Model">The model with the most versions: the model page's worst case.</param>
/// <param name="Job">A job that trained a version of <paramref name="Model"/>.</param>
internal sealed record SeededPlatform(string Dataset, string Model, int ModelVersions, Guid Job, TimeSpan Took);

/// <summary>
/// Fills the platform as its users would, through the services' APIs: the issue's 100 datasets (some with two or three
/// versions), 200 model versions from real training jobs, and 1,000 jobs in all (the 200 that trained and 800 cancelled
/// while queued).
/// </summary>
internal static class ConsoleWorkload
{
    public const int Datasets = 100;
    public const int Rows = 300;
    public const int TrainedJobs = 200;
    public const int Jobs = 1000;

    /// <summary>One model holds half the versions (the model page's worst case); the rest are spread five to a model.</summary>
    public const string ManyVersionsModel = "churn-many";
    public const int ManyVersions = 100;
    public const int VersionsPerOtherModel = 5;

    /// <summary>A trainer that fits a few hundred rows in well under a second; the data is not what is measured.</summary>
    public const string Trainer = "LbfgsLogisticRegression";

    /// <summary>The last datasets also have a customer and an event time, and each is a feature view's source.</summary>
    public const int FeatureViews = 10;

    private const string TrainingDataset = "ds-001";
    private const int Concurrency = 8;

    public static async Task<SeededPlatform> SeedAsync(ServiceClients services)
    {
        var clock = Stopwatch.StartNew();
        var uploads = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, Datasets), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (dataset, _) =>
        {
            // Every fourth dataset has a second version, every twentieth a third; each later version has drifted.
            var versions = dataset % 20 == 0 ? 3 : dataset % 4 == 0 ? 2 : 1;
            for (var version = 1; version <= versions; version++)
            {
                using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(Csv(dataset, version)));
                content.Headers.ContentType = new("text/csv");
                using var response = await services["feature"].PostAsync($"/datasets/{Name(dataset)}/versions", content);
                response.EnsureSuccessStatusCode();
                Interlocked.Increment(ref uploads);
            }
        });
        Console.Error.WriteLine($"{Datasets} datasets, {uploads} versions uploaded in {clock.Elapsed.TotalSeconds:F0} s");
        await DefineFeaturesAsync(services);
        Console.Error.WriteLine($"{FeatureViews} feature views defined and materialized at {clock.Elapsed.TotalSeconds:F0} s");

        // The jobs that train go first, so the 800 to cancel queue behind them and are cancelled before any worker reaches them.
        string[] models = [.. Enumerable.Repeat(ManyVersionsModel, ManyVersions),
            .. Enumerable.Range(1, (TrainedJobs - ManyVersions) / VersionsPerOtherModel)
                .SelectMany(model => Enumerable.Repeat(OtherModel(model), VersionsPerOtherModel))];
        var trained = new Guid[models.Length];
        await Parallel.ForEachAsync(Enumerable.Range(0, models.Length), new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (i, _) =>
            trained[i] = await SubmitAsync(services, models[i]));
        Console.Error.WriteLine($"{TrainedJobs} training jobs submitted at {clock.Elapsed.TotalSeconds:F0} s");

        var otherModels = models.Distinct().ToArray();
        await Parallel.ForEachAsync(Enumerable.Range(0, Jobs - TrainedJobs), new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (i, _) =>
        {
            var id = await SubmitAsync(services, otherModels[i % otherModels.Length]);
            using var cancelled = await services["training"].PostAsync($"/training-jobs/{id}/cancel", content: null);
            // 409: a worker was quicker and the job has finished; it still counts among the 1,000.
            if (cancelled.StatusCode is not (HttpStatusCode.Accepted or HttpStatusCode.Conflict))
            {
                throw new HttpRequestException($"cancel {id}: {(int)cancelled.StatusCode} {await cancelled.Content.ReadAsStringAsync()}");
            }
        });
        Console.Error.WriteLine($"{Jobs - TrainedJobs} more jobs submitted and cancelled at {clock.Elapsed.TotalSeconds:F0} s");

        await WaitForJobsAsync(services, clock);

        // A production alias that has moved (its history shows on the model page), and on a few other models.
        foreach (var version in new[] { ManyVersions - 2, ManyVersions - 1, ManyVersions })
        {
            await services.SendJsonAsync("registry", HttpMethod.Put, $"/models/{ManyVersionsModel}/aliases/production", new { version });
        }

        foreach (var model in Enumerable.Range(1, 5).Select(OtherModel))
        {
            await services.SendJsonAsync("registry", HttpMethod.Put, $"/models/{model}/aliases/production", new { version = VersionsPerOtherModel });
        }

        await CheckCountsAsync(services);
        var job = trained[ManyVersions - 1];
        Console.Error.WriteLine($"Seeded in {clock.Elapsed.TotalSeconds:F0} s");
        return new SeededPlatform(Name(0), ManyVersionsModel, ManyVersions, job, clock.Elapsed);
    }

    public static string Name(int dataset) => $"ds-{dataset:000}";

    /// <summary>
    /// A customer entity, a feature view over each of the last <see cref="FeatureViews"/> datasets (which have a customer and
    /// an event time), each materialized once, and a feature service over three of them: what the features page lists.
    /// </summary>
    private static async Task DefineFeaturesAsync(ServiceClients services)
    {
        await services.SendJsonAsync("feature", HttpMethod.Put, "/entities/customer",
            new { joinKeys = new[] { new { name = "customer", type = "categorical" } }, description = "A customer, by id" });
        var views = Enumerable.Range(Datasets - FeatureViews, FeatureViews)
            .Select(dataset => (View: $"profile-{dataset:000}", Dataset: Name(dataset))).ToList();
        foreach (var (view, dataset) in views)
        {
            await services.SendJsonAsync("feature", HttpMethod.Put, $"/feature-views/{view}", new
            {
                entity = "customer",
                dataset,
                timestampField = "event_time",
                ttlSeconds = 30 * 86_400,
                features = new[] { new { name = "age" }, new { name = "income" }, new { name = "visits" } },
            });
            await services.SendJsonAsync("feature", HttpMethod.Post, $"/feature-views/{view}/materialize", new { });
        }

        await services.SendJsonAsync("feature", HttpMethod.Put, "/feature-services/customer-profile",
            new { features = views.Take(3).SelectMany(view => new[] { $"{view.View}:age", $"{view.View}:income", $"{view.View}:visits" }).ToArray() });
    }

    private static string OtherModel(int model) => $"churn-{model:00}";

    private static async Task<Guid> SubmitAsync(ServiceClients services, string model)
    {
        var job = await services.SendJsonAsync("training", HttpMethod.Post, "/training-jobs",
            new { modelName = model, dataset = TrainingDataset, label = "churned", task = "binary", trainer = Trainer });
        return Guid.Parse(job["id"]!.GetValue<string>());
    }

    /// <summary>Waits until no job is queued or running, and fails if any job failed.</summary>
    private static async Task WaitForJobsAsync(ServiceClients services, Stopwatch clock)
    {
        var deadline = clock.Elapsed + TimeSpan.FromMinutes(20);
        var reported = TimeSpan.Zero;
        while (true)
        {
            var counts = new Dictionary<string, int>();
            foreach (var status in new[] { "queued", "running", "succeeded", "failed" })
            {
                counts[status] = (await services.GetJsonAsync("training", $"/training-jobs?status={status}&limit=1000")).AsArray().Count;
            }

            if (counts["failed"] > 0)
            {
                var failed = (await services.GetJsonAsync("training", "/training-jobs?status=failed&limit=1")).AsArray()[0];
                throw new InvalidOperationException($"{counts["failed"]} jobs failed, such as {failed}");
            }

            if (counts["queued"] + counts["running"] == 0)
            {
                Console.Error.WriteLine($"{counts["succeeded"]} jobs succeeded at {clock.Elapsed.TotalSeconds:F0} s");
                return;
            }

            if (clock.Elapsed > deadline)
            {
                throw new TimeoutException($"Jobs still waiting: {counts["queued"]} queued, {counts["running"]} running");
            }

            if (clock.Elapsed - reported > TimeSpan.FromSeconds(15))
            {
                reported = clock.Elapsed;
                Console.Error.WriteLine(
                    $"  {counts["succeeded"]} succeeded, {counts["running"]} running, {counts["queued"]} queued at {clock.Elapsed.TotalSeconds:F0} s");
            }

            await Task.Delay(TimeSpan.FromSeconds(2));
        }
    }

    /// <summary>The platform holds what the issue says, exactly.</summary>
    private static async Task CheckCountsAsync(ServiceClients services)
    {
        var datasets = (await services.GetJsonAsync("feature", "/datasets")).AsArray().Count;
        var jobs = (await services.GetJsonAsync("training", "/training-jobs?limit=1000")).AsArray();
        var succeeded = jobs.Count(job => job!["status"]!.GetValue<string>() == "succeeded");
        var versions = (await services.GetJsonAsync("registry", "/models")).AsArray().Sum(model => model!["latestVersion"]!.GetValue<int>());
        if (datasets != Datasets || jobs.Count != Jobs || succeeded != TrainedJobs || versions != TrainedJobs)
        {
            throw new InvalidOperationException(
                $"Seeded {datasets} datasets, {jobs.Count} jobs ({succeeded} succeeded) and {versions} model versions; expected 100, 1,000 (200) and 200.");
        }
    }

    /// <summary>
    /// A customer table with a churn signal (visits and the basic plan raise it, income lowers it), seeded by dataset and
    /// version; each later version is older, richer customers who visit less, so versions drift from one another. The
    /// feature views' sources also name the customer (a hundred, three rows each) and when the row was true.
    /// </summary>
    private static string Csv(int dataset, int version)
    {
        string[] plans = ["basic", "plus", "pro"];
        string[] regions = ["north", "south", "east", "west"];
        var random = new Random(dataset * 10 + version);
        var shift = version - 1;
        var keyed = dataset >= Datasets - FeatureViews;
        var csv = new StringBuilder(keyed ? "customer,event_time," : "").Append("age,income,visits,plan,region,churned\n");
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddDays(30 * shift);
        for (var row = 0; row < Rows; row++)
        {
            if (keyed)
            {
                csv.Append(CultureInfo.InvariantCulture, $"c{row % 100:000},{start.AddHours(row):yyyy-MM-ddTHH:mm:ssZ},");
            }

            var age = 18 + random.Next(60) + 4 * shift;
            var income = Math.Round(20_000 + random.NextDouble() * 80_000 * (1 + 0.2 * shift), 2);
            var visits = random.Next(0, 30 - 5 * shift);
            var plan = plans[random.Next(plans.Length)];
            var odds = 0.15 * visits - income / 40_000 + (plan == "basic" ? 1 : 0) - 0.5;
            var churned = random.NextDouble() < 1 / (1 + Math.Exp(-odds));
            csv.Append(CultureInfo.InvariantCulture, $"{age},{income:F2},{visits},{plan},{regions[random.Next(regions.Length)]},")
                .Append(churned ? "yes\n" : "no\n");
        }

        return csv.ToString();
    }
}

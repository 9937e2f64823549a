using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ModelPlatform.Bench;

// Usage: flock /tmp/modelplatform-heavy.lock dotnet run -c Release --project bench/ModelPlatform.Bench.DataPath -- [ROWS=200000] [ROUNDS=3]
// Runs alone on the machine. A churn table of ROWS rows and 10 columns (seeded, with a signal to learn) goes through the
// platform on SQLite: the upload, then a LightGbm job from submit to registered version; and beside it, in the same run,
// scikit-learn reads the same CSV with pandas and fits HistGradientBoostingClassifier. Prints medians and the ratios the
// issue sets as targets: upload at least 200,000 rows/s, and the job within 3x of scikit-learn's read plus fit.
// With `-- memory [ROWS=5000000]`, the memory check instead (MemoryCheck): one upload and one job of ROWS rows, and the
// peak resident memory of the feature service and the training worker beside the sizes of the CSV, the rows and the Parquet file,
// and the managed heap the worker logs when the data is loaded and when the model is trained.
if (args is ["memory", ..])
{
    await MemoryCheck.RunAsync(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5_000_000);
    return;
}

var rows = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 200_000;
var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
var python = Environment.GetEnvironmentVariable("PYTHON") ?? "/usr/bin/python3";

var csvPath = Path.Combine(Path.GetTempPath(), $"modelplatform-churn-{rows}.csv");
ChurnTable.Write(csvPath, rows);
var csv = await File.ReadAllBytesAsync(csvPath);
Console.Error.WriteLine($"{rows:N0} rows, {csv.Length / 1e6:F1} MB; starting the platform...");

var (app, data, key) = await PlatformClients.StartAsync("sqlite");
await using (app)
{
    using var feature = PlatformClients.Client(app, "feature", key);
    using var training = PlatformClients.Client(app, "training", key);
    using var registry = PlatformClients.Client(app, "registry", key);
    var (uploads, jobs, reads, fits, aucs, platformAucs) = (new List<double>(), new List<double>(), new List<double>(), new List<double>(),
        new List<double>(), new List<double>());
    var (queued, running) = (new List<double>(), new List<double>());
    var churnJob = new { modelName = "churn", dataset = "churn", label = "churned", task = "binary", trainer = "LightGbm" };
    // Warm-up, not measured: a first upload, and a first job on each of the two training workers (they take turns), whose
    // time is mostly the JIT compiling ML.NET's and LightGBM's code paths. It is reported on its own.
    using (var first = await feature.PostAsync("/datasets/churn/versions", new ByteArrayContent(csv) { Headers = { ContentType = new("text/csv") } }))
    {
        first.EnsureSuccessStatusCode();
    }

    var coldJob = (await PlatformClients.TrainAsync(training, churnJob)).Seconds;
    await PlatformClients.TrainAsync(training, churnJob);
    for (var round = 0; round < rounds; round++)
    {
        var clock = Stopwatch.StartNew();
        using (var uploaded = await feature.PostAsync("/datasets/churn/versions", new ByteArrayContent(csv) { Headers = { ContentType = new("text/csv") } }))
        {
            uploaded.EnsureSuccessStatusCode();
        }

        uploads.Add(clock.Elapsed.TotalSeconds);
        var (seconds, trained) = await PlatformClients.TrainAsync(training, churnJob);
        jobs.Add(seconds);
        var (created, started, finished) = (Time(trained["createdAt"]), Time(trained["startedAt"]), Time(trained["finishedAt"]));
        queued.Add((started - created).TotalSeconds);
        running.Add((finished - started).TotalSeconds);
        var versions = (await registry.GetFromJsonAsync<JsonObject>("/models/churn"))!["versions"]!.AsArray();
        platformAucs.Add(versions[^1]!["metrics"]!["auc"]!.GetValue<double>());

        var sklearn = JsonNode.Parse(await RunAsync(python, Path.Combine(AppContext.BaseDirectory, "sklearn_fit.py"), csvPath))!;
        reads.Add(sklearn["read"]!.GetValue<double>());
        fits.Add(sklearn["fit"]!.GetValue<double>());
        aucs.Add(sklearn["auc"]!.GetValue<double>());
    }

    await app.StopAsync();
    data.Delete(recursive: true);

    var (upload, job, read, fit) = (Median(uploads), Median(jobs), Median(reads), Median(fits));
    var sklearnTotal = Median(reads.Zip(fits, (r, f) => r + f).ToList());
    Console.WriteLine($"| measure | median of {rounds} | ratio |");
    Console.WriteLine("|---|---:|---:|");
    Console.WriteLine($"| upload ({rows:N0} rows, {csv.Length / 1e6:F1} MB CSV) | {upload:F2} s, {rows / upload:N0} rows/s | "
        + $"{rows / upload / 200_000:F2} of the 200,000 rows/s target |");
    Console.WriteLine($"| LightGbm job, submit to registered version | {job:F2} s (AUC {Median(platformAucs):F3}) | "
        + $"{job / sklearnTotal:F2} x scikit-learn (target at most 3) |");
    Console.WriteLine($"| the first job of a fresh worker (warm-up, not in the median) | {coldJob:F2} s | |");
    Console.WriteLine($"| of which: submitted to started / started to finished (the job's own times) | {Median(queued):F2} s / {Median(running):F2} s | |");
    Console.WriteLine($"| scikit-learn: pandas read + HistGradientBoosting fit | {read:F2} s + {fit:F2} s = {sklearnTotal:F2} s "
        + $"(AUC {Median(aucs):F3}) | 1 |");
    Console.WriteLine($"\n{rounds} rounds, medians; {Environment.ProcessorCount} cores; {DateTime.UtcNow:yyyy-MM-dd}.");
}

static DateTimeOffset Time(JsonNode? value) => DateTimeOffset.Parse(value!.GetValue<string>(), CultureInfo.InvariantCulture);

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
}

static async Task<string> RunAsync(string program, params string[] arguments)
{
    using var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
    var output = process.StandardOutput.ReadToEndAsync();
    var errors = process.StandardError.ReadToEndAsync();
    await process.WaitForExitAsync();
    return process.ExitCode == 0 ? await output : throw new InvalidOperationException($"{program} failed: {await errors}");
}

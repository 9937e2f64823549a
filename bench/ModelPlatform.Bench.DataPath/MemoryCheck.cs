using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace ModelPlatform.Bench;

/// <summary>
/// The memory check of the data path (docs/performance.md): a churn table of many rows written to disk as CSV, uploaded
/// from the file, and trained on with LightGbm, while the resident memory of the feature service (during the upload) and
/// of the training worker (during the job) is measured. It prints their peaks beside the sizes they must stay clear of:
/// the CSV on disk, the rows as typed columns in memory, and the Parquet file the upload became; and what the worker logged
/// of its managed heap when the data was loaded and when the model was trained (<see cref="WorkerMemoryLog"/>).
/// </summary>
internal static class MemoryCheck
{
    private const double MiB = 1 << 20;

    /// <summary>A value as the rows are held in memory, column by column: a double, or a reference to a string.</summary>
    private const int BytesPerValue = 8;

    public static async Task RunAsync(int rows)
    {
        var csvPath = Path.Combine(Path.GetTempPath(), $"modelplatform-churn-{rows}.csv");
        ChurnTable.Write(csvPath, rows);
        var csvBytes = new FileInfo(csvPath).Length;
        Console.Error.WriteLine($"{rows:N0} rows, {csvBytes / MiB:N0} MiB of CSV; starting the platform...");

        var (app, data, key) = await PlatformClients.StartAsync("sqlite");
        await using (app)
        {
            using var feature = PlatformClients.Client(app, "feature", key);
            using var training = PlatformClients.Client(app, "training", key);
            feature.Timeout = training.Timeout = TimeSpan.FromMinutes(30);
            var featureProcess = (await ServiceProcess.FindAsync(app, "feature", "ModelPlatform.Feature")).Single();
            var workers = await ServiceProcess.FindAsync(app, "training", "ModelPlatform.Training");
            await using var workerLog = await WorkerMemoryLog.WatchAsync(app, "training");

            // The upload, streamed from the file (its length known, so sent as one body of that length).
            var featureBefore = featureProcess.ResidentBytes;
            featureProcess.ResetPeak();
            var clock = Stopwatch.StartNew();
            JsonObject uploaded;
            await using (var upload = new ResidentSampler(featureProcess, "feature", "upload"))
            await using (var csv = File.OpenRead(csvPath))
            {
                using var body = new StreamContent(csv) { Headers = { ContentType = new("text/csv") } };
                using var response = await feature.PostAsync("/datasets/churn/versions", body);
                if (!response.IsSuccessStatusCode)
                {
                    throw new InvalidOperationException($"The upload was refused ({(int)response.StatusCode}): {await response.Content.ReadAsStringAsync()}");
                }

                uploaded = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
            }

            var uploadSeconds = clock.Elapsed.TotalSeconds;
            var featurePeak = featureProcess.PeakBytes;
            var columns = uploaded["columns"]!.AsArray().Count;
            var typedBytes = (long)rows * columns * BytesPerValue;
            var parquetBytes = await ParquetSizeAsync(feature, uploaded["version"]!.GetValue<int>());

            // The job: every worker's peak is reset and sampled, as either may take it; the job names the one that did.
            var workersBefore = workers.ToDictionary(worker => worker.Id, worker => worker.ResidentBytes);
            workers.ToList().ForEach(worker => worker.ResetPeak());
            var samplers = workers.Select(worker => new ResidentSampler(worker, $"training {worker.Id}", "queued")).ToList();
            var job = new { modelName = "churn", dataset = "churn", label = "churned", task = "binary", trainer = "LightGbm" };
            var (jobSeconds, trained) = await PlatformClients.TrainAsync(training, job, polled: state =>
                samplers.ForEach(sampler => sampler.Phase = state["progress"]?["phase"]?.GetValue<string>() ?? state["status"]!.GetValue<string>()));
            foreach (var sampler in samplers)
            {
                await sampler.DisposeAsync();
            }

            var workerId = int.Parse(trained["attempts"]!.AsArray()[^1]!["worker"]!.GetValue<string>().Split(':')[^1], CultureInfo.InvariantCulture);
            var worker = workers.Single(process => process.Id == workerId);
            var (workerBefore, workerPeak) = (workersBefore[workerId], worker.PeakBytes);
            var phases = samplers[workers.ToList().IndexOf(worker)].Phases;
            var trainingRows = trained["report"]!["trainingRows"]!.GetValue<int>();
            var jobId = trained["id"]!.GetValue<string>();
            var (loaded, fitted) = (await workerLog.ForAsync(jobId, "loaded"), await workerLog.ForAsync(jobId, "trained"));

            await app.StopAsync();
            data.Delete(recursive: true);

            Console.WriteLine("| measure | MiB | |");
            Console.WriteLine("|---|---:|---|");
            Console.WriteLine($"| CSV on disk ({rows:N0} rows, {columns} columns) | {csvBytes / MiB:N0} | |");
            Console.WriteLine($"| the rows as typed columns ({rows:N0} × {columns} × {BytesPerValue} bytes) | {typedBytes / MiB:N0} | |");
            Console.WriteLine($"| the Parquet file the upload became | {parquetBytes / MiB:N0} | |");
            Console.WriteLine($"| feature service, resident before the upload | {featureBefore / MiB:N0} | |");
            Console.WriteLine($"| feature service, peak during the upload (VmHWM) | {featurePeak / MiB:N0} | "
                + $"{(double)featurePeak / (csvBytes + typedBytes):P0} of CSV + rows; upload {uploadSeconds:F1} s, {rows / uploadSeconds:N0} rows/s |");
            Console.WriteLine($"| training worker, resident before the job | {workerBefore / MiB:N0} | |");
            Console.WriteLine($"| training worker, peak during the job (VmHWM) | {workerPeak / MiB:N0} | "
                + $"{(double)workerPeak / typedBytes:F2} × the rows; job {jobSeconds:F1} s, {trainingRows:N0} rows, "
                + $"AUC {trained["metrics"]!["auc"]!.GetValue<double>():F3} |");
            foreach (var (phase, peak) in phases)
            {
                Console.WriteLine($"| training worker, highest reading while {phase} (every 100 ms) | {peak / MiB:N0} | |");
            }

            foreach (var (point, figures) in new[] { ("the data was loaded", loaded), ("the model was trained", fitted) })
            {
                Console.WriteLine(figures is null
                    ? $"| training worker, resident when {point} | | the worker logged no memory figures |"
                    : $"| training worker, resident when {point} | {figures.Resident:N0} | managed heap {figures.Heap:N0} MiB at the last GC "
                        + $"({figures.Free:N0} of it free), GC committed {figures.Committed:N0}, allocated now {figures.Allocated:N0} |");
            }

            Console.WriteLine($"\n{Environment.ProcessorCount} cores; {DateTime.UtcNow:yyyy-MM-dd}.");
        }
    }

    /// <summary>The size of a version's Parquet file, from the headers of its download (the body is not read).</summary>
    private static async Task<long> ParquetSizeAsync(HttpClient feature, int version)
    {
        using var response = await feature.GetAsync($"/datasets/churn/versions/{version}/data", HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        return response.Content.Headers.ContentLength!.Value;
    }
}

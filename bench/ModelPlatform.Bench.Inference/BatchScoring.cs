using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelPlatform.Contracts;
using static ModelPlatform.Bench.Inference.Stats;

namespace ModelPlatform.Bench.Inference;

/// <summary>
/// Batch prediction jobs on the training service, measured beside CSV scoring of the same rows by the inference service.
/// fair-affairs' test rows, cycled to a file of ROWS rows in the model's input columns, are uploaded once as a dataset
/// version. Each round posts that file to /predict as text/csv (the answer streamed and its rows counted) and runs a batch
/// prediction job over the dataset version, read every 250 ms until it succeeds.
/// </summary>
internal static class BatchScoring
{
    private const string Dataset = "fair-batch";
    private const string WarmUpDataset = "fair-batch-warm-up";
    private const double MiB = 1 << 20;
    private const string NotNamed = "not named";
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);

    /// <summary>Trains and promotes the model, writes and uploads the rows, measures both paths; returns the Markdown report.</summary>
    public static async Task<string> RunAsync(Platform platform, string dataDir, int rounds, int rows)
    {
        var trained = await platform.TrainFairAsync(dataDir, "LightGbm");
        await platform.PromoteAsync(Platform.Fair, trained);
        await platform.WaitUntilReadyAsync(Platform.Fair);
        var version = (await platform.Registry.GetFromJsonAsync<ModelVersionInfo>(
            $"/models/{Platform.Fair}/versions/{trained}", JsonSerializerOptions.Web))!;

        // The measured file, and the test rows once: both paths score those first, unmeasured, so neither pays for a
        // model load or its first compilations inside a round.
        var inputs = version.Signature.Inputs.Select(input => input.Name).ToList();
        var testCsv = Platform.FairData(dataDir, "test.csv");
        var csvPath = Path.Combine(dataDir, $"{Dataset}-{rows}.csv");
        var warmUpPath = Path.Combine(dataDir, $"{WarmUpDataset}.csv");
        var testRows = WriteRows(testCsv, inputs, warmUpPath, rows: null);
        WriteRows(testCsv, inputs, csvPath, rows);
        var csvBytes = new FileInfo(csvPath).Length;
        Console.WriteLine($"Uploading {rows:N0} rows ({csvBytes / MiB:N0} MiB of CSV) as dataset {Dataset}...");
        var warmUpData = await platform.UploadCsvFileAsync(WarmUpDataset, warmUpPath);
        var data = await platform.UploadCsvFileAsync(Dataset, csvPath);
        if (data.Rows != rows)
        {
            throw new InvalidOperationException($"The dataset holds {data.Rows:N0} rows, not {rows:N0}.");
        }

        // Memory, where /proc tells it: the inference service's while it scores the file, a training worker's while it runs a job.
        var inference = platform.InferenceProcessId is { } inferenceId ? new ServiceProcess(inferenceId) : null;
        IReadOnlyList<ServiceProcess> workers;
        try
        {
            workers = await platform.ProcessesAsync("training", "ModelPlatform.Training");
        }
        catch (OperationCanceledException)
        {
            workers = []; // Aspire did not report the workers' processes: memory goes unread, the timings stand.
        }

        Console.WriteLine("Warming up on the test rows...");
        await ScoreCsvAsync(platform, trained, warmUpPath, testRows);
        // Two jobs at once, so each of the two workers (one job at a time each) is likely to take one.
        await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => RunJobAsync(platform, trained, warmUpData)));

        var csvRuns = new List<Run>();
        var jobRuns = new List<JobRun>();
        for (var round = 1; round <= rounds; round++)
        {
            Console.WriteLine($"Round {round} of {rounds}");
            // The two take turns to go first, so the machine's drift over a run falls on both alike.
            if (round % 2 == 1)
            {
                csvRuns.Add(await MeasureCsvAsync(platform, trained, csvPath, rows, inference));
                jobRuns.Add(await MeasureJobAsync(platform, trained, data, workers));
            }
            else
            {
                jobRuns.Add(await MeasureJobAsync(platform, trained, data, workers));
                csvRuns.Add(await MeasureCsvAsync(platform, trained, csvPath, rows, inference));
            }
        }

        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"Batch prediction jobs beside CSV scoring: model `{Platform.Fair}` v{trained} "
            + $"({version.Lineage.Trainer}), {rows:N0} rows (fair-affairs' {testRows:N0} test rows cycled, {inputs.Count} columns, "
            + $"{csvBytes / MiB:N0} MiB of CSV), uploaded once as dataset `{Dataset}` v{data.Version}. Median of {rounds} rounds "
            + $"after an unmeasured warm-up of both on the test rows; the two take turns to go first. The job is read every "
            + $"{Poll.TotalMilliseconds:F0} ms. {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}.");
        report.AppendLine();
        report.AppendLine("| Path | Seconds | Rows/s | Per round (s) | Resident MiB: before → peak (VmHWM) |");
        report.AppendLine("|---|---:|---:|---|---|");
        report.AppendLine(Row("/predict, text/csv, answer streamed", csvRuns, rows, "inference service"));
        report.AppendLine(Row("batch job, submit → seen succeeded", jobRuns, rows, "training worker"));
        report.AppendLine(Row("batch job, its startedAt → finishedAt", jobRuns.Select(run => run with { Seconds = run.JobSeconds }).ToList(), rows, null));
        report.AppendLine();
        report.AppendLine("| Batch job ÷ CSV scoring, rows/s | Ratio | Per round |");
        report.AppendLine("|---|---:|---|");
        foreach (var (label, seconds) in new (string, Func<JobRun, double>)[]
        {
            ("submit → seen succeeded", run => run.Seconds), ("startedAt → finishedAt", run => run.JobSeconds),
        })
        {
            // Rows/s over rows/s: the CSV's seconds over the job's.
            var ratio = Median(csvRuns.Select(run => run.Seconds)) / Median(jobRuns.Select(seconds));
            var perRound = string.Join(", ", csvRuns.Zip(jobRuns, (csv, job) => Ratio(csv.Seconds / seconds(job))));
            report.AppendLine(CultureInfo.InvariantCulture, $"| {label} | {Ratio(ratio)} | {perRound} |");
        }

        var unnamed = jobRuns.Any(run => run.Worker == NotNamed) ? " (where a job named none, its memory is the higher of both workers')" : "";
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"The job waited {Median(jobRuns.Select(run => run.QueuedSeconds)):F2} s "
            + $"in the queue (createdAt → startedAt, median); workers by round: {string.Join(", ", jobRuns.Select(run => run.Worker))}{unnamed}.");
        var phases = jobRuns[0].Phases.Keys.Select(phase => $"{phase} {Median(jobRuns.Select(run => run.Phases[phase])):F2} s");
        report.AppendLine(CultureInfo.InvariantCulture, $"Where the job's time went (medians, as the job reports them): {string.Join(", ", phases)}.");
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture,
            $"Rerun: `flock /tmp/modelplatform-heavy.lock bench/inference/run.sh batch {rounds} {rows}`");
        return report.ToString();
    }

    /// <summary>
    /// Writes the header of <paramref name="columns"/> and <paramref name="rows"/> rows (the test rows once when null),
    /// cycling test.csv's rows, line by line to <paramref name="path"/>; returns the rows written.
    /// </summary>
    public static int WriteRows(string testCsv, IReadOnlyList<string> columns, string path, int? rows)
    {
        // pandas wrote the test rows: plain fields, no quotes (fair-affairs has no commas in its values).
        var lines = File.ReadLines(testCsv).Where(line => line.Length > 0).ToList();
        var header = lines[0].Split(',');
        var indexes = columns.Select(column => Array.IndexOf(header, column)).ToArray();
        if (indexes.Contains(-1) || lines.Any(line => line.Contains('"')))
        {
            throw new InvalidOperationException($"{testCsv} does not hold {string.Join(", ", columns)} as plain CSV.");
        }

        var source = lines.Skip(1).Select(line => line.Split(',')).Select(fields => string.Join(',', indexes.Select(i => fields[i]))).ToList();
        var count = rows ?? source.Count;
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(false), bufferSize: 1 << 16);
        writer.Write(string.Join(',', columns));
        writer.Write('\n');
        for (var row = 0; row < count; row++)
        {
            writer.Write(source[row % source.Count]);
            writer.Write('\n');
        }

        return count;
    }

    private static async Task<Run> MeasureCsvAsync(Platform platform, int version, string path, int rows, ServiceProcess? inference)
    {
        var before = ResetPeak(inference);
        var seconds = await ScoreCsvAsync(platform, version, path, rows);
        var run = new Run(seconds, before, before is null ? null : inference!.PeakBytes);
        Console.WriteLine($"  /predict CSV  {seconds,8:F2} s  {rows / seconds,10:N0} rows/s{Memory(run)}");
        return run;
    }

    /// <summary>Posts the file to /predict as text/csv and reads the answer as it streams; returns the seconds to its last byte.</summary>
    private static async Task<double> ScoreCsvAsync(Platform platform, int version, string path, int rows)
    {
        var clock = Stopwatch.StartNew();
        await using var file = File.OpenRead(path);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/models/{Platform.Fair}/predict?version={version}")
        {
            Content = new StreamContent(file) { Headers = { ContentType = new("text/csv") } },
        };
        using var response = await platform.Inference.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"CSV scoring failed ({(int)response.StatusCode}): {await response.Content.ReadAsStringAsync()}");
        }

        // Lines are counted, not parsed: the client should cost as little as it can of the two cores.
        await using var answer = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[1 << 16];
        long lines = 0;
        int read;
        while ((read = await answer.ReadAsync(buffer)) > 0)
        {
            lines += buffer.AsSpan(0, read).Count((byte)'\n');
        }

        var seconds = clock.Elapsed.TotalSeconds;
        // A header, then one line per row.
        if (lines - 1 != rows)
        {
            throw new InvalidOperationException($"CSV scoring answered {lines - 1:N0} rows of {rows:N0}.");
        }

        return seconds;
    }

    private static async Task<JobRun> MeasureJobAsync(Platform platform, int version, DatasetVersionInfo data, IReadOnlyList<ServiceProcess> workers)
    {
        var before = workers.ToDictionary(worker => worker.Id, worker => ResetPeak(worker));
        var (seconds, job) = await RunJobAsync(platform, version, data);
        var jobSeconds = (Time(job, "finishedAt") - Time(job, "startedAt")).TotalSeconds;
        var queued = (Time(job, "startedAt") - Time(job, "createdAt")).TotalSeconds;

        // Training jobs name their worker "machine:pid" in each attempt; where a batch job does not, the peak is both workers' highest.
        var id = WorkerId(job);
        var ran = workers.Where(worker => id is null || worker.Id == id).ToList();
        var phases = job["phaseSeconds"]!.AsObject().ToDictionary(phase => phase.Key, phase => phase.Value!.GetValue<double>());
        var run = before.Count > 0 && ran.Count > 0 && ran.All(worker => before[worker.Id] is not null)
            ? new JobRun(seconds, jobSeconds, queued, id?.ToString(CultureInfo.InvariantCulture) ?? NotNamed,
                ran.Max(worker => before[worker.Id]), ran.Max(worker => worker.PeakBytes), phases)
            : new JobRun(seconds, jobSeconds, queued, id?.ToString(CultureInfo.InvariantCulture) ?? NotNamed, null, null, phases);
        Console.WriteLine($"  batch job     {seconds,8:F2} s  {data.Rows / seconds,10:N0} rows/s  "
            + $"(its own {jobSeconds:F2} s, {data.Rows / jobSeconds:N0} rows/s; worker {run.Worker}){Memory(run)}");
        return run;
    }

    /// <summary>Runs a batch prediction job over <paramref name="data"/> and checks that its output holds every row, scored.</summary>
    private static async Task<(double Seconds, JsonObject Job)> RunJobAsync(Platform platform, int version, DatasetVersionInfo data)
    {
        var (seconds, job) = await PlatformClients.RunJobAsync(platform.Training, "/batch-predictions",
            new { model = Platform.Fair, version, dataset = data.Name, datasetVersion = data.Version }, Poll);
        var output = await platform.Feature.GetFromJsonAsync<DatasetVersionInfo>(
            $"/datasets/{job["output"]!.GetValue<string>()}/versions/{job["outputVersion"]!.GetValue<int>()}", JsonSerializerOptions.Web);
        if (job["rows"]!.GetValue<long>() != data.Rows || output!.Rows != data.Rows || output.Columns.All(column => column.Name != "prediction"))
        {
            throw new InvalidOperationException($"The job did not score every row of {data.Name} v{data.Version} ({data.Rows:N0}): {job}");
        }

        return (seconds, job);
    }

    /// <summary>Starts the process's peak over and returns its resident bytes now; null where /proc cannot tell.</summary>
    private static long? ResetPeak(ServiceProcess? process)
    {
        try
        {
            process?.ResetPeak();
            return process?.ResidentBytes;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static int? WorkerId(JsonObject job) =>
        job["attempts"] is JsonArray { Count: > 0 } attempts && attempts[^1] is JsonObject attempt
            && attempt["worker"] is JsonValue worker && worker.TryGetValue<string>(out var name)
            && int.TryParse(name.Split(':')[^1], CultureInfo.InvariantCulture, out var id)
            ? id
            : null;

    private static DateTimeOffset Time(JsonObject job, string field) => job[field]!.GetValue<DateTimeOffset>();

    private static string Row(string path, IReadOnlyList<Run> runs, int rows, string? process)
    {
        var seconds = Median(runs.Select(run => run.Seconds));
        var perRound = string.Join(", ", runs.Select(run => run.Seconds.ToString("F2", CultureInfo.InvariantCulture)));
        var memory = process is null ? ""
            : runs.Any(run => run.Peak is null) ? $"{process}: not read"
            : $"{process}: {Median(runs.Select(run => (double)run.Before!.Value)) / MiB:N0} → {Median(runs.Select(run => (double)run.Peak!.Value)) / MiB:N0}"
                + $" (highest {runs.Max(run => run.Peak!.Value) / MiB:N0})";
        return string.Create(CultureInfo.InvariantCulture,
            $"| {path} | {seconds:F2} | {Median(runs.Select(run => rows / run.Seconds)):N0} | {perRound} | {memory} |");
    }

    private static string Memory(Run run) => run.Peak is null
        ? ""
        : string.Create(CultureInfo.InvariantCulture, $"  resident {run.Before!.Value / MiB:N0} → peak {run.Peak.Value / MiB:N0} MiB");

    private static string Ratio(double ratio) => string.Create(CultureInfo.InvariantCulture, $"{ratio:F2}×");

    /// <summary>One round of a path: its seconds, and its process's resident bytes before and at the peak (null: not read).</summary>
    private record Run(double Seconds, long? Before, long? Peak);

    /// <summary>A batch job's round: seconds from submit to succeeded, the job's own and its wait, and the worker that ran it.</summary>
    /// <param name="Phases">Where the job's time went, as the job reports it: seconds loading the model and the data, scoring, storing.</param>
    private sealed record JobRun(
        double Seconds, double JobSeconds, double QueuedSeconds, string Worker, long? Before, long? Peak, IReadOnlyDictionary<string, double> Phases)
        : Run(Seconds, Before, Peak);
}

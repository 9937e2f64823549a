using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelPlatform.Bench.Inference;
using ModelPlatform.Contracts;
using ModelPlatform.ML;
using static ModelPlatform.Bench.Inference.Stats;

// The inference benchmark of docs/performance.md; bench/inference/run.sh prepares its inputs and runs it.
// Usage: ModelPlatform.Bench.Inference DATA_DIR BODIES_DIR PYTHON_URL [ROUNDS=3] [SECONDS=10] [OUT_MARKDOWN]
//        ModelPlatform.Bench.Inference entity BODIES_DIR [ROUNDS=3] [SECONDS=10] [OUT_MARKDOWN]  (serving by entity key alone)
//        ModelPlatform.Bench.Inference batch DATA_DIR [ROUNDS=3] [ROWS=1000000] [OUT_MARKDOWN]  (batch prediction jobs beside CSV scoring)
//        ModelPlatform.Bench.Inference serve DATA_DIR BODIES_DIR  (the platform as benchmarked, left running to profile)
//        ModelPlatform.Bench.Inference serve-trivial PORT         (baseline (b), started by the benchmark itself)
if (args is ["serve-trivial", var trivialPort])
{
    await TrivialServer.RunAsync(int.Parse(trivialPort, CultureInfo.InvariantCulture));
    return;
}

var mode = args is ["serve" or "entity" or "batch", ..] ? args[0] : "all";
var serve = mode == "serve";
var (dataDir, bodiesDir) = mode switch
{
    "serve" => (args[1], args[2]),
    "entity" => ("", args[1]),
    "batch" => (args[1], ""),
    _ => (args[0], args[1]),
};
// Rounds, seconds (batch: rows) and the report's file come after the inputs.
var options = args[(mode is "entity" or "batch" ? 2 : 3)..];
var rounds = options.Length > 0 ? int.Parse(options[0], CultureInfo.InvariantCulture) : 3;
var seconds = TimeSpan.FromSeconds(mode != "batch" && options.Length > 1 ? int.Parse(options[1], CultureInfo.InvariantCulture) : 10);
var batchRows = mode == "batch" && options.Length > 1 ? int.Parse(options[1], CultureInfo.InvariantCulture) : 1_000_000;
var outPath = options.Length > 2 ? options[2] : null;
const string Model = Platform.Fair;
// The same model exported to ONNX and served as a model of its own, on ONNX Runtime.
const string OnnxModel = "fair-onnx";
const int TrivialPort = 18100;
var warmUp = TimeSpan.FromSeconds(30);
const int SinkPort = 18200;
// The same service and requests without a key: the benchmark lets anonymous callers predict, so each pair measures
// authentication alone (the role check and the rate limiter run for both).
const int AuthPairs = 12;
var authSlice = TimeSpan.FromSeconds(4);

await using var sink = await OtlpSink.StartAsync(SinkPort);
Console.WriteLine($"Starting the platform (Release, telemetry exported over OTLP/HTTP to {sink.Url}) and training the model...");
// Serve mode only: more variables for the inference service, "KEY=VALUE;…" (e.g. DOTNET_PerfMapEnabled=1 for perf).
var inferenceEnvironment = serve && Environment.GetEnvironmentVariable("BENCH_INFERENCE_ENV") is { Length: > 0 } extra
    ? extra.Split(';').Select(pair => pair.Split('=', 2)).ToDictionary(pair => pair[0], pair => pair[1])
    : null;
await using var platform = await Platform.StartAsync(sink.Url, inferenceEnvironment);
if (mode == "batch")
{
    await ReportAsync(await BatchScoring.RunAsync(platform, dataDir, rounds, batchRows), outPath);
    return;
}

var byKey = await ServingByEntityKey.PrepareAsync(platform, bodiesDir);
if (mode == "entity")
{
    await ReportAsync(await byKey.MeasureAsync(warmUp, rounds, seconds), outPath);
    return;
}

var first = await platform.TrainFairAsync(dataDir, "LightGbm");
var second = await platform.TrainFairAsync(dataDir, "FastTree");
await platform.PromoteAsync(Model, first);
await platform.WaitUntilReadyAsync(Model);

// The same rows for everyone: make_bodies.py wrote them as JSON records and CSV; the tensors for OIP are built here.
var version = (await platform.Registry.GetFromJsonAsync<ModelVersionInfo>($"/models/{Model}/versions/{first}", JsonSerializerOptions.Web))!;
var one = Path.Combine(bodiesDir, "one.json");
var batch = Path.Combine(bodiesDir, "batch.json");
var csv = Path.Combine(bodiesDir, "rows.csv");
var batchRecords = JsonDocument.Parse(File.ReadAllBytes(batch)).RootElement.GetProperty("records").EnumerateArray().ToList();
var oipOne = WriteOipBody(bodiesDir, "oip-one.json", version.Signature, batchRecords.Take(1).ToList());
var oipBatch = WriteOipBody(bodiesDir, "oip-batch.json", version.Signature, batchRecords);
var ours = platform.InferenceUrl.ToString().TrimEnd('/');
var onnx = await platform.RegisterExportAsync(version, OnnxModel);
await platform.PromoteAsync(OnnxModel, onnx.Version);
await platform.WaitUntilReadyAsync(OnnxModel);

if (serve)
{
    Console.WriteLine($"""
        The platform is up; the inference service is process {platform.InferenceProcessId?.ToString(CultureInfo.InvariantCulture) ?? "(unknown)"}.
        Callers without a key may predict; add API_KEY={platform.Key} to a line to send one.
          BODY_FILE={one} wrk -t1 -c32 -d10s -s {Paths.WrkScript} {ours}/models/{Model}/predict
          BODY_FILE={oipOne} wrk -t1 -c32 -d10s -s {Paths.WrkScript} {ours}/v2/models/{Model}/infer
          BODY_FILE={csv} CONTENT_TYPE=text/csv wrk -t1 -c4 -d10s -s {Paths.WrkScript} {ours}/models/{Model}/predict
        Serving by entity key, and the same model with the same rows' features inline:
          {string.Join("\n  ", byKey.WrkCommands(TimeSpan.FromSeconds(10)))}
        Press Enter (or close standard input) to stop.
        """);
    await Console.In.ReadLineAsync();
    return;
}

var pythonUrl = args[2].TrimEnd('/');

// (a) in process, on the same artifact the service loaded.
var artifact = await platform.Registry.GetByteArrayAsync($"/models/{Model}/versions/{first}/artifact");
var predictor = ModelPredictor.Load(new MemoryStream(artifact), version.Signature);
var onnxGraph = await platform.Registry.GetByteArrayAsync($"/models/{OnnxModel}/versions/{onnx.Version}/artifact");
var onnxPredictor = ModelPredictor.Load(new MemoryStream(onnxGraph), onnx.Signature, onnx.Onnx);
var (records, readErrors) = predictor.Read(batchRecords);
if (readErrors.Count > 0)
{
    throw new InvalidOperationException("The benchmark rows do not fit the model: " + string.Join("; ", readErrors.Keys));
}

// (b) in a process of its own, like the others.
using var trivial = Process.Start(new ProcessStartInfo(Environment.ProcessPath!, ["serve-trivial", TrivialPort.ToString(CultureInfo.InvariantCulture)])
{
    RedirectStandardOutput = true,
})!;
using var trivialClient = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{TrivialPort}") };
await WaitUntilAnswersAsync(trivialClient, one);

var key = platform.Key;
Scenario[] scenarios =
[
    new("(b) trivial ASP.NET Core", "1 row", $"http://127.0.0.1:{TrivialPort}/models/{Model}/predict", one, "application/json", 32, 1),
    new("(b) trivial ASP.NET Core", "1000 rows", $"http://127.0.0.1:{TrivialPort}/models/{Model}/predict", batch, "application/json", 4, 1000),
    new("(c) /predict JSON", "1 row", $"{ours}/models/{Model}/predict", one, "application/json", 32, 1, key),
    new("(c) /predict JSON", "1000 rows", $"{ours}/models/{Model}/predict", batch, "application/json", 4, 1000, key),
    new("(c) OIP /v2/…/infer", "1 row", $"{ours}/v2/models/{Model}/infer", oipOne, "application/json", 32, 1, key),
    new("(c) OIP /v2/…/infer", "1000 rows", $"{ours}/v2/models/{Model}/infer", oipBatch, "application/json", 4, 1000, key),
    new("(c) /predict CSV", "1000 rows", $"{ours}/models/{Model}/predict", csv, "text/csv", 4, 1000, key),
    new("(c) ONNX /predict JSON", "1 row", $"{ours}/models/{OnnxModel}/predict", one, "application/json", 32, 1, key),
    new("(c) ONNX /predict JSON", "1000 rows", $"{ours}/models/{OnnxModel}/predict", batch, "application/json", 4, 1000, key),
    new("(c) ONNX OIP /v2/…/infer", "1 row", $"{ours}/v2/models/{OnnxModel}/infer", oipOne, "application/json", 32, 1, key),
    new("(c) ONNX /predict CSV", "1000 rows", $"{ours}/models/{OnnxModel}/predict", csv, "text/csv", 4, 1000, key),
    new("(d) FastAPI + scikit-learn", "1 row", $"{pythonUrl}/models/{Model}/predict", one, "application/json", 32, 1),
    new("(d) FastAPI + scikit-learn", "1000 rows", $"{pythonUrl}/models/{Model}/predict", batch, "application/json", 4, 1000),
];

await Scenario.WarmUpAsync(scenarios, warmUp);
sink.TakeCounts();
var measuring = Stopwatch.StartNew();
var inProcess = new List<(double One, double Two)>();
var onnxInProcess = new List<(double One, double Two)>();
var results = await Scenario.MeasureAsync(scenarios, rounds, seconds, eachRound: () =>
{
    inProcess.Add((InProcess.RowsPerSecond(predictor, records, 1, seconds / 2), InProcess.RowsPerSecond(predictor, records, 2, seconds / 2)));
    onnxInProcess.Add((InProcess.RowsPerSecond(onnxPredictor, records, 1, seconds / 2), InProcess.RowsPerSecond(onnxPredictor, records, 2, seconds / 2)));
});

// Authentication's cost: the same single-row load with a key and without one, in short pairs whose order alternates, so
// the machine's drift over a run (which moves throughput as much as the effect) falls on both sides alike.
var single = scenarios.Single(scenario => scenario.Name == "(c) /predict JSON" && scenario.RowsPerRequest == 1);
var authPairs = new List<(WrkResult Keyed, WrkResult Anonymous)>();
Task<WrkResult> RunSingleAsync(string? apiKey, TimeSpan duration) =>
    Wrk.RunAsync(single.Url, single.Body, single.Connections, duration, single.ContentType, apiKey: apiKey);
await RunSingleAsync(null, warmUp); // the keyless path's warm-up; the keyed one warmed up with the scenarios
for (var pair = 0; pair < AuthPairs; pair++)
{
    WrkResult keyed, anonymous;
    if (pair % 2 == 0)
    {
        keyed = await RunSingleAsync(key, authSlice);
        anonymous = await RunSingleAsync(null, authSlice);
    }
    else
    {
        anonymous = await RunSingleAsync(null, authSlice);
        keyed = await RunSingleAsync(key, authSlice);
    }

    authPairs.Add((keyed, anonymous));
    Console.WriteLine($"  auth pair {pair + 1}: with a key {keyed.Rps:F0}, without {anonymous.Rps:F0} req/s ({keyed.Rps / anonymous.Rps:P0})");
}

// Latency at half of /predict's single-row peak: paced connections (wrk's delay hook), calibrated to the rate once.
var halfRate = Median(results[single].Select(result => result.Rps)) / 2;
const int PaceMs = 2;
var connections = Math.Max(1, (int)Math.Round(halfRate * (PaceMs + 0.5) / 1000));
var probe = await Wrk.RunAsync(single.Url, single.Body, connections, TimeSpan.FromSeconds(5), delayMs: PaceMs, apiKey: key);
connections = Math.Max(1, (int)Math.Round(connections * halfRate / probe.Rps));
var halfLoad = new List<WrkResult>();
for (var round = 1; round <= rounds; round++)
{
    halfLoad.Add(await Wrk.RunAsync(single.Url, single.Body, connections, seconds, delayMs: PaceMs, apiKey: key));
    Console.WriteLine($"  half load ({connections} connections paced at {PaceMs} ms): {halfLoad[^1].Rps:F0} req/s  "
        + $"p50 {halfLoad[^1].P50Ms:F2} ms  p99 {halfLoad[^1].P99Ms:F2} ms");
}

// What the services exported while they were measured: proof that telemetry flowed, and how much.
var exported = sink.TakeCounts();
var exportedOver = measuring.Elapsed;

// Promotion under a steady load: v1 → v2 at 10 s, back to v1 at 20 s.
Console.WriteLine("Promotion under load...");
const int SwapRate = 1000;
var answers = await SwapUnderLoad.RunAsync(platform.InferenceUrl, File.ReadAllBytes(one), SwapRate, TimeSpan.FromSeconds(30),
[
    (TimeSpan.FromSeconds(10), () => platform.PromoteAsync(Model, second)),
    (TimeSpan.FromSeconds(20), () => platform.PromoteAsync(Model, first)),
]);
trivial.Kill();

// Serving by entity key: a block of rounds of its own, beside its own baseline (run.sh entity runs it alone).
var byKeyReport = await byKey.MeasureAsync(warmUp, rounds, seconds);

var report = new StringBuilder();
report.Append(CultureInfo.InvariantCulture, $"Median of {rounds} rounds of {seconds.TotalSeconds:F0} s each; wrk with 1 thread; ");
report.Append(CultureInfo.InvariantCulture, $"model `{Model}` v{first} ({version.Lineage.Trainer}), ");
report.AppendLine(CultureInfo.InvariantCulture, $"{batchRecords.Count}-row batches.");
var telemetry = string.Join(", ", Platform.DeploymentTelemetry(sink.Url, "{service}").Select(pair => $"`{pair.Key}={pair.Value}`"));
report.AppendLine(CultureInfo.InvariantCulture, $"Telemetry as deployed: every platform service ran with {telemetry} and no other OTEL_ variable.");
report.AppendLine();
report.AppendLine("| Target | Request | Connections | Requests/s | Rows/s | p50 ms | p99 ms | Errors |");
report.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|");
report.AppendLine(CultureInfo.InvariantCulture,
    $"| (a) ML.NET in process, 1 thread | {batchRecords.Count} rows | – | – | {Median(inProcess.Select(r => r.One)):N0} | – | – | – |");
report.AppendLine(CultureInfo.InvariantCulture,
    $"| (a) ML.NET in process, 2 threads | {batchRecords.Count} rows | – | – | {Median(inProcess.Select(r => r.Two)):N0} | – | – | – |");
report.AppendLine(CultureInfo.InvariantCulture,
    $"| (a) ONNX Runtime in process, 1 thread | {batchRecords.Count} rows | – | – | {Median(onnxInProcess.Select(r => r.One)):N0} | – | – | – |");
report.AppendLine(CultureInfo.InvariantCulture,
    $"| (a) ONNX Runtime in process, 2 threads | {batchRecords.Count} rows | – | – | {Median(onnxInProcess.Select(r => r.Two)):N0} | – | – | – |");
foreach (var scenario in scenarios)
{
    report.AppendLine(scenario.TableRow(results[scenario]));
}

report.Append(CultureInfo.InvariantCulture, $"| (c) /predict JSON at half load | 1 row | {connections} paced | {Median(halfLoad.Select(r => r.Rps)):N0} | ");
report.Append(CultureInfo.InvariantCulture, $"{Median(halfLoad.Select(r => r.Rps)):N0} | {Median(halfLoad.Select(r => r.P50Ms)):F2} | ");
report.Append(CultureInfo.InvariantCulture, $"{Median(halfLoad.Select(r => r.P99Ms)):F2} | ");
report.AppendLine(CultureInfo.InvariantCulture, $"{halfLoad.Sum(r => r.Errors)} |");

double Rows(string name, int rows) => Median(results[scenarios.Single(s => s.Name == name && s.RowsPerRequest == rows)].Select(r => r.Rps)) * rows;
var inProcessTwo = Median(inProcess.Select(r => r.Two));
var onnxInProcessTwo = Median(onnxInProcess.Select(r => r.Two));
var trivialOne = Rows("(b) trivial ASP.NET Core", 1);
var halfLoadP99 = Median(halfLoad.Select(r => r.P99Ms));
report.AppendLine();
report.AppendLine("| Goal | Measured | Ratio | Target | Holds? |");
report.AppendLine("|---|---|---:|---|:---:|");
foreach (var name in new[] { "(c) /predict JSON", "(c) OIP /v2/…/infer", "(c) ONNX /predict JSON", "(c) ONNX OIP /v2/…/infer" })
{
    var ratio = Rows(name, 1) / trivialOne;
    report.AppendLine(CultureInfo.InvariantCulture,
        $"| {name[4..]} 1 row vs (b) trivial endpoint | {Rows(name, 1):N0} vs {trivialOne:N0} req/s | {ratio:P0} | ≥ 80% | {Holds(ratio >= 0.80)} |");
}

var authRatio = Median(authPairs.Select(pair => pair.Keyed.Rps / pair.Anonymous.Rps));
report.AppendLine(CultureInfo.InvariantCulture,
    $"| /predict 1 row with a key vs without (authentication's cost; median of {AuthPairs} alternating pairs of "
    + $"{authSlice.TotalSeconds:F0} s) | {Median(authPairs.Select(pair => pair.Keyed.Rps)):N0} vs "
    + $"{Median(authPairs.Select(pair => pair.Anonymous.Rps)):N0} req/s | {authRatio:P0} | ≥ 90% | {Holds(authRatio >= 0.90)} |");
report.AppendLine(CultureInfo.InvariantCulture,
    $"| /predict p99 at half load | {halfLoadP99:F2} ms at {Median(halfLoad.Select(r => r.Rps)):N0} req/s | – | < 2 ms | {Holds(halfLoadP99 < 2)} |");
foreach (var name in new[] { "(c) /predict JSON", "(c) OIP /v2/…/infer", "(c) /predict CSV" })
{
    var ratio = Rows(name, 1000) / inProcessTwo;
    report.Append(CultureInfo.InvariantCulture, $"| {name[4..]} 1000 rows vs (a) in process, 2 threads | ");
    report.Append(CultureInfo.InvariantCulture, $"{Rows(name, 1000):N0} vs {inProcessTwo:N0} rows/s | {ratio:P0} | ≥ 85% | ");
    report.AppendLine(CultureInfo.InvariantCulture, $"{Holds(ratio >= 0.85)} |");
}

foreach (var name in new[] { "(c) ONNX /predict JSON", "(c) ONNX /predict CSV" })
{
    var ratio = Rows(name, 1000) / onnxInProcessTwo;
    report.Append(CultureInfo.InvariantCulture, $"| {name[4..]} 1000 rows vs (a) ONNX Runtime in process, 2 threads | ");
    report.Append(CultureInfo.InvariantCulture, $"{Rows(name, 1000):N0} vs {onnxInProcessTwo:N0} rows/s | {ratio:P0} | ≥ 85% | ");
    report.AppendLine(CultureInfo.InvariantCulture, $"{Holds(ratio >= 0.85)} |");
}

foreach (var (rows, unit) in new[] { (1, "req/s"), (1000, "rows/s") })
{
    var ratio = Rows("(c) /predict JSON", rows) / Rows("(d) FastAPI + scikit-learn", rows);
    report.Append(CultureInfo.InvariantCulture, $"| /predict {(rows == 1 ? "1 row" : "1000 rows")} vs (d) FastAPI | {Rows("(c) /predict JSON", rows):N0} vs ");
    report.AppendLine(CultureInfo.InvariantCulture, $"{Rows("(d) FastAPI + scikit-learn", rows):N0} {unit} | {ratio:F1}× | ≥ 5× | {Holds(ratio >= 5)} |");
}

report.AppendLine();
var exports = string.Join(", ", exported.Select(pair => $"{pair.Key} {pair.Value.Requests:N0} exports ({pair.Value.Bytes / 1e6:F1} MB)"));
report.AppendLine(CultureInfo.InvariantCulture,
    $"Telemetry the four services exported to the OTLP sink (OTLP/HTTP protobuf) in the {exportedOver.TotalMinutes:F0} measured minutes: {exports}.");
report.AppendLine();
report.AppendLine(CultureInfo.InvariantCulture,
    $"Promotion under load ({SwapRate} req/s of 1 row, 8 connections; v{first} → v{second} at 10 s, back at 20 s):");
report.AppendLine();
report.AppendLine("| Window | Requests | Failed | Versions answering | p50 ms | p99 ms |");
report.AppendLine("|---|---:|---:|---|---:|---:|");
(string Label, double From, double To)[] windows =
[
    ("steady, before (2–10 s)", 2, 10), ("promotion (10–13 s)", 10, 13), ("after (13–20 s)", 13, 20),
    ("rollback (20–23 s)", 20, 23), ("after (23–30 s)", 23, 30),
];
foreach (var (label, from, to) in windows)
{
    var window = answers.Where(answer => answer.StartedS >= from && answer.StartedS < to).ToList();
    var versions = string.Join(", ", window.GroupBy(answer => answer.Version).OrderBy(g => g.Key).Select(g => $"v{g.Key}: {g.Count()}"));
    report.Append(CultureInfo.InvariantCulture, $"| {label} | {window.Count} | {window.Count(a => (int)a.Status != 200)} | {versions} | ");
    report.Append(CultureInfo.InvariantCulture, $"{Percentile(window.Select(a => a.LatencyMs), 50):F2} | ");
    report.AppendLine(CultureInfo.InvariantCulture, $"{Percentile(window.Select(a => a.LatencyMs), 99):F2} |");
}

report.AppendLine();
report.Append(byKeyReport);
await ReportAsync(report.ToString(), outPath);

static async Task ReportAsync(string report, string? outPath)
{
    Console.WriteLine();
    Console.WriteLine(report);
    if (outPath is not null)
    {
        await File.WriteAllTextAsync(outPath, report);
    }
}

static string Holds(bool holds) => holds ? "✓" : "✗";

static string WriteOipBody(string directory, string name, ModelSignature signature, IReadOnlyList<JsonElement> records)
{
    var inputs = new JsonArray();
    foreach (var input in signature.Inputs)
    {
        var data = new JsonArray([.. records.Select(record => JsonNode.Parse(record.GetProperty(input.Name).GetRawText()))]);
        var datatype = input.Type switch { ColumnType.Numeric => "FP32", ColumnType.Boolean => "BOOL", _ => "BYTES" };
        inputs.Add(new JsonObject { ["name"] = input.Name, ["datatype"] = datatype, ["shape"] = new JsonArray(records.Count), ["data"] = data });
    }

    var path = Path.Combine(directory, name);
    File.WriteAllText(path, new JsonObject { ["inputs"] = inputs }.ToJsonString());
    return path;
}

static async Task WaitUntilAnswersAsync(HttpClient client, string body)
{
    for (var attempt = 0; attempt < 100; attempt++)
    {
        try
        {
            var content = new ByteArrayContent(File.ReadAllBytes(body)) { Headers = { ContentType = new("application/json") } };
            using var response = await client.PostAsync("/models/fair/predict", content);
            if (response.IsSuccessStatusCode)
            {
                return;
            }
        }
        catch (HttpRequestException)
        {
        }

        await Task.Delay(100);
    }

    throw new InvalidOperationException("The trivial server did not start.");
}

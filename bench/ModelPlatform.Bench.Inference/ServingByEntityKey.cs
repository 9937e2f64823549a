using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelPlatform.Contracts;
using static ModelPlatform.Bench.Inference.Stats;

namespace ModelPlatform.Bench.Inference;

/// <summary>
/// Serving by entity key, measured beside the same model called with its features inline. A model trained from a feature
/// service (three views, 10 numbers about 10,000 customers, materialized to Redis) is called with customer ids and a
/// request-time column, so the inference service reads the features from the online store itself; the baseline sends the
/// same customers' values as records. Everything else is the same: model, rows, connections, key.
/// </summary>
internal sealed class ServingByEntityKey
{
    private const string Model = "churn";
    private const string Entity = "customer";
    private const string EntityRows = "churn_labels";
    private const int Customers = 10_000;
    private const int BatchEntities = 100;

    // Bodies per scenario, sent in turn: each of its own random customers, distinct within a body.
    private const int SingleBodies = 1000;
    private const int BatchBodies = 100;

    /// <summary>The views: name, TTL (zero: none) and features, 10 numbers in all.</summary>
    private static readonly (string Name, TimeSpan Ttl, string[] Features)[] Views =
    [
        ("profile", TimeSpan.Zero, ["age", "tenure_months", "credit_score", "income"]),
        ("spend_30d", TimeSpan.FromDays(30), ["spend_total", "spend_avg", "spend_max"]),
        ("activity_7d", TimeSpan.FromDays(7), ["sessions", "clicks", "minutes"]),
    ];

    private readonly ModelVersionInfo _version;
    private readonly Scenario[] _scenarios;

    private ServingByEntityKey(ModelVersionInfo version, Scenario[] scenarios) => (_version, _scenarios) = (version, scenarios);

    /// <summary>
    /// Defines the entity, views and service; uploads the generated data; trains, materializes and promotes the model; writes
    /// the request bodies into <paramref name="bodiesDir"/>; and checks that both ways of calling give the same predictions.
    /// </summary>
    public static async Task<ServingByEntityKey> PrepareAsync(Platform platform, string bodiesDir)
    {
        Console.WriteLine($"Serving by entity key: {Views.Length} views of {Customers:N0} customers, training {Model} from them...");
        // Every customer's row is one to two days old: fresh within each view's TTL, and before the entity rows it is joined to.
        var now = DateTimeOffset.UtcNow;
        var random = new Random(2026);
        var values = Enumerable.Range(1, Customers).Select(_ => CustomerValues(random)).ToArray();
        await PutAsync(platform, $"/entities/{Entity}", new { joinKeys = new[] { new { name = "customer_id", type = "numeric" } } });
        for (var v = 0; v < Views.Length; v++)
        {
            var (name, ttl, features) = Views[v];
            var csv = new StringBuilder($"customer_id,event_time,{string.Join(',', features)}\n");
            for (var c = 0; c < Customers; c++)
            {
                csv.Append(CultureInfo.InvariantCulture, $"{c + 1},{Time(now.AddDays(-1).AddSeconds(-random.Next(86_400)))},")
                    .AppendJoin(',', values[c][v].Select(Text)).Append('\n');
            }

            await platform.UploadCsvAsync(name, csv.ToString());
            await PutAsync(platform, $"/feature-views/{name}", new
            {
                entity = Entity,
                dataset = name,
                timestampField = "event_time",
                ttlSeconds = (long)ttl.TotalSeconds,
                features = features.Select(feature => new { name = feature }),
            });
        }

        await PutAsync(platform, $"/feature-services/{Model}",
            new { features = Views.SelectMany(view => view.Features.Select(feature => $"{view.Name}:{feature}")) });

        // One entity row per customer, a few hours old, with the request-time amount and a label that depends on both.
        var rows = new StringBuilder("customer_id,event_time,amount,churned\n");
        for (var c = 0; c < Customers; c++)
        {
            var amount = Amount(random);
            var churned = Churns(values[c], amount, random) ? 1 : 0;
            rows.Append(CultureInfo.InvariantCulture, $"{c + 1},{Time(now.AddSeconds(-random.Next(43_200)))},{Text(amount)},{churned}\n");
        }

        await platform.UploadCsvAsync(EntityRows, rows.ToString());
        var trained = await platform.TrainAsync(new
        {
            modelName = Model,
            featureService = Model,
            dataset = EntityRows,
            timestampField = "event_time",
            label = "churned",
            task = "binary",
            trainer = "LightGbm",
        });
        foreach (var (name, _, _) in Views)
        {
            using var materialized = await platform.Feature.PostAsJsonAsync($"/feature-views/{name}/materialize", new { });
            materialized.EnsureSuccessStatusCode();
        }

        await platform.PromoteAsync(Model, trained);
        await platform.WaitUntilReadyAsync(Model);
        var version = (await platform.Registry.GetFromJsonAsync<ModelVersionInfo>($"/models/{Model}/versions/{trained}", JsonSerializerOptions.Web))!;

        // The bodies: the same random customers and amounts by key and inline, in the columns the model's lineage names.
        var columns = version.Lineage.TrainingSet!.Views
            .ToDictionary(view => view.View, view => view.Features.ToDictionary(feature => feature.Feature, feature => feature.Column));
        var url = $"{platform.InferenceUrl.ToString().TrimEnd('/')}/models/{Model}/predict";
        var bodyRandom = new Random(7);
        var (byKeyOne, inlineOne) = WriteBodies(bodiesDir, 1, SingleBodies, bodyRandom, values, columns);
        var (byKeyBatch, inlineBatch) = WriteBodies(bodiesDir, BatchEntities, BatchBodies, bodyRandom, values, columns);
        await CheckSamePredictionsAsync(platform, url, byKeyBatch, inlineBatch);
        Scenario[] scenarios =
        [
            new("/predict by entity key", "1 entity", url, byKeyOne, "application/json", 32, 1, platform.Key),
            new("/predict, features inline", "1 row", url, inlineOne, "application/json", 32, 1, platform.Key),
            new("/predict by entity key", $"{BatchEntities} entities", url, byKeyBatch, "application/json", 4, BatchEntities, platform.Key),
            new("/predict, features inline", $"{BatchEntities} rows", url, inlineBatch, "application/json", 4, BatchEntities, platform.Key),
        ];
        return new ServingByEntityKey(version, scenarios);
    }

    /// <summary>The wrk command lines of the scenarios, for profiling (serve mode lets callers without a key predict).</summary>
    public IEnumerable<string> WrkCommands(TimeSpan duration) => _scenarios.Select(scenario =>
        $"BODIES_FILE={scenario.Body} wrk -t1 -c{scenario.Connections} -d{duration.TotalSeconds:F0}s -s {Paths.WrkScript} {scenario.Url}");

    /// <summary>Measures the scenarios side by side and returns the Markdown report: the table, and entity key against inline.</summary>
    public async Task<string> MeasureAsync(TimeSpan warmUp, int rounds, TimeSpan seconds)
    {
        await Scenario.WarmUpAsync(_scenarios, warmUp);
        var results = await Scenario.MeasureAsync(_scenarios, rounds, seconds);

        var report = new StringBuilder();
        var views = string.Join(", ", Views.Select(view =>
            $"`{view.Name}` ({view.Features.Length} features, TTL {(view.Ttl == TimeSpan.Zero ? "none" : $"{view.Ttl.TotalDays:F0} days")})"));
        report.AppendLine(CultureInfo.InvariantCulture, $"Serving by entity key: model `{Model}` v{_version.Version} ({_version.Lineage.Trainer}) "
            + $"trained from feature service `{Model}`: views {views} about {Customers:N0} customers, every feature present, and the "
            + $"request-time `amount`. {SingleBodies:N0} single-entity and {BatchBodies} {BatchEntities}-entity bodies of random "
            + $"customers, sent in turn. Median of {rounds} rounds of {seconds.TotalSeconds:F0} s after a {warmUp.TotalSeconds:F0}-s warm-up "
            + $"per target; wrk with 1 thread.");
        report.AppendLine();
        report.AppendLine("| Target | Request | Connections | Requests/s | Rows/s | p50 ms | p99 ms | Errors |");
        report.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|");
        foreach (var scenario in _scenarios)
        {
            report.AppendLine(scenario.TableRow(results[scenario]));
        }

        report.AppendLine();
        report.AppendLine("| Entity key vs inline | Requests/s | Ratio | Per round |");
        report.AppendLine("|---|---|---:|---|");
        foreach (var (byKey, inline) in new[] { (_scenarios[0], _scenarios[1]), (_scenarios[2], _scenarios[3]) })
        {
            var (keyed, sent) = (results[byKey], results[inline]);
            var (keyedRps, sentRps) = (Median(keyed.Select(run => run.Rps)), Median(sent.Select(run => run.Rps)));
            var perRound = string.Join(", ", keyed.Zip(sent, (k, s) => Percent(k.Rps / s.Rps)));
            report.AppendLine(CultureInfo.InvariantCulture, $"| {byKey.Rows} | {keyedRps:N0} vs {sentRps:N0} | {Percent(keyedRps / sentRps)} | {perRound} |");
        }

        return report.ToString();
    }

    /// <summary>One customer's values: per view, per feature, rounded as a CSV would hold them.</summary>
    private static double[][] CustomerValues(Random random)
    {
        var spendTotal = Math.Round(random.NextDouble() * 2000, 2);
        var spendAverage = Math.Round(spendTotal / random.Next(1, 30), 2);
        var sessions = random.Next(0, 50);
        return
        [
            [random.Next(18, 80), random.Next(0, 120), random.Next(300, 851), Math.Round(20 + random.NextDouble() * 180, 1)],
            [spendTotal, spendAverage, Math.Round(Math.Min(spendTotal, spendAverage * (1 + 3 * random.NextDouble())), 2)],
            [sessions, sessions * random.Next(1, 20), Math.Round(sessions * 15 * random.NextDouble(), 1)],
        ];
    }

    private static double Amount(Random random) => Math.Round(1 + random.NextDouble() * 499, 2);

    /// <summary>Churn, by a noisy score: short tenure, few sessions, a low credit score, little spend and a large amount raise it.</summary>
    private static bool Churns(double[][] customer, double amount, Random random)
    {
        var (tenure, creditScore, spend, sessions) = (customer[0][1], customer[0][2], customer[1][0], customer[2][0]);
        var score = 3.5 - tenure / 30 - sessions / 12 + (850 - creditScore) / 300 - spend / 1000 + amount / 400;
        return score + 2 * (random.NextDouble() - 0.5) > 0;
    }

    /// <summary>Writes <paramref name="count"/> bodies of <paramref name="entities"/> random customers each, by key and inline.</summary>
    /// <returns>The two files, one body a line.</returns>
    private static (string ByKey, string Inline) WriteBodies(
        string directory, int entities, int count, Random random, double[][][] values, Dictionary<string, Dictionary<string, string>> columns)
    {
        var (byKeyPath, inlinePath) = (Path.Combine(directory, $"entity-{entities}.jsonl"), Path.Combine(directory, $"inline-{entities}.jsonl"));
        using var byKey = new StreamWriter(byKeyPath);
        using var inline = new StreamWriter(inlinePath);
        var customers = Enumerable.Range(1, Customers).ToArray();
        for (var body = 0; body < count; body++)
        {
            random.Shuffle(customers);
            var chosen = customers[..entities];
            var amounts = chosen.Select(_ => Amount(random)).ToArray();
            byKey.WriteLine(JsonSerializer.Serialize(new { entities = new Dictionary<string, object> { ["customer_id"] = chosen, ["amount"] = amounts } }));
            var records = chosen.Select((customer, i) =>
            {
                var record = new Dictionary<string, double>();
                for (var v = 0; v < Views.Length; v++)
                {
                    for (var f = 0; f < Views[v].Features.Length; f++)
                    {
                        record[columns[Views[v].Name][Views[v].Features[f]]] = values[customer - 1][v][f];
                    }
                }

                record["amount"] = amounts[i];
                return record;
            });
            inline.WriteLine(JsonSerializer.Serialize(new { records }));
        }

        return (byKeyPath, inlinePath);
    }

    /// <summary>The first body by key and inline must answer alike, with every feature found: else the comparison means nothing.</summary>
    private static async Task CheckSamePredictionsAsync(Platform platform, string url, string byKeyBodies, string inlineBodies)
    {
        async Task<JsonObject> PredictAsync(string bodies)
        {
            using var content = new StringContent(File.ReadLines(bodies).First(), Encoding.UTF8, "application/json");
            using var response = await platform.Inference.PostAsync(url, content);
            response.EnsureSuccessStatusCode();
            return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        }

        var (byKey, inline) = (await PredictAsync(byKeyBodies), await PredictAsync(inlineBodies));
        var missing = byKey["missingFeatures"]!.AsArray().Count(row => row!.AsObject().Count > 0);
        if (missing > 0 || byKey["predictions"]!.ToJsonString() != inline["predictions"]!.ToJsonString())
        {
            throw new InvalidOperationException(
                $"By key and inline answer differently ({missing} entities with missing features):\n{byKey}\n{inline}");
        }
    }

    private static async Task PutAsync(Platform platform, string path, object definition)
    {
        using var response = await platform.Feature.PutAsJsonAsync(path, definition);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"PUT {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    private static string Percent(double ratio) => string.Create(CultureInfo.InvariantCulture, $"{100 * ratio:F0}%");

    private static string Time(DateTimeOffset time) => time.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private static string Text(double value) => value.ToString(CultureInfo.InvariantCulture);
}

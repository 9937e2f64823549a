using System.Diagnostics;
using System.Text;
using System.Text.Json;
using ModelPlatform.Contracts;
using ModelPlatform.Feature.Datasets;
using ModelPlatform.ML;

// Usage: dotnet run -c Release --project bench/ModelPlatform.Bench.Training -- DATA_DIR OUT_JSON [BUDGET_SECONDS]
// For each data set (train.csv, test.csv, meta.json from prepare.py): the automatic search within the budget on
// train.csv, scored by 5-fold cross-validation, then the best candidate (or the ensemble the search chose) refit on
// train.csv and scored on test.csv.
var (data, output) = (args[0], args[1]);
var budget = args.Length > 2 ? int.Parse(args[2]) : 60;
var results = new List<object>();
foreach (var folder in Directory.GetDirectories(data).Order(StringComparer.Ordinal))
{
    using var meta = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "meta.json")));
    var name = meta.RootElement.GetProperty("name").GetString()!;
    var task = JsonSerializer.Deserialize<MLTask>(meta.RootElement.GetProperty("task"));
    var label = meta.RootElement.GetProperty("label").GetString()!;

    // One parse of train and test together, so both get the same column types; the hold-out starts after train.
    var trainLines = File.ReadAllLines(Path.Combine(folder, "train.csv"));
    var testLines = File.ReadAllLines(Path.Combine(folder, "test.csv")).Skip(1);
    var csv = string.Join('\n', trainLines.Concat(testLines));
    var parsed = await CsvDatasetReader.ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(csv)), CancellationToken.None);
    var rows = parsed.Rows.Select(values => (IReadOnlyDictionary<string, JsonElement>)parsed.Columns
        .Select((column, i) => (column.Name, Value: JsonSerializer.SerializeToElement(values[i])))
        .ToDictionary(pair => pair.Name, pair => pair.Value)).ToList();

    var clock = Stopwatch.StartNew();
    var trainingData = TrainingData.Create(parsed.Columns, label, task, rows);
    var model = ModelTrainer.Train(trainingData, new TrainingSettings(Trainers.Auto, BudgetSeconds: budget, HoldOutFromRow: trainLines.Length - 1));
    var best = model.Leaderboard![0];
    var metric = ModelMetrics.DefaultFor(task);
    var (chosen, cvMean, cvStd) = model.Ensemble is { } ensemble
        ? ("ensemble of " + string.Join(" + ", ensemble.Members.Select(member => $"{member.Trainer} {member.Weight:0.##}")),
            ensemble.Mean,
            ensemble.StandardDeviation)
        : (best.Trainer, best.Mean, best.StandardDeviation);
    results.Add(new
    {
        dataset = name,
        task = task.ToString().ToLowerInvariant(),
        metric,
        model = $"auto → {chosen}",
        cvMean,
        cvStd,
        test = model.Metrics[metric],
        trials = model.Leaderboard.Count,
        searchSeconds = model.SearchSeconds,
        budgetSeconds = budget,
        seconds = clock.Elapsed.TotalSeconds,
        leaderboard = model.Leaderboard,
        ensemble = model.Ensemble,
    });
    Console.WriteLine($"{name,-14} auto → {chosen,-22} cv {cvMean:F4} ± {cvStd:F4}  "
        + $"test {model.Metrics[metric]:F4}  ({model.Leaderboard.Count} trials, search {model.SearchSeconds:F1} s of {budget} s)");
}

await File.WriteAllTextAsync(output, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));

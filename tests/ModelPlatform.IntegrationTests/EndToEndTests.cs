using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace ModelPlatform.IntegrationTests;

/// <summary>The whole path through the four services: upload, train, register, promote, predict, swap.</summary>
public class EndToEndTests(PlatformFixture platform) : PlatformTest(platform)
{
    [Fact]
    public async Task IrisGoesFromCsvToAccuratePredictionsThroughAllFourServices()
    {
        // Arrange: a dataset version in the feature service.
        var dataset = PlatformSteps.UniqueName("iris");
        var version = await Platform.UploadCsvAsync(dataset, PlatformSteps.IrisCsv()).AssertJsonAsync(HttpStatusCode.Created);
        Assert.Equal(150, version["rows"]!.GetValue<int>());
        Assert.Equal("categorical", version["columns"]![4]!["type"]!.GetValue<string>());

        // Act: train, register, promote, predict.
        var job = await Platform.TrainAsync(new { modelName = dataset, dataset, label = "species", task = "multiclass" });
        var modelVersion = job["modelVersion"]!.GetValue<int>();
        await Platform.PromoteAsync(dataset, new { version = modelVersion });
        var rows = PlatformSteps.IrisRows();
        var body = await Platform.PredictAsync(dataset, rows.Select(row => (object)row.Record)).AssertJsonAsync();

        // Assert: labels are the species names, and far better than the 33% of guessing.
        Assert.Equal(modelVersion, body["version"]!.GetValue<int>());
        var labels = body["predictions"]!.AsArray().Select(prediction => prediction!["label"]!.GetValue<string>()).ToList();
        var accuracy = labels.Zip(rows, (label, row) => label == row.Species).Average(correct => correct ? 1.0 : 0.0);
        Assert.True(accuracy > 0.9, $"accuracy {accuracy:P1}");
        Assert.True(job["metrics"]!["macroAccuracy"]!.GetValue<double>() > 0.8, $"hold-out metrics {job["metrics"]}");
    }

    [Fact]
    public async Task RegistryKeepsChecksumSignatureMetricsAndLineage()
    {
        var dataset = await Platform.UploadIrisAsync("iris");
        var job = await Platform.TrainAsync(new { modelName = dataset, dataset, label = "species", task = "multiclass", trainer = "LightGbm" });
        var modelVersion = job["modelVersion"]!.GetValue<int>();

        var info = await Platform.Registry.GetAsync($"/models/{dataset}/versions/{modelVersion}").AssertJsonAsync();
        var artifact = await Platform.Registry.GetByteArrayAsync($"/models/{dataset}/versions/{modelVersion}/artifact");

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(artifact)), info["sha256"]!.GetValue<string>());
        Assert.Equal(4, info["signature"]!["inputs"]!.AsArray().Count);
        Assert.Equal(["setosa", "versicolor", "virginica"], info["signature"]!["classes"]!.AsArray().Select(c => c!.GetValue<string>()));
        Assert.Equal(dataset, info["lineage"]!["dataset"]!.GetValue<string>());
        Assert.Equal(1, info["lineage"]!["datasetVersion"]!.GetValue<int>());
        Assert.Equal(job["id"]!.GetValue<string>(), info["lineage"]!["trainingJobId"]!.GetValue<string>());
        Assert.Equal("LightGbm", info["lineage"]!["trainer"]!.GetValue<string>());
        Assert.True(info["metrics"]!["macroAccuracy"]!.GetValue<double>() > 0.8, $"metrics {info["metrics"]}");
    }

    [Fact]
    public async Task AutomaticSearchReportsItsLeaderboardAndServesTheEnsembleItChose()
    {
        var dataset = await Platform.UploadIrisAsync("auto");

        var job = await Platform.TrainAsync(new
        {
            modelName = dataset,
            dataset,
            label = "species",
            task = "multiclass",
            trainer = "auto",
            // A budget no trial's share of runs out on a loaded machine, so the seed and the trial cap decide the result.
            budgetSeconds = 1200,
            maxTrials = 6,
            folds = 3,
        });

        var report = job["report"]!;
        var leaderboard = report["leaderboard"]!.AsArray();
        Assert.Equal(6, leaderboard.Count);
        Assert.All(leaderboard, trial => Assert.Equal("macroAccuracy", trial!["metric"]!.GetValue<string>()));
        Assert.True(leaderboard[0]!["mean"]!.GetValue<double>() > 0.9, $"leaderboard {leaderboard}");
        // With this seed and trial cap, two of the candidates averaged beat the best alone on the same folds.
        var ensemble = report["ensemble"]!;
        Assert.Equal("ensemble", report["trainer"]!.GetValue<string>());
        Assert.Equal(leaderboard[0]!["trial"]!.GetValue<int>(), ensemble["members"]![0]!["trial"]!.GetValue<int>());
        Assert.True(ensemble["mean"]!.GetValue<double>() > ensemble["baseline"]!.GetValue<double>(), $"ensemble {ensemble}");
        var registered = await Platform.Registry.GetAsync($"/models/{dataset}/versions/{job["modelVersion"]}").AssertJsonAsync();
        Assert.Equal("ensemble", registered["lineage"]!["trainer"]!.GetValue<string>());

        // The inference service serves the ensemble's averaged answer.
        await Platform.PromoteAsync(dataset, new { version = job["modelVersion"]!.GetValue<int>() });
        var rows = PlatformSteps.IrisRows();
        var predictions = (await Platform.PredictAsync(dataset, rows.Select(row => (object)row.Record)).AssertJsonAsync())["predictions"]!.AsArray();
        var accuracy = predictions.Zip(rows, (prediction, row) => prediction!["label"]!.GetValue<string>() == row.Species).Average(right => right ? 1.0 : 0.0);
        Assert.True(accuracy > 0.9, $"accuracy {accuracy:P1}");
        Assert.All(predictions, prediction => Assert.Equal(1, prediction!["scores"]!.AsObject().Sum(score => score.Value!.GetValue<double>()), 3));
    }

    [Fact]
    public async Task SearchWithASmallBudgetEndsOnTimeWhenTheDataMakesTrainersSlow()
    {
        // 20,000 rows of noise: no trainer converges early, and a default tree ensemble needs more than its 2.5 s share.
        var dataset = PlatformSteps.UniqueName("slow");
        await Platform.UploadCsvAsync(dataset, NoiseCsv(rows: 20_000, columns: 20)).AssertStatusAsync(HttpStatusCode.Created);

        var job = await Platform.TrainAsync(new { modelName = dataset, dataset, label = "y", task = "binary", trainer = "auto", budgetSeconds = 10 });

        var report = job["report"]!;
        var leaderboard = report["leaderboard"]!.AsArray();
        Assert.True(report["searchSeconds"]!.GetValue<double>() <= 10 + 2, $"the search took {report["searchSeconds"]} s of its 10: {leaderboard}");
        // Each trial stops at its limit: a quarter of the budget, or the budget's end for one that was leading.
        var stopped = leaderboard.Select(trial => (Trial: trial!, Limit: Regex.Match(trial!["stopped"]?.GetValue<string>() ?? "", "time limit of ([0-9.]+) s")))
            .Where(trial => trial.Limit.Success)
            .ToList();
        Assert.NotEmpty(stopped);
        Assert.All(stopped, trial => Assert.True(
            trial.Trial["seconds"]!.GetValue<double>() <= double.Parse(trial.Limit.Groups[1].Value, CultureInfo.InvariantCulture) + 2, $"trial {trial.Trial}"));
        Assert.All(leaderboard, trial => Assert.True(trial!["seconds"]!.GetValue<double>() <= 10 + 2, $"trial {trial}"));
    }

    [Fact]
    public async Task HyperparametersOutOfRangeAreRejectedListingTheAllowedOnes()
    {
        var dataset = await Platform.UploadIrisAsync("iris");

        using var response = await Platform.Training.PostAsJsonAsync("/training-jobs", new
        {
            modelName = dataset,
            dataset,
            label = "species",
            task = "multiclass",
            trainer = "LightGbm",
            hyperparameters = new Dictionary<string, double> { ["numberOfLeaves"] = 100_000, ["depth"] = 4 },
        });

        var errors = (await response.AssertJsonAsync(HttpStatusCode.BadRequest))["errors"]!;
        Assert.Contains("from 2 to 512", errors["hyperparameters.numberOfLeaves"]![0]!.GetValue<string>());
        Assert.Contains("numberOfLeaves, numberOfIterations, minimumExampleCountPerLeaf, learningRate",
            errors["hyperparameters.depth"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task BinaryModelOnTextAndCategoricalColumnsAnswersWithTheDataLabels()
    {
        var dataset = PlatformSteps.UniqueName("sms");
        await Platform.UploadCsvAsync(dataset, PlatformSteps.MessagesCsv(400)).AssertStatusAsync(HttpStatusCode.Created);
        var job = await Platform.TrainAsync(new { modelName = dataset, dataset, label = "kind", task = "binary" });
        await Platform.PromoteAsync(dataset, new { version = job["modelVersion"]!.GetValue<int>() });

        var answer = await Platform.PredictAsync(dataset,
        [
            new { message = "claim your free cash prize now", sender = "unknown", links = 2 },
            new { message = "lunch at noon before the meeting", sender = "contact", links = 0 },
        ]).AssertJsonAsync();

        var predictions = answer["predictions"]!.AsArray();
        Assert.Equal("spam", predictions[0]!["label"]!.GetValue<string>());
        Assert.True(predictions[0]!["probability"]!.GetValue<double>() > 0.5, $"predictions {predictions}");
        Assert.Equal("ham", predictions[1]!["label"]!.GetValue<string>());
        Assert.True(job["metrics"]!["auc"]!.GetValue<double>() > 0.9, $"hold-out metrics {job["metrics"]}");
    }

    [Fact]
    public async Task EachVersionRecordsHowMuchItLeansOnEachColumn()
    {
        // Spam is told by its words; the sender and the links only hint at it.
        var dataset = PlatformSteps.UniqueName("importance");
        await Platform.UploadCsvAsync(dataset, PlatformSteps.MessagesCsv(400)).AssertStatusAsync(HttpStatusCode.Created);
        var job = await Platform.TrainAsync(new { modelName = dataset, dataset, label = "kind", task = "binary", trainer = "LbfgsLogisticRegression" });

        var version = await Platform.Registry.GetAsync($"/models/{dataset}/versions/{job["modelVersion"]}").AssertJsonAsync();

        var importance = version["importance"]!;
        Assert.Equal("permutation", importance["method"]!.GetValue<string>());
        Assert.Equal("auc", importance["metric"]!.GetValue<string>());
        Assert.Equal(job["report"]!["evaluation"]!["rows"]!.GetValue<int>(), importance["rows"]!.GetValue<int>());
        var columns = importance["columns"]!.AsArray().Select(column => column!["column"]!.GetValue<string>()).ToList();
        // One entry per column sent, however many slots the text's words and the sender's categories became.
        Assert.Equal(["links", "message", "sender"], columns.Order());
        Assert.Equal("message", columns[0]);
        Assert.True(importance["columns"]![0]!["mean"]!.GetValue<double>() > 0, $"importance {importance.ToJsonString()}");

        // ML.NET cannot export its text featurization to ONNX: the version says so, and so does the export's address.
        Assert.StartsWith("ML.NET's ONNX converter cannot export the featurization of free text (column 'message')",
            version["onnxExport"]!["reason"]!.GetValue<string>());
        var noExport = await Platform.Registry.GetAsync($"/models/{dataset}/versions/{job["modelVersion"]}/onnx").AssertJsonAsync(HttpStatusCode.NotFound);
        Assert.Contains("featurization of free text", noExport["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task MovingTheAliasSwapsTheServedVersionWithoutARestartOrAFailedRequest()
    {
        var dataset = await Platform.UploadIrisAsync("swap");
        var first = await Platform.TrainIrisAsync(dataset);
        var second = await Platform.TrainIrisAsync(dataset, "SdcaMaximumEntropy");
        await Platform.PromoteAsync(dataset, new { version = first });
        var record = new[] { PlatformSteps.IrisRows()[0].Record };
        Assert.Equal(first, await ServedVersionAsync());

        await Platform.PromoteAsync(dataset, new { version = second });

        // Every request succeeds while the new version loads; the switch comes from the event, not a cache expiry.
        await Platform.WaitUntilAsync($"{dataset} to answer with v{second} after its promotion",
            ServedVersionAsync, served => served == second, PlatformSteps.EventTimeout, ["inference"]);

        // Rollback is the same call.
        await Platform.PromoteAsync(dataset, new { version = first });
        await Platform.WaitUntilAsync($"{dataset} to answer with v{first} after the rollback",
            ServedVersionAsync, served => served == first, PlatformSteps.EventTimeout, ["inference"]);

        async Task<int> ServedVersionAsync() =>
            (await Platform.PredictAsync(dataset, record).AssertJsonAsync())["version"]!.GetValue<int>();
    }

    [Fact]
    public async Task EveryServiceReportsHealthyWithItsDependencies()
    {
        foreach (var client in new[] { Platform.Feature, Platform.Training, Platform.Registry, Platform.Inference })
        {
            Assert.Equal("Healthy", await client.GetAsync("/health").AssertStatusAsync(HttpStatusCode.OK));
            Assert.Equal("Healthy", await client.GetAsync("/alive").AssertStatusAsync(HttpStatusCode.OK));
            await client.GetAsync("/openapi/v1.json").AssertStatusAsync(HttpStatusCode.OK);
            Assert.Contains("scalar.js", await client.GetAsync("/scalar/").AssertStatusAsync(HttpStatusCode.OK));
        }
    }

    private static string NoiseCsv(int rows, int columns)
    {
        var random = new Random(11);
        var csv = new StringBuilder(string.Join(',', Enumerable.Range(0, columns).Select(i => $"x{i}").Append("y"))).Append('\n');
        for (var row = 0; row < rows; row++)
        {
            for (var column = 0; column < columns; column++)
            {
                csv.Append(CultureInfo.InvariantCulture, $"{random.NextDouble():F4},");
            }

            csv.Append(random.Next(2) == 0 ? "no" : "yes").Append('\n');
        }

        return csv.ToString();
    }
}

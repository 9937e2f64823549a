using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace ModelPlatform.IntegrationTests;

[Collection(PlatformCollection.Name)]
public class EndToEndTests(PlatformFixture platform) : IAsyncLifetime
{
    // An earlier test may have stopped a server or service; each test starts from a running platform.
    public Task InitializeAsync() => platform.EnsureEverythingRunsAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task IrisGoesFromCsvToAccuratePredictionsThroughAllFourServices()
    {
        // Arrange: a dataset version in the feature service.
        var dataset = PlatformSteps.UniqueName("iris");
        using var upload = await platform.UploadCsvAsync(dataset, PlatformSteps.IrisCsv());
        Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
        var version = (await upload.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(150, version["rows"]!.GetValue<int>());
        Assert.Equal("categorical", version["columns"]![4]!["type"]!.GetValue<string>());

        // Act: train, register, promote, predict.
        var job = await platform.TrainAsync(new { modelName = dataset, dataset, label = "species", task = "multiclass" });
        var modelVersion = job["modelVersion"]!.GetValue<int>();
        using var promoted = await platform.SetAliasAsync(dataset, "production", modelVersion);
        Assert.Equal(HttpStatusCode.OK, promoted.StatusCode);
        var rows = PlatformSteps.IrisRows();
        using var predicted = await platform.PredictAsync(dataset, rows.Select(row => (object)row.Record));

        // Assert: labels are the species names, and far better than the 33% of guessing.
        Assert.Equal(HttpStatusCode.OK, predicted.StatusCode);
        var body = (await predicted.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(modelVersion, body["version"]!.GetValue<int>());
        var labels = body["predictions"]!.AsArray().Select(prediction => prediction!["label"]!.GetValue<string>()).ToList();
        var accuracy = labels.Zip(rows, (label, row) => label == row.Species).Average(correct => correct ? 1.0 : 0.0);
        Assert.True(accuracy > 0.9, $"accuracy {accuracy:P1}");
        Assert.True(job["metrics"]!["macroAccuracy"]!.GetValue<double>() > 0.8, $"hold-out metrics {job["metrics"]}");
    }

    [Fact]
    public async Task RegistryKeepsChecksumSignatureMetricsAndLineage()
    {
        var dataset = PlatformSteps.UniqueName("iris");
        (await platform.UploadCsvAsync(dataset, PlatformSteps.IrisCsv())).EnsureSuccessStatusCode();
        var job = await platform.TrainAsync(new { modelName = dataset, dataset, label = "species", task = "multiclass", trainer = "LightGbm" });
        var modelVersion = job["modelVersion"]!.GetValue<int>();

        var info = (await platform.Registry.GetFromJsonAsync<JsonObject>($"/models/{dataset}/versions/{modelVersion}"))!;
        var artifact = await platform.Registry.GetByteArrayAsync($"/models/{dataset}/versions/{modelVersion}/artifact");

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(artifact)), info["sha256"]!.GetValue<string>());
        Assert.Equal(4, info["signature"]!["inputs"]!.AsArray().Count);
        Assert.Equal(["setosa", "versicolor", "virginica"], info["signature"]!["classes"]!.AsArray().Select(c => c!.GetValue<string>()));
        Assert.Equal(dataset, info["lineage"]!["dataset"]!.GetValue<string>());
        Assert.Equal(1, info["lineage"]!["datasetVersion"]!.GetValue<int>());
        Assert.Equal(job["id"]!.GetValue<string>(), info["lineage"]!["trainingJobId"]!.GetValue<string>());
        Assert.Equal("LightGbm", info["lineage"]!["trainer"]!.GetValue<string>());
        Assert.True(info["metrics"]!["macroAccuracy"]!.GetValue<double>() > 0.8);
    }

    [Fact]
    public async Task AutomaticSearchReportsItsLeaderboardAndRegistersTheBest()
    {
        var dataset = PlatformSteps.UniqueName("auto");
        (await platform.UploadCsvAsync(dataset, PlatformSteps.IrisCsv())).EnsureSuccessStatusCode();

        var job = await platform.TrainAsync(new { modelName = dataset, dataset, label = "species", task = "multiclass", trainer = "auto", budgetSeconds = 30, maxTrials = 6, folds = 3 });

        var report = job["report"]!;
        var leaderboard = report["leaderboard"]!.AsArray();
        Assert.Equal(6, leaderboard.Count);
        Assert.Equal(leaderboard[0]!["trainer"]!.GetValue<string>(), report["trainer"]!.GetValue<string>());
        Assert.All(leaderboard, trial => Assert.Equal("macroAccuracy", trial!["metric"]!.GetValue<string>()));
        Assert.True(leaderboard[0]!["mean"]!.GetValue<double>() > 0.9);
        var registered = (await platform.Registry.GetFromJsonAsync<JsonObject>($"/models/{dataset}/versions/{job["modelVersion"]}"))!;
        Assert.Equal(report["trainer"]!.GetValue<string>(), registered["lineage"]!["trainer"]!.GetValue<string>());
    }

    [Fact]
    public async Task HyperparametersOutOfRangeAreRejectedListingTheAllowedOnes()
    {
        var dataset = PlatformSteps.UniqueName("iris");
        (await platform.UploadCsvAsync(dataset, PlatformSteps.IrisCsv())).EnsureSuccessStatusCode();

        using var response = await platform.Training.PostAsJsonAsync("/training-jobs", new
        {
            modelName = dataset,
            dataset,
            label = "species",
            task = "multiclass",
            trainer = "LightGbm",
            hyperparameters = new Dictionary<string, double> { ["numberOfLeaves"] = 100_000, ["depth"] = 4 },
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonObject>())!["errors"]!;
        Assert.Contains("from 2 to 512", errors["hyperparameters.numberOfLeaves"]![0]!.GetValue<string>());
        Assert.Contains("numberOfLeaves, numberOfIterations, minimumExampleCountPerLeaf, learningRate", errors["hyperparameters.depth"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task BinaryModelOnTextAndCategoricalColumnsAnswersWithTheDataLabels()
    {
        var dataset = PlatformSteps.UniqueName("sms");
        (await platform.UploadCsvAsync(dataset, PlatformSteps.MessagesCsv(400))).EnsureSuccessStatusCode();
        var job = await platform.TrainAsync(new { modelName = dataset, dataset, label = "kind", task = "binary" });
        (await platform.SetAliasAsync(dataset, "production", job["modelVersion"]!.GetValue<int>())).EnsureSuccessStatusCode();

        using var response = await platform.PredictAsync(dataset,
        [
            new { message = "claim your free cash prize now", sender = "unknown", links = 2 },
            new { message = "lunch at noon before the meeting", sender = "contact", links = 0 },
        ]);

        response.EnsureSuccessStatusCode();
        var predictions = (await response.Content.ReadFromJsonAsync<JsonObject>())!["predictions"]!.AsArray();
        Assert.Equal("spam", predictions[0]!["label"]!.GetValue<string>());
        Assert.True(predictions[0]!["probability"]!.GetValue<double>() > 0.5);
        Assert.Equal("ham", predictions[1]!["label"]!.GetValue<string>());
        Assert.True(job["metrics"]!["auc"]!.GetValue<double>() > 0.9, $"hold-out metrics {job["metrics"]}");
    }

    [Fact]
    public async Task MovingTheAliasSwapsTheServedVersionWithoutARestartOrAFailedRequest()
    {
        var dataset = PlatformSteps.UniqueName("swap");
        (await platform.UploadCsvAsync(dataset, PlatformSteps.IrisCsv())).EnsureSuccessStatusCode();
        var first = (await platform.TrainAsync(new { modelName = dataset, dataset, label = "species", task = "multiclass" }))["modelVersion"]!.GetValue<int>();
        var second = (await platform.TrainAsync(new { modelName = dataset, dataset, label = "species", task = "multiclass", trainer = "SdcaMaximumEntropy" }))["modelVersion"]!.GetValue<int>();
        (await platform.SetAliasAsync(dataset, "production", first)).EnsureSuccessStatusCode();
        var record = new[] { PlatformSteps.IrisRows()[0].Record };
        Assert.Equal(first, await ServedVersionAsync());

        (await platform.SetAliasAsync(dataset, "production", second)).EnsureSuccessStatusCode();

        // Every request succeeds while the new version loads; the switch comes from the event, not a cache expiry.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        var served = first;
        while (served != second && DateTime.UtcNow < deadline)
        {
            served = await ServedVersionAsync();
        }

        Assert.Equal(second, served);

        // Rollback is the same call.
        (await platform.SetAliasAsync(dataset, "production", first)).EnsureSuccessStatusCode();
        deadline = DateTime.UtcNow.AddSeconds(30);
        while (served != first && DateTime.UtcNow < deadline)
        {
            served = await ServedVersionAsync();
        }

        Assert.Equal(first, served);

        async Task<int> ServedVersionAsync()
        {
            using var response = await platform.PredictAsync(dataset, record);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<JsonObject>())!["version"]!.GetValue<int>();
        }
    }

    [Fact]
    public async Task EveryServiceReportsHealthyWithItsDependencies()
    {
        foreach (var client in new[] { platform.Feature, platform.Training, platform.Registry, platform.Inference })
        {
            Assert.Equal("Healthy", await client.GetStringAsync("/health"));
            Assert.Equal("Healthy", await client.GetStringAsync("/alive"));
            using var openApi = await client.GetAsync("/openapi/v1.json");
            Assert.Equal(HttpStatusCode.OK, openApi.StatusCode);
        }
    }
}

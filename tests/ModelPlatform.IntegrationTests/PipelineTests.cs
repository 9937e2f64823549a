using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace ModelPlatform.IntegrationTests;

/// <summary>
/// Training pipelines against the real platform: a run triggered by new data or asked for, its training job, its gate on
/// the candidate and production scored on the same held-out rows, and its promotion; and a schedule across a restart.
/// </summary>
public class PipelineTests(PlatformFixture platform) : PlatformTest(platform)
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(3);
    private static readonly string[] PipelineServices = ["training", "feature", "registry"];

    /// <summary>A weak iris model: five two-leaf trees that barely learn (a gate's candidates beat it easily).</summary>
    private static readonly object WeakTrainer = new
    {
        trainer = "OneVersusAllFastTree",
        hyperparameters = new Dictionary<string, double> { ["numberOfTrees"] = 5, ["numberOfLeaves"] = 2, ["learningRate"] = 0.001 },
    };

    [Fact]
    public async Task ANewDatasetVersionTriggersARunThatPassesItsGateAndBecomesProductionUnderThePipelinesName()
    {
        var (model, weak) = await ProductionAsync(WeakTrainer);
        var pipeline = PlatformSteps.UniqueName("fresh");
        await SaveAsync(pipeline, new
        {
            model,
            dataset = model,
            training = new { label = "species", task = "multiclass", trainer = "LightGbm" },
            onNewData = new { debounceSeconds = 1 },
            gate = new { metric = "macroAccuracy", minGain = 0.05, maxRecallDrop = 0.2 },
        }).AssertStatusAsync(HttpStatusCode.Created);

        await Platform.UploadCsvAsync(model, IrisCsv(copies: 3)).AssertStatusAsync(HttpStatusCode.Created);
        var run = await WaitForRunAsync(pipeline, "promoted");

        Assert.Equal(("data", 2), (run["trigger"]!["kind"]!.GetValue<string>(), run["trigger"]!["datasetVersion"]!.GetValue<int>()));
        var candidate = run["candidateVersion"]!.GetValue<int>();
        var production = await Platform.Registry.GetFromJsonAsync<JsonObject>($"/models/{model}/aliases/production");
        Assert.Equal((candidate, weak), (production!["version"]!.GetValue<int>(), run["baselineVersion"]!.GetValue<int>()));
        var gate = run["gate"]!;
        Assert.True(gate["passed"]!.GetValue<bool>());
        Assert.True(gate["gain"]!.GetValue<double>() >= 0.05, gate.ToJsonString());
        Assert.Equal(3, gate["checks"]!.AsArray().Count);
        Assert.Equal(["triggered", "training", "trained", "promoted"], run["steps"]!.AsArray().Select(step => step!["step"]!.GetValue<string>()));
        Assert.True(run["secondsToProduction"]!.GetValue<double>() > 0);

        // The training job is an ordinary one, under the pipeline's name; so is the alias move in the registry's audit.
        var job = await Platform.Training.GetFromJsonAsync<JsonObject>($"/training-jobs/{run["jobId"]}");
        Assert.Equal("production", job!["report"]!["comparison"]!["alias"]!.GetValue<string>());
        var moves = await Platform.Registry.GetFromJsonAsync<JsonObject>($"/models/{model}/aliases/production/history");
        Assert.Equal($"pipeline {pipeline}", moves!["records"]![0]!["actorName"]!.GetValue<string>());
        var audit = await Platform.Training.GetFromJsonAsync<JsonObject>($"/audit?resource=training-jobs/{run["jobId"]}");
        Assert.Equal($"pipeline {pipeline}", audit!["records"]![0]!["actorName"]!.GetValue<string>());
    }

    [Fact]
    public async Task ARunWhoseCandidateIsWorseStaysARegisteredVersionWithTheGatesReasonAndProductionStays()
    {
        var (model, good) = await ProductionAsync(new { trainer = "LightGbm" });
        var pipeline = PlatformSteps.UniqueName("worse");
        await SaveAsync(pipeline, new
        {
            model,
            dataset = model,
            training = new Dictionary<string, object> { ["label"] = "species", ["task"] = "multiclass" }.Union(Fields(WeakTrainer)).ToDictionary(),
            gate = new { metric = "macroAccuracy" },
        }).AssertStatusAsync(HttpStatusCode.Created);

        var asked = await Platform.Training.PostAsync($"/pipelines/{pipeline}/runs", null).AssertJsonAsync(HttpStatusCode.Accepted);
        var run = await WaitForRunAsync(pipeline, "registered");

        Assert.Equal(asked["id"]!.GetValue<string>(), run["id"]!.GetValue<string>());
        Assert.Equal("manual", run["trigger"]!["kind"]!.GetValue<string>());
        var gate = run["gate"]!;
        Assert.False(gate["passed"]!.GetValue<bool>());
        Assert.True(gate["candidate"]!.GetValue<double>() < gate["baseline"]!.GetValue<double>(), gate.ToJsonString());
        Assert.StartsWith("failed its gate: macroAccuracy", run["reason"]!.GetValue<string>());
        Assert.Equal("gate failed", run["steps"]!.AsArray()[^1]!["step"]!.GetValue<string>());
        var production = await Platform.Registry.GetFromJsonAsync<JsonObject>($"/models/{model}/aliases/production");
        Assert.Equal(good, production!["version"]!.GetValue<int>());
        // The candidate is kept, registered, for anyone to look at.
        await Platform.Registry.GetAsync($"/models/{model}/versions/{run["candidateVersion"]}").AssertStatusAsync(HttpStatusCode.OK);
    }

    [Fact]
    public async Task AScheduleRunsOnceAfterARestartThatSkippedTwoOfItsTicks()
    {
        var dataset = await Platform.UploadIrisAsync("scheduled");
        var pipeline = PlatformSteps.UniqueName("daily");
        // Daily, half a day from now, so no tick comes round by the real clock while the test runs.
        var hour = (DateTimeOffset.UtcNow.Hour + 12) % 24;
        var saved = await SaveAsync(pipeline, new
        {
            model = dataset,
            dataset,
            training = new { label = "species", task = "multiclass" },
            schedule = new { cron = $"0 {hour} * * *" },
        }).AssertJsonAsync(HttpStatusCode.Created);
        var firstTick = saved["nextTickAt"]!.GetValue<DateTimeOffset>();

        // Down across two ticks: the pipelines' clock comes back half a day after the second of them.
        await Platform.RestartAsync("training", () => Platform.PipelineClockOffset = firstTick.AddDays(1.5) - DateTimeOffset.UtcNow);
        var run = await WaitForRunAsync(pipeline, "registered");

        Assert.Equal(("schedule", 1), (run["trigger"]!["kind"]!.GetValue<string>(), run["trigger"]!["missedTicks"]!.GetValue<int>()));
        Assert.Equal(firstTick.AddDays(1), run["trigger"]!["tick"]!.GetValue<DateTimeOffset>());
        var next = await Platform.Training.GetFromJsonAsync<JsonObject>($"/pipelines/{pipeline}");
        Assert.Equal(firstTick.AddDays(2), next!["nextTickAt"]!.GetValue<DateTimeOffset>());
        // Both replicas came back and checked many times since: still the one run.
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Single((await Platform.Training.GetFromJsonAsync<JsonArray>($"/pipelines/{pipeline}/runs"))!);
    }

    [Fact]
    public async Task ABadDefinitionIsRefusedByFieldAndAGateNeedsTheDeployerRole()
    {
        var pipeline = PlatformSteps.UniqueName("bad");
        var refused = await SaveAsync(pipeline, new
        {
            model = "iris",
            dataset = "iris",
            training = new { label = "species", task = "multiclass", metric = "auc" },
            schedule = new { cron = "every day" },
            concurrency = "parallel",
        }).AssertJsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal(["concurrency", "schedule.cron", "training.metric"], refused["errors"]!.AsObject().Select(error => error.Key).Order());
        await Platform.Training.GetAsync($"/pipelines/{pipeline}").AssertStatusAsync(HttpStatusCode.NotFound);

        var scientist = Platform.Client("training", await Platform.CreateKeyAsync("pipeline-scientist", "scientist", "reader"));
        var gated = new { model = "iris", dataset = "iris", training = new { label = "species", task = "multiclass" }, gate = new { } };
        await scientist.PutAsJsonAsync($"/pipelines/{pipeline}", gated).AssertStatusAsync(HttpStatusCode.Forbidden);
        await scientist.PutAsJsonAsync($"/pipelines/{pipeline}", new { gated.model, gated.dataset, gated.training })
            .AssertStatusAsync(HttpStatusCode.Created);
    }

    /// <summary>A model of the test's own on iris three times over (enough rows to hold some out), its first version in production.</summary>
    private async Task<(string Model, int Version)> ProductionAsync(object trainer)
    {
        var model = PlatformSteps.UniqueName("gated");
        await Platform.UploadCsvAsync(model, IrisCsv(copies: 3)).AssertStatusAsync(HttpStatusCode.Created);
        var job = await Platform.TrainAsync(new Dictionary<string, object>
        {
            ["modelName"] = model,
            ["dataset"] = model,
            ["label"] = "species",
            ["task"] = "multiclass",
        }.Union(Fields(trainer)).ToDictionary());
        var version = job["modelVersion"]!.GetValue<int>();
        await Platform.PromoteAsync(model, new { version });
        return (model, version);
    }

    private Task<HttpResponseMessage> SaveAsync(string pipeline, object definition) =>
        Platform.Training.PutAsJsonAsync($"/pipelines/{pipeline}", definition);

    /// <summary>Waits for the pipeline's newest run to end as <paramref name="status"/>; fails with the run and the services' logs otherwise.</summary>
    private async Task<JsonObject> WaitForRunAsync(string pipeline, string status)
    {
        var run = await Platform.WaitUntilAsync(
            $"a run of pipeline {pipeline} to end {status}",
            async () => (await Platform.Training.GetFromJsonAsync<JsonArray>($"/pipelines/{pipeline}/runs"))!.FirstOrDefault()?.AsObject(),
            seen => seen?["status"]?.GetValue<string>() is { } now && now is not ("pending" or "waiting" or "training" or "gating"),
            RunTimeout,
            PipelineServices,
            seen => seen?.ToJsonString() ?? "(no run yet)");
        Assert.True(run!["status"]!.GetValue<string>() == status, $"Expected the run to end {status}: {run}\n{Platform.Describe(PipelineServices)}");
        return run;
    }

    private static IEnumerable<KeyValuePair<string, object>> Fields(object values) =>
        values.GetType().GetProperties().Select(property => new KeyValuePair<string, object>(property.Name, property.GetValue(values)!));

    private static string IrisCsv(int copies)
    {
        var lines = PlatformSteps.IrisCsv().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var csv = new StringBuilder(lines[0]).Append('\n');
        for (var copy = 0; copy < copies; copy++)
        {
            foreach (var line in lines.Skip(1))
            {
                csv.Append(line.TrimEnd('\r')).Append('\n');
            }
        }

        return csv.ToString();
    }
}

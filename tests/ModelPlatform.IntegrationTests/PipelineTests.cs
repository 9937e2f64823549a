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
    public async Task ANewDatasetVersionTriggersARunThatPassesItsGateAndReachesProductionThroughACanaryUnderThePipelinesName()
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
            // Half the traffic to the candidate until it has scored 40 records, the weak version shadowing it; then a short watch.
            rollout = new { canaryPercent = 50, current = "shadow", soakRows = 40, minAgreement = 0.1, maxErrorRateIncrease = 0.05 },
            alarms = new { maxErrorRate = 0.2, minRequests = 5, watchSeconds = 2 },
        }).AssertStatusAsync(HttpStatusCode.Created);

        using var clients = new CancellationTokenSource();
        var traffic = ServeAsync(model, clients.Token);
        await Platform.UploadCsvAsync(model, IrisCsv(copies: 3)).AssertStatusAsync(HttpStatusCode.Created);
        var run = await WaitForRunAsync(pipeline, "promoted");
        await clients.CancelAsync();
        await traffic;

        Assert.Equal(("data", 2), (run["trigger"]!["kind"]!.GetValue<string>(), run["trigger"]!["datasetVersion"]!.GetValue<int>()));
        var candidate = run["candidateVersion"]!.GetValue<int>();
        var production = await Platform.Registry.GetFromJsonAsync<JsonObject>($"/models/{model}/aliases/production");
        Assert.Equal((candidate, weak), (production!["version"]!.GetValue<int>(), run["baselineVersion"]!.GetValue<int>()));
        Assert.Null(production["canary"]);
        var gate = run["gate"]!;
        Assert.True(gate["passed"]!.GetValue<bool>());
        Assert.True(gate["gain"]!.GetValue<double>() >= 0.05, gate.ToJsonString());
        Assert.Equal(3, gate["checks"]!.AsArray().Count);
        var steps = run["steps"]!.AsArray();
        Assert.Equal(["triggered", "training", "trained", "canary", "promoted", "watched"], steps.Select(step => step!["step"]!.GetValue<string>()));
        // The canary held on live traffic: the weak version, as its shadow, agreed with some of its answers, and it failed no more often.
        var held = steps[4]!["detail"]!.GetValue<string>();
        Assert.Contains("live checks held: agreement", held);
        Assert.Contains("errorRateIncrease 0 ", held);
        var watch = run["rollout"]!;
        Assert.Equal(("watching", candidate, weak),
            (watch["phase"]!.GetValue<string>(), watch["candidate"]!.GetValue<int>(), watch["control"]!.GetValue<int>()));
        Assert.Equal(0, watch["latest"]!["candidate"]!["errors"]!.GetValue<long>());
        Assert.True(run["secondsToProduction"]!.GetValue<double>() > 0);

        // The training job is an ordinary one, under the pipeline's name; so are both alias moves in the registry's audit.
        var job = await Platform.Training.GetFromJsonAsync<JsonObject>($"/training-jobs/{run["jobId"]}");
        Assert.Equal("production", job!["report"]!["comparison"]!["alias"]!.GetValue<string>());
        var moves = (await Platform.Registry.GetFromJsonAsync<JsonObject>($"/models/{model}/aliases/production/history"))!["records"]!.AsArray();
        Assert.All(moves.Take(2), move => Assert.Equal($"pipeline {pipeline}", move!["actorName"]!.GetValue<string>()));
        Assert.Equal((weak, candidate, 50, weak), (moves[1]!["after"]!["version"]!.GetValue<int>(), moves[1]!["after"]!["canary"]!["version"]!.GetValue<int>(),
            moves[1]!["after"]!["canary"]!["percent"]!.GetValue<int>(), moves[1]!["after"]!["shadow"]!.GetValue<int>()));
        var audit = await Platform.Training.GetFromJsonAsync<JsonObject>($"/audit?resource=training-jobs/{run["jobId"]}");
        Assert.Equal($"pipeline {pipeline}", audit!["records"]![0]!["actorName"]!.GetValue<string>());
    }

    [Fact]
    public async Task ACanaryThatTripsItsErrorRateAlarmIsRolledBackAndTheRunSaysWhy()
    {
        var (model, weak) = await ProductionAsync(WeakTrainer);
        var pipeline = PlatformSteps.UniqueName("tripped");
        await SaveAsync(pipeline, new
        {
            model,
            dataset = model,
            training = new { label = "species", task = "multiclass", trainer = "LightGbm" },
            onNewData = new { debounceSeconds = 1 },
            gate = new { metric = "macroAccuracy" },
            rollout = new { canaryPercent = 50, current = "control", soakRows = 100_000 },
            alarms = new { maxErrorRate = 0.2, minRequests = 5 },
        }).AssertStatusAsync(HttpStatusCode.Created);

        // The new data has a column that tells the species apart, so the candidate beats production on the held-out rows; but
        // clients do not send it yet, so every request the canary answers is refused.
        using var clients = new CancellationTokenSource();
        var traffic = ServeAsync(model, clients.Token);
        await Platform.UploadCsvAsync(model, IrisCsv(copies: 3, withSignal: true)).AssertStatusAsync(HttpStatusCode.Created);
        var run = await WaitForRunAsync(pipeline, "rolled-back");
        await clients.CancelAsync();
        await traffic;

        var candidate = run["candidateVersion"]!.GetValue<int>();
        Assert.True(run["gate"]!["passed"]!.GetValue<bool>());
        Assert.StartsWith($"rolled back to v{weak}: alarm errorRate", run["reason"]!.GetValue<string>());
        Assert.Equal(["canary", "rolled back"], run["steps"]!.AsArray().TakeLast(2).Select(step => step!["step"]!.GetValue<string>()));
        var latest = run["rollout"]!["latest"]!;
        Assert.True(latest["candidate"]!["errorRate"]!.GetValue<double>() > 0.2, latest.ToJsonString());
        Assert.Equal(0, latest["control"]!["errors"]!.GetValue<long>());

        var production = await Platform.Registry.GetFromJsonAsync<JsonObject>($"/models/{model}/aliases/production");
        Assert.Equal(weak, production!["version"]!.GetValue<int>());
        Assert.Null(production["canary"]);
        var moves = (await Platform.Registry.GetFromJsonAsync<JsonObject>($"/models/{model}/aliases/production/history"))!["records"]!.AsArray();
        Assert.Equal($"pipeline {pipeline}", moves[0]!["actorName"]!.GetValue<string>());
        Assert.Equal(candidate, moves[0]!["before"]!["canary"]!["version"]!.GetValue<int>());
        await Platform.Registry.GetAsync($"/models/{model}/versions/{candidate}").AssertStatusAsync(HttpStatusCode.OK);
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
            seen => seen?["status"]?.GetValue<string>() is { } now && now is not ("pending" or "waiting" or "training" or "gating" or "canary" or "watching"),
            RunTimeout,
            PipelineServices,
            seen => seen?.ToJsonString() ?? "(no run yet)");
        Assert.True(run!["status"]!.GetValue<string>() == status, $"Expected the run to end {status}: {run}\n{Platform.Describe(PipelineServices)}");
        return run;
    }

    private static IEnumerable<KeyValuePair<string, object>> Fields(object values) =>
        values.GetType().GetProperties().Select(property => new KeyValuePair<string, object>(property.Name, property.GetValue(values)!));

    /// <summary>
    /// Sends the model's production alias iris records, five a request, until stopped, as a client would, whatever the answers.
    /// Paced, so the replicas' checks are not starved of the machine's two cores.
    /// </summary>
    private async Task ServeAsync(string model, CancellationToken stop)
    {
        var rows = PlatformSteps.IrisRows();
        try
        {
            for (var first = 0; !stop.IsCancellationRequested; first += 5)
            {
                var records = Enumerable.Range(first, 5).Select(row => rows[row % rows.Count].Record).ToArray();
                using var answer = await Platform.Inference.PostAsJsonAsync($"/models/{model}/predict", new { records }, stop);
                await Task.Delay(TimeSpan.FromMilliseconds(50), stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>Iris, <paramref name="copies"/> times over; <paramref name="withSignal"/> adds a column that gives the species away.</summary>
    private static string IrisCsv(int copies, bool withSignal = false)
    {
        var lines = PlatformSteps.IrisCsv().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var csv = new StringBuilder(lines[0].TrimEnd('\r')).Append(withSignal ? ",signal\n" : "\n");
        var species = new List<string>();
        for (var copy = 0; copy < copies; copy++)
        {
            foreach (var line in lines.Skip(1).Select(line => line.TrimEnd('\r')))
            {
                var name = line[(line.LastIndexOf(',') + 1)..];
                if (!species.Contains(name))
                {
                    species.Add(name);
                }

                csv.Append(line).Append(withSignal ? $",{species.IndexOf(name)}\n" : "\n");
            }
        }

        return csv.ToString();
    }
}

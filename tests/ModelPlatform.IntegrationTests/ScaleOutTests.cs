using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace ModelPlatform.IntegrationTests;

/// <summary>
/// The whole path on PostgreSQL with two replicas of every stateful service, each replica with its own private files:
/// whatever one replica stores, the other reads; jobs are raced for and survive a killed worker; an alias moved through
/// one replica reaches every inference replica.
/// </summary>
[Collection(ScaleOutCollection.Name)]
public class ScaleOutTests(ScaleOutFixture platform) : IAsyncLifetime
{
    public Task InitializeAsync() => platform.EnsureEverythingRunsAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task EveryScaledServiceRunsTwoReplicasOnPostgreSql()
    {
        foreach (var service in ScaleOutFixture.ScaledServices)
        {
            var replicas = platform.ReplicaClients(service);
            Assert.Equal(2, replicas.Count);
            foreach (var (replica, client) in replicas)
            {
                // Each replica answers at its own address, and its database check is PostgreSQL's.
                using var health = await client.GetAsync("/health");
                Assert.True(health.StatusCode == HttpStatusCode.OK, $"{replica}: {await health.Content.ReadAsStringAsync()}");
            }
        }

        Assert.Contains(platform.LatestStates().Values, update => update.Resource.Name == "postgres");
    }

    [Fact]
    public async Task ADatasetUploadedThroughOneFeatureReplicaIsReadThroughTheOther()
    {
        var (first, second) = Pair("feature");
        var dataset = PlatformSteps.UniqueName("scaled");

        using var upload = await first.PostAsync($"/datasets/{dataset}/versions", new StringContent(PlatformSteps.IrisCsv(), Encoding.UTF8, "text/csv"));
        await upload.AssertStatusAsync(HttpStatusCode.Created);
        var rows = await second.GetAsync($"/datasets/{dataset}/versions/1/rows?offset=0&limit=200").AssertJsonAsync();
        var version = await second.GetAsync($"/datasets/{dataset}/versions/1").AssertJsonAsync();

        Assert.Equal(150, rows["rows"]!.AsArray().Count);
        Assert.Equal(150, version["rows"]!.GetValue<int>());
        Assert.Equal((await upload.Content.ReadFromJsonAsync<JsonObject>())!["sha256"]!.GetValue<string>(), version["sha256"]!.GetValue<string>());
    }

    [Fact]
    public async Task TwoWorkersRaceForJobsAndNoneIsLostOrTrainedTwiceEvenWhenOneIsKilledMidJob()
    {
        var dataset = await platform.UploadIrisAsync("race");
        var slow = new { label = "species", task = "multiclass", trainer = "auto", budgetSeconds = 8 };
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            var model = $"{dataset}-{i}";
            ids.Add((await platform.SubmitJobAsync(new { modelName = model, dataset, slow.label, slow.task, slow.trainer, slow.budgetSeconds }))["id"]!
                .GetValue<string>());
        }

        // Kill whichever worker runs the first job, mid-job, without a chance to hand anything back.
        var running = await platform.WaitUntilAsync($"job {ids[0]} to run", () => platform.Training.GetFromJsonAsync<JsonObject>($"/training-jobs/{ids[0]}"),
            job => job!["status"]!.GetValue<string>() == "running", PlatformFixture.RecoveryTimeout, ["training"], job => job!.ToJsonString());
        var killed = running!["attempts"]![0]!["worker"]!.GetValue<string>();
        using (var kill = Process.Start("kill", $"-KILL {killed.Split(':')[1]}"))
        {
            await kill.WaitForExitAsync();
            Assert.Equal(0, kill.ExitCode);
        }

        var jobs = new List<JsonObject>();
        foreach (var id in ids)
        {
            jobs.Add(await platform.WaitForJobAsync(id));
        }

        // Every job succeeded once: one registered version per job, and the killed job's attempt moved to the other worker.
        Assert.All(jobs, job => platform.AssertJobStatus(job, "succeeded"));
        for (var i = 0; i < ids.Count; i++)
        {
            var model = await platform.Registry.GetAsync($"/models/{dataset}-{i}").AssertJsonAsync();
            Assert.True(model["versions"]!.AsArray().Count == 1, $"Expected one version of job {ids[i]}'s model: {model}");
        }

        var firstAttempts = jobs[0]["attempts"]!.AsArray();
        Assert.True(firstAttempts.Count >= 2, $"Expected the killed job to be taken again: {jobs[0]}");
        Assert.NotEqual(killed, firstAttempts[^1]!["worker"]!.GetValue<string>());
        Assert.Equal(2, jobs.SelectMany(job => job["attempts"]!.AsArray().Select(attempt => attempt!["worker"]!.GetValue<string>())).Distinct().Count());
    }

    [Fact]
    public async Task AModelRegisteredThroughOneRegistryReplicaDownloadsThroughTheOtherWithItsChecksum()
    {
        var (first, second) = Pair("registry");
        var dataset = await platform.UploadIrisAsync("artifact");
        var trained = await platform.TrainIrisAsync(dataset);
        var artifact = await platform.Registry.GetByteArrayAsync($"/models/{dataset}/versions/{trained}/artifact");
        var trainedVersion = await platform.Registry.GetAsync($"/models/{dataset}/versions/{trained}").AssertJsonAsync();

        // Registered again by hand, under a new name, through the first replica.
        var copy = PlatformSteps.UniqueName("copy");
        using var form = new MultipartFormDataContent
        {
            { new StringContent(new JsonObject
            {
                ["signature"] = trainedVersion["signature"]!.DeepClone(),
                ["metrics"] = new JsonObject(),
                ["lineage"] = new JsonObject { ["dataset"] = dataset, ["datasetVersion"] = 1 },
            }.ToJsonString(), Encoding.UTF8, "application/json"), "metadata" },
            { new ByteArrayContent(artifact), "artifact", "model.zip" },
        };
        var registered = await first.PostAsync($"/models/{copy}/versions", form).AssertJsonAsync(HttpStatusCode.Created);
        using var download = await second.GetAsync($"/models/{copy}/versions/1/artifact");
        await download.AssertStatusAsync(HttpStatusCode.OK);
        var bytes = await download.Content.ReadAsByteArrayAsync();

        var sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes));
        Assert.Equal(artifact, bytes);
        Assert.Equal(registered["sha256"]!.GetValue<string>(), sha256);
        Assert.Equal(sha256, download.Headers.GetValues("X-Checksum-Sha256").Single());
    }

    [Fact]
    public async Task AnAliasMovedThroughOneRegistryReplicaIsServedByEveryInferenceReplica()
    {
        var (firstRegistry, secondRegistry) = Pair("registry");
        var dataset = await platform.UploadIrisAsync("served");
        var one = await platform.TrainIrisAsync(dataset);
        var two = await platform.TrainIrisAsync(dataset);

        foreach (var (registry, version) in new[] { (firstRegistry, one), (secondRegistry, two), (firstRegistry, one) })
        {
            using var moved = await registry.PutAsJsonAsync($"/models/{dataset}/aliases/production", new { version });
            await moved.AssertStatusAsync(HttpStatusCode.OK);
            foreach (var (replica, inference) in platform.ReplicaClients("inference"))
            {
                await platform.WaitUntilAsync($"{replica} to serve {dataset} v{version}", () => ServedVersionAsync(inference, dataset),
                    served => served == version, PlatformSteps.EventTimeout, ["inference", "registry"], served => $"v{served}");
            }
        }
    }

    private (HttpClient First, HttpClient Second) Pair(string service)
    {
        var replicas = platform.ReplicaClients(service);
        Assert.True(replicas.Count == 2, $"Expected two replicas of {service}: {platform.Describe(service)}");
        return (replicas[0].Client, replicas[1].Client);
    }

    private static async Task<int> ServedVersionAsync(HttpClient inference, string model)
    {
        var record = PlatformSteps.IrisRows()[0].Record;
        using var response = await inference.PostAsJsonAsync($"/models/{model}/predict", new { records = new[] { record } });
        return response.IsSuccessStatusCode ? (await response.Content.ReadFromJsonAsync<JsonObject>())!["version"]!.GetValue<int>() : 0;
    }
}

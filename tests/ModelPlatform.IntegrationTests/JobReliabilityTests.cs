using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Aspire.Hosting.ApplicationModel;
using RabbitMQ.Client;

namespace ModelPlatform.IntegrationTests;

/// <summary>A job accepted is a job finished: broker outages, failing dependencies, stopped and killed workers.</summary>
[Collection(PlatformCollection.Name)]
public class JobReliabilityTests(PlatformFixture platform) : IAsyncLifetime
{
    private static readonly TimeSpan StateTimeout = PlatformFixture.RecoveryTimeout;

    // An earlier test may have stopped a server or service; each test starts from a running platform.
    public Task InitializeAsync() => platform.EnsureEverythingRunsAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task JobsSpreadOverBothTrainingReplicas()
    {
        var dataset = await UploadIrisAsync("spread");

        var submitted = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            submitted.Add((await platform.SubmitJobAsync(new { modelName = dataset, dataset, label = "species", task = "multiclass" }))["id"]!.GetValue<string>());
        }

        var workers = new HashSet<string>();
        foreach (var id in submitted)
        {
            var job = await platform.WaitForJobAsync(id);
            Assert.Equal("succeeded", job["status"]!.GetValue<string>());
            workers.Add(job["attempts"]![0]!["worker"]!.GetValue<string>());
        }

        Assert.Equal(2, workers.Count);
    }

    [Fact]
    public async Task AJobSubmittedWhileRabbitMQIsStoppedRunsAfterItRestarts()
    {
        var dataset = await UploadIrisAsync("outage");
        var id = await platform.WhileStoppedAsync("rabbitmq", async () =>
        {
            var submitted = await platform.SubmitJobAsync(new { modelName = dataset, dataset, label = "species", task = "multiclass" });
            await Task.Delay(TimeSpan.FromSeconds(3));
            Assert.Equal("queued", (await GetJobAsync(submitted["id"]!.GetValue<string>()))["status"]!.GetValue<string>());
            return submitted["id"]!.GetValue<string>();
        });

        var job = await platform.WaitForJobAsync(id);

        Assert.Equal("succeeded", job["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task RetriesEndInTheDeadLetterQueueWithTheReason()
    {
        var dataset = await UploadIrisAsync("doomed");
        var job = await platform.WhileStoppedAsync("registry", async () =>
        {
            var submitted = await platform.SubmitJobAsync(new { modelName = dataset, dataset, label = "species", task = "multiclass", maxAttempts = 2 });
            return await platform.WaitForJobAsync(submitted["id"]!.GetValue<string>());
        });

        var id = job["id"]!.GetValue<string>();
        Assert.Equal("failed", job["status"]!.GetValue<string>());
        Assert.StartsWith("failed after 2 attempts", job["error"]!.GetValue<string>());
        var attempts = job["attempts"]!.AsArray();
        Assert.Equal(2, attempts.Count);
        Assert.All(attempts, attempt => Assert.False(string.IsNullOrEmpty(attempt!["error"]?.GetValue<string>())));
        Assert.Equal(["queued", "running", "queued", "running", "failed"], job["history"]!.AsArray().Select(change => change!["status"]!.GetValue<string>()));

        var deadLetter = await FindDeadLetterAsync(id);
        Assert.NotNull(deadLetter);
        Assert.False(string.IsNullOrWhiteSpace(deadLetter));
        using var lookup = await platform.Registry.GetAsync($"/models/{dataset}");
        Assert.Equal(HttpStatusCode.NotFound, lookup.StatusCode);
    }

    [Fact]
    public async Task CancelStopsARunningJobWithinSeconds()
    {
        var dataset = await UploadIrisAsync("cancel");
        var submitted = await platform.SubmitJobAsync(new { modelName = dataset, dataset, label = "species", task = "multiclass", trainer = "auto", budgetSeconds = 120 });
        var id = submitted["id"]!.GetValue<string>();
        var running = await WaitForJobStatusAsync(id, "running");
        Assert.NotNull(running["progress"]);

        var clock = Stopwatch.StartNew();
        using var cancel = await platform.Training.PostAsync($"/training-jobs/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        var cancelled = await WaitForJobStatusAsync(id, "cancelled");

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"cancel took {clock.Elapsed}");
        Assert.Null(cancelled["modelVersion"]);
        using var again = await platform.Training.PostAsync($"/training-jobs/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    [Fact]
    public async Task CancellingAQueuedJobMeansItNeverRuns()
    {
        var dataset = await UploadIrisAsync("queued");
        // With the broker stopped, the job stays queued.
        var id = await platform.WhileStoppedAsync("rabbitmq", async () =>
        {
            var submitted = await platform.SubmitJobAsync(new { modelName = dataset, dataset, label = "species", task = "multiclass" });
            using var cancel = await platform.Training.PostAsync($"/training-jobs/{submitted["id"]}/cancel", null);
            Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
            Assert.Equal("cancelled", (await cancel.Content.ReadFromJsonAsync<JsonObject>())!["status"]!.GetValue<string>());
            return submitted["id"]!.GetValue<string>();
        });

        await Task.Delay(TimeSpan.FromSeconds(3));
        var job = await GetJobAsync(id);
        Assert.Equal("cancelled", job["status"]!.GetValue<string>());
        Assert.Empty(job["attempts"]!.AsArray());
    }

    [Theory]
    [InlineData("TERM")]
    [InlineData("KILL")]
    public async Task AWorkerStoppedMidTrainingLosesNoJobAndNoJobRegistersTwice(string signal)
    {
        var dataset = await UploadIrisAsync("stopped");
        var submitted = await platform.SubmitJobAsync(new { modelName = dataset, dataset, label = "species", task = "multiclass", trainer = "auto", budgetSeconds = 8 });
        var id = submitted["id"]!.GetValue<string>();
        var running = await WaitForJobStatusAsync(id, "running");
        var worker = running["attempts"]![0]!["worker"]!.GetValue<string>();

        Signal(int.Parse(worker.Split(':')[1]), signal);
        // Bring the stopped replica back (as an orchestrator would); the job must not wait for it.
        var stopped = await platform.App.ResourceNotifications.WaitForResourceAsync("training", update =>
            update.Snapshot.State?.Text is "Exited" or "Finished").WaitAsync(StateTimeout);
        await platform.App.ResourceCommands.ExecuteCommandAsync(stopped.ResourceId, KnownResourceCommands.StartCommand);
        var job = await platform.WaitForJobAsync(id);

        Assert.Equal("succeeded", job["status"]!.GetValue<string>());
        var attempts = job["attempts"]!.AsArray();
        Assert.True(attempts.Count >= 2, $"attempts: {attempts}");
        Assert.Equal(worker, attempts[0]!["worker"]!.GetValue<string>());
        Assert.NotEqual(worker, attempts[^1]!["worker"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(attempts[0]!["error"]?.GetValue<string>()));
        var model = (await platform.Registry.GetFromJsonAsync<JsonObject>($"/models/{dataset}"))!;
        Assert.Single(model["versions"]!.AsArray());
    }

    private async Task<string> UploadIrisAsync(string prefix)
    {
        var dataset = PlatformSteps.UniqueName(prefix);
        (await platform.UploadCsvAsync(dataset, PlatformSteps.IrisCsv())).EnsureSuccessStatusCode();
        return dataset;
    }

    private async Task<JsonObject> GetJobAsync(string id) => (await platform.Training.GetFromJsonAsync<JsonObject>($"/training-jobs/{id}"))!;

    private async Task<JsonObject> WaitForJobStatusAsync(string id, string status)
    {
        var deadline = DateTime.UtcNow + StateTimeout;
        while (true)
        {
            var job = await GetJobAsync(id);
            if (job["status"]!.GetValue<string>() == status || DateTime.UtcNow > deadline)
            {
                Assert.Equal(status, job["status"]!.GetValue<string>());
                return job;
            }

            await Task.Delay(200);
        }
    }

    private static void Signal(int pid, string signal)
    {
        using var kill = Process.Start("kill", $"-{signal} {pid}");
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>The error header of the dead-lettered message for <paramref name="jobId"/>, or null if there is none.</summary>
    private async Task<string?> FindDeadLetterAsync(string jobId)
    {
        await using var connection = await new ConnectionFactory { Uri = new(await platform.ConnectionStringAsync("rabbitmq")) }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        string? found = null;
        // Read without acking: the messages stay in the queue for whoever inspects it next.
        while (await channel.BasicGetAsync("training.dead-letter", autoAck: false) is { } message)
        {
            if (Encoding.UTF8.GetString(message.Body.Span).Contains(jobId, StringComparison.OrdinalIgnoreCase))
            {
                found = Encoding.UTF8.GetString((byte[])message.BasicProperties.Headers!["x-error"]!);
            }
        }

        return found;
    }
}

using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Aspire.Hosting.ApplicationModel;
using RabbitMQ.Client;

namespace ModelPlatform.IntegrationTests;

/// <summary>A job accepted is a job finished: broker outages, failing dependencies, stopped and killed workers.</summary>
public class JobReliabilityTests(PlatformFixture platform) : PlatformTest(platform)
{
    private static readonly TimeSpan StateTimeout = PlatformFixture.RecoveryTimeout;

    /// <summary>What the training service's outbox relay logs when the broker refuses a job (OutboxRelay.LogPublishFailed).</summary>
    private const string PublishFailed = "Publishing the outbox failed";

    [Fact]
    public async Task JobsSpreadOverBothTrainingReplicas()
    {
        var dataset = await Platform.UploadIrisAsync("spread");

        var submitted = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            submitted.Add((await Platform.SubmitJobAsync(IrisJob(dataset)))["id"]!.GetValue<string>());
        }

        var jobs = new List<JsonObject>();
        foreach (var id in submitted)
        {
            var job = await Platform.WaitForJobAsync(id);
            Platform.AssertJobStatus(job, "succeeded");
            jobs.Add(job);
        }

        var workers = jobs.Select(job => job["attempts"]![0]!["worker"]!.GetValue<string>()).ToList();
        Assert.True(workers.Distinct().Count() == 2, $"Expected both replicas to train, got workers {string.Join(", ", workers)}\n"
            + Platform.Describe("training"));
    }

    [Fact]
    public async Task AJobSubmittedWhileRabbitMQIsStoppedRunsAfterItRestarts()
    {
        var dataset = await Platform.UploadIrisAsync("outage");
        var id = await Platform.WhileStoppedAsync("rabbitmq", async () =>
        {
            var failedBefore = Platform.CountLogLines("training", PublishFailed);
            var submitted = await Platform.SubmitJobAsync(IrisJob(dataset));

            // The relay tries to publish the stored job, the broker is not there, and the job stays queued for later.
            await Platform.WaitUntilAsync("a training replica to log a failed publish", () =>
                Task.FromResult(Platform.CountLogLines("training", PublishFailed)), failed => failed > failedBefore,
                PlatformSteps.EventTimeout, ["training"], failed => $"{failed} failed publishes, {failedBefore} before the job");
            var id = submitted["id"]!.GetValue<string>();
            Platform.AssertJobStatus(await GetJobAsync(id), "queued");
            return id;
        });

        var job = await Platform.WaitForJobAsync(id);

        Platform.AssertJobStatus(job, "succeeded");
    }

    [Fact]
    public async Task RetriesEndInTheDeadLetterQueueWithTheReason()
    {
        var dataset = await Platform.UploadIrisAsync("doomed");
        var job = await Platform.WhileStoppedAsync("registry", async () =>
        {
            var submitted = await Platform.SubmitJobAsync(new { modelName = dataset, dataset, label = "species", task = "multiclass", maxAttempts = 2 });
            return await Platform.WaitForJobAsync(submitted["id"]!.GetValue<string>());
        });

        var id = job["id"]!.GetValue<string>();
        Platform.AssertJobStatus(job, "failed");
        Assert.StartsWith("failed after 2 attempts", job["error"]!.GetValue<string>());
        var attempts = job["attempts"]!.AsArray();
        Assert.Equal(2, attempts.Count);
        Assert.All(attempts, attempt => Assert.False(string.IsNullOrEmpty(attempt!["error"]?.GetValue<string>()), $"attempts {attempts}"));
        Assert.Equal(["queued", "running", "queued", "running", "failed"],
            job["history"]!.AsArray().Select(change => change!["status"]!.GetValue<string>()));

        // The job is marked failed before its message is moved, so the dead letter may arrive a moment later.
        var deadLetter = await Platform.WaitUntilAsync($"job {id} in the dead-letter queue with its error",
            () => FindDeadLetterAsync(id), error => error is not null, PlatformSteps.EventTimeout, ["training"], error => error ?? "(none)");
        Assert.False(string.IsNullOrWhiteSpace(deadLetter));
        await Platform.Registry.GetAsync($"/models/{dataset}").AssertStatusAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task CancelStopsARunningJobWithinSeconds()
    {
        var dataset = await Platform.UploadIrisAsync("cancel");
        var submitted = await Platform.SubmitJobAsync(
            new { modelName = dataset, dataset, label = "species", task = "multiclass", trainer = "auto", budgetSeconds = 120 });
        var id = submitted["id"]!.GetValue<string>();
        var running = await WaitForJobStatusAsync(id, "running");
        Assert.NotNull(running["progress"]);

        var clock = Stopwatch.StartNew();
        await Platform.Training.PostAsync($"/training-jobs/{id}/cancel", null).AssertStatusAsync(HttpStatusCode.Accepted);
        var cancelled = await WaitForJobStatusAsync(id, "cancelled");

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"cancel took {clock.Elapsed}: {cancelled}");
        Assert.Null(cancelled["modelVersion"]);
        await Platform.Training.PostAsync($"/training-jobs/{id}/cancel", null).AssertStatusAsync(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task CancellingAQueuedJobMeansItNeverRuns()
    {
        var dataset = await Platform.UploadIrisAsync("queued");
        // With the broker stopped, the job stays queued. A second job, submitted after it, marks the point by which the
        // first one would have run, had the cancel not held.
        var (cancelledId, laterId) = await Platform.WhileStoppedAsync("rabbitmq", async () =>
        {
            var submitted = await Platform.SubmitJobAsync(IrisJob(dataset));
            var cancel = await Platform.Training.PostAsync($"/training-jobs/{submitted["id"]}/cancel", null)
                .AssertJsonAsync(HttpStatusCode.Accepted);
            Assert.Equal("cancelled", cancel["status"]!.GetValue<string>());
            var later = await Platform.SubmitJobAsync(IrisJob(dataset));
            return (submitted["id"]!.GetValue<string>(), later["id"]!.GetValue<string>());
        });

        Platform.AssertJobStatus(await Platform.WaitForJobAsync(laterId), "succeeded");
        var job = await GetJobAsync(cancelledId);

        Platform.AssertJobStatus(job, "cancelled");
        Assert.True(job["attempts"]!.AsArray().Count == 0, $"Expected a cancelled job never to run, got: {job}");
    }

    [Theory]
    [InlineData("TERM")]
    [InlineData("KILL")]
    public async Task AWorkerStoppedMidTrainingLosesNoJobAndNoJobRegistersTwice(string signal)
    {
        var dataset = await Platform.UploadIrisAsync("stopped");
        var submitted = await Platform.SubmitJobAsync(
            new { modelName = dataset, dataset, label = "species", task = "multiclass", trainer = "auto", budgetSeconds = 8 });
        var id = submitted["id"]!.GetValue<string>();
        var running = await WaitForJobStatusAsync(id, "running");
        var worker = running["attempts"]![0]!["worker"]!.GetValue<string>();

        Signal(int.Parse(worker.Split(':')[1]), signal);
        // Bring the stopped replica back (as an orchestrator would); the job must not wait for it.
        var stopped = await Platform.WaitUntilAsync($"the training replica {worker} to exit after SIG{signal}",
            () => Task.FromResult(Platform.LatestStates().Values.FirstOrDefault(update =>
                update.Resource.Name == "training" && update.Snapshot.State?.Text is "Exited" or "Finished")),
            update => update is not null, StateTimeout, ["training"], update => update?.ResourceId ?? "(every replica still runs)");
        await Platform.App.ResourceCommands.ExecuteCommandAsync(stopped!.ResourceId, KnownResourceCommands.StartCommand);
        var job = await Platform.WaitForJobAsync(id);

        Platform.AssertJobStatus(job, "succeeded");
        var attempts = job["attempts"]!.AsArray();
        Assert.True(attempts.Count >= 2, $"Expected the job to be taken again after SIG{signal}: {job}");
        Assert.Equal(worker, attempts[0]!["worker"]!.GetValue<string>());
        Assert.NotEqual(worker, attempts[^1]!["worker"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(attempts[0]!["error"]?.GetValue<string>()), $"attempts {attempts}");
        var model = await Platform.Registry.GetAsync($"/models/{dataset}").AssertJsonAsync();
        Assert.True(model["versions"]!.AsArray().Count == 1, $"Expected one registered version: {model}");
    }

    private static object IrisJob(string dataset) => new { modelName = dataset, dataset, label = "species", task = "multiclass" };

    private Task<JsonObject> GetJobAsync(string id) => Platform.Training.GetAsync($"/training-jobs/{id}").AssertJsonAsync();

    private Task<JsonObject> WaitForJobStatusAsync(string id, string status) =>
        Platform.WaitUntilAsync($"job {id} to be {status}", () => GetJobAsync(id),
            job => job["status"]!.GetValue<string>() == status, StateTimeout, ["training"], job => job.ToJsonString());

    private static void Signal(int pid, string signal)
    {
        using var kill = Process.Start("kill", $"-{signal} {pid}");
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>The error header of the dead-lettered message for <paramref name="jobId"/>, or null if there is none.</summary>
    private async Task<string?> FindDeadLetterAsync(string jobId)
    {
        var factory = new ConnectionFactory { Uri = new(await Platform.ConnectionStringAsync("rabbitmq")) };
        await using var connection = await factory.CreateConnectionAsync();
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

using System.Text.Json.Nodes;

namespace ModelPlatform.IntegrationTests;

/// <summary>Interactive jobs have workers of their own: background jobs, however long, never hold one up.</summary>
public class JobPriorityTests(PlatformFixture platform) : PlatformTest(platform)
{
    [Fact]
    public async Task AnInteractiveJobRunsWhileBackgroundJobsOccupyEveryWorker()
    {
        // Arrange: a long search in the background lane of each training replica (a lane takes one job at a time).
        var dataset = await Platform.UploadIrisAsync("lanes");
        var background = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            var submitted = await Platform.SubmitJobAsync(
                new { modelName = dataset, dataset, label = "species", task = "multiclass", trainer = "auto", budgetSeconds = 600, priority = "background" });
            Assert.Equal("background", submitted["priority"]!.GetValue<string>());
            background.Add(submitted["id"]!.GetValue<string>());
        }

        List<JsonObject> stopped;
        try
        {
            var running = new List<JsonObject>();
            foreach (var id in background)
            {
                running.Add(await WaitForJobStatusAsync(id, "running"));
            }

            var workers = running.Select(job => job["attempts"]![0]!["worker"]!.GetValue<string>()).Distinct();
            Assert.True(workers.Count() == 2, $"Expected a background job on each replica: {string.Join(", ", running)}");

            // Act
            var interactive = await Platform.TrainAsync(new { modelName = dataset, dataset, label = "species", task = "multiclass" });

            // Assert
            Assert.Equal("interactive", interactive["priority"]!.GetValue<string>());
            foreach (var id in background)
            {
                Platform.AssertJobStatus(await GetJobAsync(id), "running");
            }
        }
        finally
        {
            // Whatever happened, no background job is left running into the tests after this one.
            stopped = await CancelAsync(background);
        }

        Assert.All(stopped, job => Platform.AssertJobStatus(job, "cancelled"));
    }

    private Task<JsonObject> GetJobAsync(string id) => Platform.Training.GetAsync($"/training-jobs/{id}").AssertJsonAsync();

    private Task<JsonObject> WaitForJobStatusAsync(string id, string status) =>
        Platform.WaitUntilAsync($"job {id} to be {status}", () => GetJobAsync(id),
            job => job["status"]!.GetValue<string>() == status, PlatformFixture.RecoveryTimeout, ["training"], job => job.ToJsonString());

    /// <summary>Cancels each job and waits until it has ended; returns the jobs as they ended.</summary>
    private async Task<List<JsonObject>> CancelAsync(IEnumerable<string> ids)
    {
        var ended = new List<JsonObject>();
        foreach (var id in ids)
        {
            using var cancel = await Platform.Training.PostAsync($"/training-jobs/{id}/cancel", null);
            ended.Add(await Platform.WaitUntilAsync($"job {id} to end after its cancel", () => GetJobAsync(id),
                job => job["status"]!.GetValue<string>() is not ("queued" or "running"), PlatformFixture.RecoveryTimeout, ["training"],
                job => job.ToJsonString()));
        }

        return ended;
    }
}

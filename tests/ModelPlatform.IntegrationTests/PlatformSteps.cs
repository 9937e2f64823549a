using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace ModelPlatform.IntegrationTests;

/// <summary>The steps a user takes with curl, as calls the tests can reuse.</summary>
internal static class PlatformSteps
{
    public static readonly TimeSpan JobTimeout = TimeSpan.FromMinutes(3);

    public static string UniqueName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];

    public static Task<HttpResponseMessage> UploadCsvAsync(this PlatformFixture platform, string dataset, string csv) =>
        platform.Feature.PostAsync($"/datasets/{dataset}/versions", new StringContent(csv, Encoding.UTF8, "text/csv"));

    public static async Task<JsonObject> SubmitJobAsync(this PlatformFixture platform, object job, string? traceParent = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/training-jobs") { Content = JsonContent.Create(job) };
        if (traceParent is not null)
        {
            request.Headers.Add("traceparent", traceParent);
        }

        using var response = await platform.Training.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    /// <summary>Polls the job until it has finished, and fails with its last state if it takes too long.</summary>
    public static async Task<JsonObject> WaitForJobAsync(this PlatformFixture platform, string jobId)
    {
        using var timeout = new CancellationTokenSource(JobTimeout);
        JsonObject? job = null;
        do
        {
            await Task.Delay(TimeSpan.FromMilliseconds(250), CancellationToken.None);
            // Polls like a patient client: a request that lands on a replica being stopped is simply tried again.
            using var attempt = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                job = await platform.Training.GetFromJsonAsync<JsonObject>($"/training-jobs/{jobId}", attempt.Token);
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException && !timeout.IsCancellationRequested)
            {
                continue;
            }
        }
        while ((job is null || job["status"]!.GetValue<string>() is "queued" or "running") && !timeout.IsCancellationRequested);

        Assert.NotNull(job);

        Assert.True(job["status"]!.GetValue<string>() is "succeeded" or "failed", $"Job still unfinished after {JobTimeout}: {job}");
        return job;
    }

    public static async Task<JsonObject> TrainAsync(this PlatformFixture platform, object job)
    {
        var submitted = await platform.SubmitJobAsync(job);
        var finished = await platform.WaitForJobAsync(submitted["id"]!.GetValue<string>());
        Assert.True(finished["status"]!.GetValue<string>() == "succeeded", $"Training failed: {finished}");
        return finished;
    }

    public static async Task<HttpResponseMessage> SetAliasAsync(this PlatformFixture platform, string model, string alias, int version, string? traceParent = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, $"/models/{model}/aliases/{alias}") { Content = JsonContent.Create(new { version }) };
        if (traceParent is not null)
        {
            request.Headers.Add("traceparent", traceParent);
        }

        return await platform.Registry.SendAsync(request);
    }

    public static Task<HttpResponseMessage> PredictAsync(this PlatformFixture platform, string model, IEnumerable<object> records, string query = "") =>
        platform.Inference.PostAsJsonAsync($"/models/{model}/predict{query}", new { records });

    public static string IrisCsv() => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "iris.csv"));

    /// <summary>The iris rows as records (without the label) and their species.</summary>
    public static List<(Dictionary<string, object> Record, string Species)> IrisRows() =>
        IrisCsv().Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(line => line.Split(','))
            .Select(cells => (new Dictionary<string, object>
            {
                ["sepal_length"] = double.Parse(cells[0], System.Globalization.CultureInfo.InvariantCulture),
                ["sepal_width"] = double.Parse(cells[1], System.Globalization.CultureInfo.InvariantCulture),
                ["petal_length"] = double.Parse(cells[2], System.Globalization.CultureInfo.InvariantCulture),
                ["petal_width"] = double.Parse(cells[3], System.Globalization.CultureInfo.InvariantCulture),
            }, cells[4]))
            .ToList();

    /// <summary>
    /// A deterministic spam/ham table: a free-text message, a categorical sender kind and a numeric link count.
    /// Spam mentions prizes and money and carries links.
    /// </summary>
    public static string MessagesCsv(int rows)
    {
        var random = new Random(5);
        string[] spam = ["you won a free prize claim your cash now", "urgent winner call now to claim money", "free entry win cash prize today"];
        string[] ham = ["are we still meeting for lunch today", "please review the report before friday", "see you at the station tonight"];
        var csv = new StringBuilder("message,sender,links,kind\n");
        for (var i = 0; i < rows; i++)
        {
            var isSpam = random.NextDouble() < 0.4;
            var text = isSpam ? spam[random.Next(spam.Length)] : ham[random.Next(ham.Length)];
            var sender = isSpam ? (random.NextDouble() < 0.8 ? "unknown" : "contact") : (random.NextDouble() < 0.9 ? "contact" : "unknown");
            var links = isSpam ? random.Next(1, 4) : random.Next(0, 2);
            csv.Append($"\"{text}\",{sender},{links},{(isSpam ? "spam" : "ham")}\n");
        }

        return csv.ToString();
    }

}

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelPlatform.Contracts;

namespace ModelPlatform.IntegrationTests;

/// <summary>The steps a user takes with curl, as calls the tests can reuse, and the waits between them.</summary>
internal static class PlatformSteps
{
    public static readonly TimeSpan JobTimeout = TimeSpan.FromMinutes(3);

    /// <summary>How long the platform gets to show a change that an event carries (an alias moved, a message delivered).</summary>
    public static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The pause between two looks at a condition: short, so a wait ends soon after the condition holds.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>The services a training job talks to, whose logs explain a job that did not finish as expected.</summary>
    private static readonly string[] JobServices = ["training", "registry", "feature"];

    public static string UniqueName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];

    /// <summary>
    /// Looks at <paramref name="probe"/> every <see cref="PollInterval"/> until <paramref name="done"/> holds and returns
    /// what it saw. After <paramref name="timeout"/> it fails, saying what was expected, what was seen last (by
    /// <paramref name="show"/>, else its text) and the platform's state, with the logs of <paramref name="logsOf"/>.
    /// </summary>
    public static async Task<T> WaitUntilAsync<T>(
        this PlatformFixture platform,
        string expected,
        Func<Task<T>> probe,
        Func<T, bool> done,
        TimeSpan timeout,
        string[]? logsOf = null,
        Func<T, string>? show = null)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var seen = await probe();
            if (done(seen))
            {
                return seen;
            }

            if (clock.Elapsed > timeout)
            {
                Assert.Fail($"Expected {expected} within {timeout.TotalSeconds:0} s. Last seen: {(show is null ? seen?.ToString() : show(seen))}\n"
                    + platform.Describe(logsOf ?? []));
            }

            await Task.Delay(PollInterval);
        }
    }

    /// <summary>Every role a person's key can hold.</summary>
    public static readonly string[] UserRoles = ["reader", "predictor", "scientist", "deployer", "admin"];

    /// <summary>Creates an API key with <paramref name="roles"/> (as the first admin) and returns its secret.</summary>
    public static async Task<string> CreateKeyAsync(this PlatformFixture platform, string name, params string[] roles)
    {
        using var response = await platform.Identity.PostAsJsonAsync("/api-keys", new { name, roles });
        await response.AssertStatusAsync(HttpStatusCode.Created);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["key"]!.GetValue<string>();
    }

    /// <summary>
    /// Registers <paramref name="artifact"/> as a version of <paramref name="model"/>, as a caller would by hand: a binary
    /// classifier of one column, from <paramref name="trainingJobId"/> when given.
    /// </summary>
    public static async Task<HttpResponseMessage> RegisterArtifactAsync(
        this PlatformFixture platform, string model, byte[] artifact, Guid? trainingJobId = null)
    {
        var signature = new ModelSignature(MLTask.Binary, [new("x", ColumnType.Numeric)], new("y", ColumnType.Categorical), ["no", "yes"]);
        var metadata = new RegisterModelVersionRequest(signature, new Dictionary<string, double>(), new ModelLineage("d", 1, trainingJobId, "FastTree"));
        using var form = new MultipartFormDataContent
        {
            { JsonContent.Create(metadata, options: JsonSerializerOptions.Web), "metadata" },
            { new ByteArrayContent(artifact), "artifact", "model.zip" },
        };
        return await platform.Registry.PostAsync($"/models/{model}/versions", form);
    }

    /// <summary>A graph of tests/corpus/onnx, as its bytes.</summary>
    public static byte[] OnnxGraph(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "corpus", "onnx", name));

    /// <summary>Registers the corpus graph <paramref name="graph"/> as a version of <paramref name="model"/>, with <paramref name="metadata"/>.</summary>
    public static Task<HttpResponseMessage> RegisterGraphAsync(this PlatformFixture platform, string model, string graph, object metadata) =>
        platform.Registry.PostAsync($"/models/{model}/versions", new MultipartFormDataContent
        {
            { JsonContent.Create(metadata, options: JsonSerializerOptions.Web), "metadata" },
            { new ByteArrayContent(OnnxGraph(graph)), "artifact", graph },
        });

    public static Task<HttpResponseMessage> UploadCsvAsync(this PlatformFixture platform, string dataset, string csv) =>
        platform.Feature.PostAsync($"/datasets/{dataset}/versions", new StringContent(csv, Encoding.UTF8, "text/csv"));

    /// <summary>Uploads iris as the first version of a new dataset named after <paramref name="prefix"/>; returns the name.</summary>
    public static async Task<string> UploadIrisAsync(this PlatformFixture platform, string prefix)
    {
        var dataset = UniqueName(prefix);
        await platform.UploadCsvAsync(dataset, IrisCsv()).AssertStatusAsync(HttpStatusCode.Created);
        return dataset;
    }

    public static async Task<JsonObject> SubmitJobAsync(this PlatformFixture platform, object job, string? traceParent = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/training-jobs") { Content = JsonContent.Create(job) };
        if (traceParent is not null)
        {
            request.Headers.Add("traceparent", traceParent);
        }

        return await platform.Training.SendAsync(request).AssertJsonAsync(HttpStatusCode.Accepted);
    }

    /// <summary>
    /// Polls the job until it has finished (succeeded or failed), and fails with its last state and the logs of the
    /// services it talks to if it does not within <see cref="JobTimeout"/>.
    /// </summary>
    /// <param name="jobs">The kind of job: <c>training-jobs</c> or <c>batch-predictions</c>.</param>
    public static async Task<JsonObject> WaitForJobAsync(this PlatformFixture platform, string jobId, string jobs = "training-jobs")
    {
        string? pollError = null;
        JsonObject? job = null;
        job = await platform.WaitUntilAsync(
            $"job {jobId} to finish",
            async () =>
            {
                // Polls like a patient client: a request that lands on a replica being stopped is simply tried again.
                using var attempt = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                try
                {
                    job = await platform.Training.GetFromJsonAsync<JsonObject>($"/{jobs}/{jobId}", attempt.Token);
                    pollError = null;
                }
                catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
                {
                    pollError = ex.Message;
                }

                return job;
            },
            seen => Status(seen) is not (null or "queued" or "running"),
            JobTimeout,
            JobServices,
            seen => (seen?.ToJsonString() ?? "(no answer yet)") + (pollError is null ? "" : $" (the last poll failed: {pollError})"));

        Assert.True(Status(job) is "succeeded" or "failed", $"Expected job {jobId} to succeed or fail, but it ended as: {job}\n"
            + platform.Describe(JobServices));
        return job!;
    }

    /// <summary>Fails, showing the job and the logs of the services it talks to, unless it has <paramref name="expected"/> status.</summary>
    public static void AssertJobStatus(this PlatformFixture platform, JsonObject job, string expected) =>
        Assert.True(Status(job) == expected, $"Expected the job to be {expected}, got: {job}\n{platform.Describe(JobServices)}");

    /// <summary>Submits the job and waits until it has succeeded; fails with the job and the services' logs otherwise.</summary>
    public static async Task<JsonObject> TrainAsync(this PlatformFixture platform, object job)
    {
        var submitted = await platform.SubmitJobAsync(job);
        var finished = await platform.WaitForJobAsync(submitted["id"]!.GetValue<string>());
        platform.AssertJobStatus(finished, "succeeded");
        return finished;
    }

    /// <summary>Trains a model on <paramref name="dataset"/> (the model is named like it) and returns the version it registered.</summary>
    public static async Task<int> TrainIrisAsync(this PlatformFixture platform, string dataset, string? trainer = null)
    {
        var job = await platform.TrainAsync(new { modelName = dataset, dataset, label = "species", task = "multiclass", trainer });
        return job["modelVersion"]!.GetValue<int>();
    }

    /// <summary>A model of the calling test's own, trained on iris and promoted to production; returns its name.</summary>
    public static async Task<string> ProductionIrisAsync(this PlatformFixture platform)
    {
        var dataset = await platform.UploadIrisAsync("iris");
        var version = await platform.TrainIrisAsync(dataset);
        await platform.PromoteAsync(dataset, new { version });
        return dataset;
    }

    public static async Task<HttpResponseMessage> SetAliasAsync(
        this PlatformFixture platform, string model, string alias, int version, string? traceParent = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, $"/models/{model}/aliases/{alias}")
        {
            Content = JsonContent.Create(new { version }),
        };
        if (traceParent is not null)
        {
            request.Headers.Add("traceparent", traceParent);
        }

        return await platform.Registry.SendAsync(request);
    }

    /// <summary>Points <c>production</c> at <paramref name="route"/> (a version, and perhaps a canary and a shadow).</summary>
    public static Task<JsonObject> PromoteAsync(this PlatformFixture platform, string model, object route) =>
        platform.Registry.PutAsJsonAsync($"/models/{model}/aliases/production", route).AssertJsonAsync();

    public static Task<HttpResponseMessage> PredictAsync(
        this PlatformFixture platform, string model, IEnumerable<object> records, string query = "") =>
        platform.Inference.PostAsJsonAsync($"/models/{model}/predict{query}", new { records });

    public static string IrisCsv() => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "iris.csv"));

    /// <summary>The iris rows as records (without the label) and their species.</summary>
    public static List<(Dictionary<string, object> Record, string Species)> IrisRows() =>
        IrisCsv().Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(line => line.Split(','))
            .Select(cells => (new Dictionary<string, object>
            {
                ["sepal_length"] = double.Parse(cells[0], CultureInfo.InvariantCulture),
                ["sepal_width"] = double.Parse(cells[1], CultureInfo.InvariantCulture),
                ["petal_length"] = double.Parse(cells[2], CultureInfo.InvariantCulture),
                ["petal_width"] = double.Parse(cells[3], CultureInfo.InvariantCulture),
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

    private static string? Status(JsonObject? job) => job?["status"]?.GetValue<string>();
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ModelPlatform.Contracts;
using ModelPlatform.Messaging;
using ModelPlatform.ML;
using ModelPlatform.Storage;
using ModelPlatform.TestSupport;
using ModelPlatform.Training.Jobs;

namespace ModelPlatform.Training.Tests;

/// <summary>A batch prediction job's delivery: retried when storing fails for a while, failed at once when its model is gone.</summary>
public sealed class BatchPredictionSubmittedHandlerTests : IDisposable
{
    private readonly SqliteTestDatabase _testDatabase = new();
    private readonly BatchPredictionStore _store;
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    public BatchPredictionSubmittedHandlerTests()
    {
        _store = new BatchPredictionStore(_testDatabase.Open(TrainingJobStore.Migrations), TimeProvider.System);
    }

    [Fact]
    public async Task AStoreThatFailsForAWhileRetriesTheJobWhichThenSucceedsOnce()
    {
        var services = await PlatformServices.CreateAsync(failingUploads: 1);
        var job = await AddJobAsync();

        var first = await Assert.ThrowsAsync<HttpRequestException>(
            () => Handler(services, attempt: 1).HandleAsync(new BatchPredictionSubmitted(job.Id), default));
        var retried = (await _store.GetAsync(job.Id, CancellationToken.None))!;
        await Handler(services, attempt: 2).HandleAsync(new BatchPredictionSubmitted(job.Id), default);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, first.StatusCode);
        Assert.Equal(JobStatus.Queued, retried.Status);
        Assert.StartsWith("attempt 1 failed, retrying", retried.Attempts![0].Error);
        var done = (await _store.GetAsync(job.Id, CancellationToken.None))!;
        Assert.True(done.Status == JobStatus.Succeeded, $"The job ended {done.Status}: {done.Error}");
        Assert.Equal((7, 2), (done.OutputVersion, done.Attempts!.Count));
        Assert.Equal(["loading-model", "loading-data", "scoring", "storing"], done.PhaseSeconds!.Keys);
        // Every row went up, with its answer, and the lineage names the job.
        Assert.Equal(2, services.Uploads.Count);
        Assert.Equal((2_200L, job.Id), (services.Uploads[^1].Rows, services.Uploads[^1].Metadata.Predictions!.JobId));
        Assert.Equal(["id", "x", "colour", "flag", "note", "prediction"], services.Uploads[^1].Metadata.Columns!.Select(column => column.Name));
    }

    [Fact]
    public async Task AModelVersionThatIsGoneFailsTheJobAtOnce()
    {
        var services = await PlatformServices.CreateAsync(failingUploads: 0);
        var job = await AddJobAsync(modelVersion: 9);

        // Returning (not throwing) acks the message: no retry, no dead letter.
        await Handler(services, attempt: 1).HandleAsync(new BatchPredictionSubmitted(job.Id), default);

        var failed = (await _store.GetAsync(job.Id, CancellationToken.None))!;
        Assert.Equal((JobStatus.Failed, "Model 'fair' version 9 no longer exists."), (failed.Status, failed.Error));
        Assert.Empty(services.Uploads);
    }

    private Task<BatchPredictionJob> AddJobAsync(int modelVersion = 1) => _store.AddAsync(
        BatchPredictionJob.Queued(Guid.CreateVersion7(), "fair", modelVersion, null, "rows", 1, "rows-predictions", 2_200, 3, DateTimeOffset.UtcNow),
        AuditActor.Platform, CancellationToken.None);

    private BatchPredictionSubmittedHandler Handler(PlatformServices services, int attempt)
    {
        var http = new HttpClient(services) { BaseAddress = new("http://localhost") };
        var message = new MessageContext { Attempt = attempt, MaxAttempts = 3 };
        return new BatchPredictionSubmittedHandler(
            _store, new FeatureClient(http), new RegistryClient(http),
            new TrainingMetrics(_services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()),
            new JobRunner(message, Options.Create(new TrainingOptions()), TimeProvider.System, NullLogger<JobRunner>.Instance),
            NullLogger<BatchPredictionSubmittedHandler>.Instance);
    }

    /// <summary>The registry's version 1 of 'fair' and the feature service's 'rows' v1, as the worker calls them; uploads are recorded.</summary>
    private sealed class PlatformServices(TrainedModel model, byte[] dataset, int failingUploads) : HttpMessageHandler
    {
        private int _failures = failingUploads;

        public List<(DatasetVersionImport Metadata, long Rows)> Uploads { get; } = [];

        public static async Task<PlatformServices> CreateAsync(int failingUploads)
        {
            using var file = await BatchScoringTests.DatasetFileAsync([1_500, 700]);
            return new PlatformServices(BatchScoringTests.TrainedRegression(), file.ToArray(), failingUploads);
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var path = request.RequestUri!.AbsolutePath;
            var version = new ModelVersionInfo("fair", 1, Convert.ToHexStringLower(SHA256.HashData(model.Artifact)), model.Artifact.Length,
                model.Signature, model.Metrics, new ModelLineage("rows", 1, null, "Sdca"), [], DateTimeOffset.UtcNow);
            switch (request.Method.Method, path)
            {
                case ("GET", "/models/fair/versions/1"):
                    return Json(version);
                case ("GET", "/models/fair/versions/1/artifact"):
                    return new HttpResponseMessage { Content = new ByteArrayContent(model.Artifact) };
                case ("GET", "/datasets/rows/versions/1"):
                    return Json(new DatasetVersionInfo("rows", 1, 2_200, BatchScoringTests.DatasetColumns, "00", DateTimeOffset.UtcNow));
                case ("GET", "/datasets/rows/versions/1/data"):
                    var data = new HttpResponseMessage { Content = new ByteArrayContent(dataset) };
                    data.Headers.ETag = new EntityTagHeaderValue($"\"{Convert.ToHexStringLower(SHA256.HashData(dataset))}\"");
                    return data;
                case ("POST", "/datasets/rows-predictions/versions"):
                    var form = (MultipartFormDataContent)request.Content!;
                    var metadata = JsonSerializer.Deserialize<DatasetVersionImport>(
                        await form.First().ReadAsStringAsync(cancellationToken), JsonSerializerOptions.Web)!;
                    await using (var file = await form.Last().ReadAsStreamAsync(cancellationToken))
                    {
                        var copy = new MemoryStream();
                        await file.CopyToAsync(copy, cancellationToken);
                        copy.Position = 0;
                        var table = await ParquetTable.ReadAsync(copy, metadata.Columns!, cancellationToken);
                        Uploads.Add((metadata, table[0].Count));
                    }

                    return _failures-- > 0
                        ? new HttpResponseMessage(HttpStatusCode.ServiceUnavailable)
                        : Json(new DatasetVersionInfo("rows-predictions", 7, 2_200, metadata.Columns!, "00", DateTimeOffset.UtcNow), HttpStatusCode.Created);
                default:
                    return new HttpResponseMessage(HttpStatusCode.NotFound);
            }
        }

        private static HttpResponseMessage Json(object value, HttpStatusCode status = HttpStatusCode.OK) =>
            new(status) { Content = JsonContent.Create(value, options: JsonSerializerOptions.Web) };
    }

    public void Dispose()
    {
        _services.Dispose();
        _testDatabase.Dispose();
    }
}

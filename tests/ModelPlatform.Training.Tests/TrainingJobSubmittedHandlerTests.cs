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
using ModelPlatform.Storage;
using ModelPlatform.TestSupport;
using ModelPlatform.Training.Jobs;
using Parquet;
using Parquet.Schema;

namespace ModelPlatform.Training.Tests;

/// <summary>Run on each engine: see the classes at the end of the file.</summary>
public abstract class TrainingJobSubmittedHandlerTests : IDisposable
{
    private readonly ITestDatabase _testDatabase;
    private readonly TrainingJobStore _store;
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    private readonly ServiceDatabase _database;

    protected TrainingJobSubmittedHandlerTests(ITestDatabase testDatabase)
    {
        _testDatabase = testDatabase;
        _database = testDatabase.Open(TrainingJobStore.Migrations);
        _store = new TrainingJobStore(_database, TimeProvider.System);
    }

    /// <summary>Fails the test if the handler calls another service.</summary>
    private sealed class NoCalls : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            throw new InvalidOperationException($"Unexpected call to {request.RequestUri}");
    }

    /// <summary>
    /// The feature service's rows and the registry, as the handler calls them, the registry answering
    /// <paramref name="registryRefusal"/> when given; every call is recorded.
    /// </summary>
    private sealed class PlatformServices(HttpStatusCode? registryRefusal = null) : HttpMessageHandler
    {
        public List<string> Calls { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var path = request.RequestUri!.PathAndQuery;
            Calls.Add($"{request.Method} {path}");
            if (request.Method == HttpMethod.Get && path == "/datasets/iris/versions/1/data")
            {
                var file = await SeparableRowsAsync(60);
                var response = new HttpResponseMessage { Content = new ByteArrayContent(file) };
                response.Headers.ETag = new EntityTagHeaderValue($"\"{Convert.ToHexStringLower(SHA256.HashData(file))}\"");
                return response;
            }

            if (request.Method == HttpMethod.Post && path == "/models/iris/versions" && registryRefusal is { } refusal)
            {
                return new HttpResponseMessage(refusal) { Content = JsonContent.Create(new { title = "refused", status = (int)refusal }) };
            }

            if (request.Method == HttpMethod.Post && path == "/models/iris/versions")
            {
                var metadata = JsonSerializer.Deserialize<RegisterModelVersionRequest>(
                    await ((MultipartFormDataContent)request.Content!).First().ReadAsStringAsync(cancellationToken), JsonSerializerOptions.Web)!;
                return new HttpResponseMessage(HttpStatusCode.Created)
                {
                    Content = JsonContent.Create(
                        new ModelVersionInfo("iris", 1, "00", 1, metadata.Signature, metadata.Metrics, metadata.Lineage, [], DateTimeOffset.UtcNow),
                        options: JsonSerializerOptions.Web),
                };
            }

            return new HttpResponseMessage(HttpStatusCode.NotFound);
        }

        /// <summary>A dataset version's file as the feature service serves it: Parquet, a column per dataset column.</summary>
        private static async Task<byte[]> SeparableRowsAsync(int count)
        {
            var lengths = new DataField<double>("petal_length", true);
            var widths = new DataField<double>("petal_width", true);
            var species = new DataField<string>("species", true);
            using var file = new MemoryStream();
            await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(lengths, widths, species), file))
            {
                using var group = writer.CreateRowGroup();
                await group.WriteAsync<double>(lengths, Enumerable.Range(0, count).Select(i => (double?)(i % 3 * 2 + i % 5 * 0.1)).ToArray(), null);
                await group.WriteAsync<double>(widths, Enumerable.Range(0, count).Select(i => (double?)(i % 3 + i % 7 * 0.05)).ToArray(), null);
                await group.WriteAsync(species, Enumerable.Range(0, count).Select(i => new[] { "setosa", "versicolor", "virginica" }[i % 3]).ToList(), null);
            }

            return file.ToArray();
        }
    }

    /// <summary>A feature service that never answers: the job stays in its loading phase until it is stopped.</summary>
    private sealed class Unanswering : HttpMessageHandler
    {
        public TaskCompletionSource Called { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Called.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException("unreachable");
        }
    }

    private TrainingJobSubmittedHandler Handler(HttpMessageHandler? services = null, TrainingOptions? options = null)
    {
        var http = new HttpClient(services ?? new NoCalls()) { BaseAddress = new("http://localhost") };
        return new TrainingJobSubmittedHandler(
            _store, new FeatureClient(http), new RegistryClient(http),
            new TrainingMetrics(_services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()),
            new JobRunner(new MessageContext(), Options.Create(options ?? new TrainingOptions()), TimeProvider.System, NullLogger<JobRunner>.Instance),
            NullLogger<TrainingJobSubmittedHandler>.Instance);
    }

    [Theory]
    [InlineData(JobStatus.Succeeded)]
    [InlineData(JobStatus.Failed)]
    [InlineData(JobStatus.Cancelled)]
    public async Task RedeliveryOfAFinishedJobDoesNothing(JobStatus finished)
    {
        var job = await _store.AddAsync(
            TrainingJobStoreTests.NewJob(createdAt: DateTimeOffset.UtcNow), TrainingJobStoreTests.IrisColumns, AuditActor.Platform, CancellationToken.None);
        if (finished == JobStatus.Succeeded)
        {
            var report = new TrainingReport("LightGbm", new Dictionary<string, double>(), [], null, 1);
            await _store.SucceedAsync(job.Id, new Dictionary<string, double>(), 1, report, CancellationToken.None);
        }
        else
        {
            await _store.EndAsync(job.Id, finished, "bad label", CancellationToken.None);
        }

        await Handler().HandleAsync(new TrainingJobSubmitted(job.Id), CancellationToken.None);

        Assert.Equal(finished, (await _store.GetAsync(job.Id, CancellationToken.None))!.Status);
    }

    [Fact]
    public async Task ADuplicateDeliveryOfAJobALiveWorkerHoldsIsDoneAfterOneLeaseNotParkedForTheJobsBudget()
    {
        // Arrange: another worker holds the job and keeps renewing its short lease.
        var options = new TrainingOptions { LeaseSeconds = 2 };
        var lease = TimeSpan.FromSeconds(options.LeaseSeconds);
        var job = await _store.AddAsync(TrainingJobStoreTests.NewJob(createdAt: DateTimeOffset.UtcNow), TrainingJobStoreTests.IrisColumns,
            AuditActor.Platform, CancellationToken.None);
        await _store.TryClaimAsync(job.Id, "holder", lease, CancellationToken.None);
        using var holderStops = new CancellationTokenSource();
        var holder = Task.Run(async () =>
        {
            while (!holderStops.IsCancellationRequested)
            {
                await _store.HeartbeatAsync(job.Id, "holder", lease, new JobProgress("training", 10), CancellationToken.None);
                await Task.Delay(200);
            }
        });

        // Act: the duplicate delivery (it calls no service: it never trains).
        var handled = Handler(options: options).HandleAsync(new TrainingJobSubmitted(job.Id), CancellationToken.None);
        var finishedFirst = await Task.WhenAny(handled, Task.Delay(TimeSpan.FromSeconds(30)));
        await holderStops.CancelAsync();
        await holder;

        // Assert: it returned (the message is acked) while the holder still runs the job.
        Assert.Same(handled, finishedFirst);
        await handled;
        var stored = (await _store.GetAsync(job.Id, CancellationToken.None))!;
        Assert.Equal((JobStatus.Running, 1), (stored.Status, stored.Attempts!.Count));
    }

    [Fact]
    public async Task TrainingStopsWhenTheLeaseCannotBeRenewedBeforeItRunsOut()
    {
        // Arrange: a job loading its data, whose lease can no longer be renewed (the jobs table is gone).
        var options = new TrainingOptions { LeaseSeconds = 2, HeartbeatSeconds = 0.2 };
        var job = await _store.AddAsync(TrainingJobStoreTests.NewJob(createdAt: DateTimeOffset.UtcNow), TrainingJobStoreTests.IrisColumns,
            AuditActor.Platform, CancellationToken.None);
        var feature = new Unanswering();
        var handled = Handler(feature, options).HandleAsync(new TrainingJobSubmitted(job.Id), CancellationToken.None);
        await feature.Called.Task;

        // Act
        await using (var connection = await _database.OpenAsync(CancellationToken.None))
        {
            await Dapper.SqlMapper.ExecuteAsync(connection, "ALTER TABLE training_jobs RENAME TO jobs_elsewhere");
        }

        // Assert: the handler stops within about a lease and throws, so the message is retried rather than acked.
        var finishedFirst = await Task.WhenAny(handled, Task.Delay(TimeSpan.FromSeconds(30)));
        Assert.Same(handled, finishedFirst);
        var error = await Assert.ThrowsAsync<LeaseNotRenewedException>(() => handled);
        Assert.Contains("training_jobs", error.InnerException!.Message);
    }

    [Fact]
    public async Task TheWorkerAsksTheFeatureServiceOnlyForTheRows()
    {
        // The submit resolved the dataset version and its columns; the worker reads the rows and registers the model.
        var job = await _store.AddAsync(TrainingJobStoreTests.NewJob(createdAt: DateTimeOffset.UtcNow) with { Trainer = "LbfgsMaximumEntropy" },
            TrainingJobStoreTests.IrisColumns, AuditActor.Platform, CancellationToken.None);
        var services = new PlatformServices();

        await Handler(services).HandleAsync(new TrainingJobSubmitted(job.Id), CancellationToken.None);

        var finished = (await _store.GetAsync(job.Id, CancellationToken.None))!;
        Assert.True(finished.Status == JobStatus.Succeeded, $"The job ended {finished.Status}: {finished.Error}");
        Assert.Equal(["GET /datasets/iris/versions/1/data", "POST /models/iris/versions"], services.Calls);
    }

    [Fact]
    public async Task ARequestTheRegistryRefusesFailsTheJobAtOnce()
    {
        var job = await _store.AddAsync(TrainingJobStoreTests.NewJob(createdAt: DateTimeOffset.UtcNow) with { Trainer = "LbfgsMaximumEntropy" },
            TrainingJobStoreTests.IrisColumns, AuditActor.Platform, CancellationToken.None);

        // Returning (not throwing) acks the message: no retry, no dead letter.
        await Handler(new PlatformServices(registryRefusal: HttpStatusCode.BadRequest)).HandleAsync(new TrainingJobSubmitted(job.Id), CancellationToken.None);

        var failed = (await _store.GetAsync(job.Id, CancellationToken.None))!;
        Assert.Equal(JobStatus.Failed, failed.Status);
        Assert.StartsWith("The registry refused the model (400)", failed.Error);
    }

    [Theory]
    [InlineData(HttpStatusCode.BadRequest, true)]
    [InlineData(HttpStatusCode.Conflict, true)]
    [InlineData(HttpStatusCode.RequestEntityTooLarge, true)]
    [InlineData(HttpStatusCode.RequestTimeout, false)]
    [InlineData(HttpStatusCode.TooManyRequests, false)]
    [InlineData(HttpStatusCode.InternalServerError, false)]
    [InlineData(HttpStatusCode.ServiceUnavailable, false)]
    public void OnlyARefusalIsPermanentAmongAnswers(HttpStatusCode status, bool permanent)
    {
        Assert.Equal(permanent, JobFailures.IsPermanent(new HttpRequestException("answered", null, status)));
    }

    [Fact]
    public void TrainingAndDataFailuresArePermanentAndInfrastructureFailuresAreNot()
    {
        Assert.True(JobFailures.IsPermanent(new TrainingFailedException(new InvalidOperationException("no convergence"))));
        Assert.True(JobFailures.IsPermanent(new ML.TrainingDataException("the label has one value")));
        Assert.False(JobFailures.IsPermanent(new HttpRequestException("connection refused")));
        Assert.False(JobFailures.IsPermanent(new TimeoutException()));
        Assert.False(JobFailures.IsPermanent(new Microsoft.Data.Sqlite.SqliteException("database is locked", 5)));
    }

    [Fact]
    public async Task MessageForAnUnknownJobIsIgnored()
    {
        await Handler().HandleAsync(new TrainingJobSubmitted(Guid.NewGuid()), CancellationToken.None);
    }

    public void Dispose()
    {
        _services.Dispose();
        _testDatabase.Dispose();
    }
}

public sealed class TrainingJobSubmittedHandlerOnSqliteTests() : TrainingJobSubmittedHandlerTests(new SqliteTestDatabase());

[Collection(nameof(PostgresServer))]
public sealed class TrainingJobSubmittedHandlerOnPostgresTests(PostgresServer server) : TrainingJobSubmittedHandlerTests(new PostgresTestDatabase(server));

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ModelPlatform.Contracts;
using ModelPlatform.Messaging;
using ModelPlatform.Storage;
using ModelPlatform.Training.Jobs;

namespace ModelPlatform.Training.Tests;

public sealed class TrainingJobSubmittedHandlerTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("modelplatform-training-").FullName;
    private readonly TrainingJobStore _store;
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    public TrainingJobSubmittedHandlerTests() => _store = new TrainingJobStore(new ServiceDatabase(_directory, TrainingJobStore.Migrations), TimeProvider.System);

    /// <summary>Fails the test if the handler calls another service.</summary>
    private sealed class NoCalls : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            throw new InvalidOperationException($"Unexpected call to {request.RequestUri}");
    }

    private TrainingJobSubmittedHandler Handler()
    {
        var http = new HttpClient(new NoCalls()) { BaseAddress = new("http://localhost") };
        return new TrainingJobSubmittedHandler(
            _store, new FeatureClient(http), new RegistryClient(http),
            new TrainingMetrics(_services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()),
            new MessageContext(),
            Options.Create(new TrainingOptions()),
            TimeProvider.System,
            NullLogger<TrainingJobSubmittedHandler>.Instance);
    }

    [Theory]
    [InlineData(JobStatus.Succeeded)]
    [InlineData(JobStatus.Failed)]
    [InlineData(JobStatus.Cancelled)]
    public async Task RedeliveryOfAFinishedJobDoesNothing(JobStatus finished)
    {
        var job = await _store.AddAsync(TrainingJobStoreTests.NewJob(createdAt: DateTimeOffset.UtcNow), CancellationToken.None);
        if (finished == JobStatus.Succeeded)
        {
            await _store.SucceedAsync(job.Id, new Dictionary<string, double>(), 1, new TrainingReport("LightGbm", new Dictionary<string, double>(), [], null, 1), CancellationToken.None);
        }
        else
        {
            await _store.EndAsync(job.Id, finished, "bad label", CancellationToken.None);
        }

        await Handler().HandleAsync(new TrainingJobSubmitted(job.Id), CancellationToken.None);

        Assert.Equal(finished, (await _store.GetAsync(job.Id, CancellationToken.None))!.Status);
    }

    [Fact]
    public async Task MessageForAnUnknownJobIsIgnored()
    {
        await Handler().HandleAsync(new TrainingJobSubmitted(Guid.NewGuid()), CancellationToken.None);
    }

    public void Dispose()
    {
        _services.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }
}

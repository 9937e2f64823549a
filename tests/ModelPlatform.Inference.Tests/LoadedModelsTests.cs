using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.IO.Compression;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using ModelPlatform.Contracts;
using ModelPlatform.Inference.Serving;
using ModelPlatform.ML;

namespace ModelPlatform.Inference.Tests;

public sealed class LoadedModelsTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly ConcurrentQueue<int> _loads = new();

    private IMeterFactory MeterFactory => _services.GetRequiredService<IMeterFactory>();

    public void Dispose() => _services.Dispose();

    private static ModelVersionInfo V(int version) => TestModels.Version(TestModels.Trained.Value.Signature, version);

    private static long ModelBytes { get; } = UncompressedSize(TestModels.Trained.Value.Artifact);

    private static long UncompressedSize(byte[] artifact)
    {
        using var zip = new ZipArchive(new MemoryStream(artifact), ZipArchiveMode.Read);
        return zip.Entries.Sum(entry => entry.Length);
    }

    /// <summary>Loads the trained artifact for every version, as the registry would serve it, recording each call.</summary>
    private LoadedModels Models(long budgetBytes = long.MaxValue, Func<ModelVersionInfo, Task>? before = null) => new(
        async version =>
        {
            _loads.Enqueue(version.Version);
            if (before is not null)
            {
                await before(version);
            }

            return await Task.Run(TestModels.LoadTrained);
        },
        budgetBytes,
        new InferenceMetrics(MeterFactory),
        NullLogger<LoadedModels>.Instance);

    [Fact]
    public async Task ConcurrentRequestsForOneVersionShareOneLoad()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var models = Models(before: _ => release.Task);

        // Sixteen requests in flight at once; each asks before the first load has finished.
        var requests = Enumerable.Range(0, 16).Select(_ => models.GetAsync(V(1), CancellationToken.None)).ToList();
        await Task.Delay(50);
        var loadedWhileLoading = models.IsLoaded("churn", 1);
        release.SetResult();
        var predictors = await Task.WhenAll(requests).WaitAsync(Timeout);

        Assert.False(loadedWhileLoading);
        Assert.Equal([1], _loads);
        Assert.Single(predictors.Distinct());
        Assert.True(models.IsLoaded("churn", 1));
        Assert.Same(predictors[0], await models.GetAsync(V(1), CancellationToken.None));
        Assert.Equal([1], _loads);
    }

    [Fact]
    public async Task OnlyALoadedVersionIsAnsweredAtOnce()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var models = Models(before: _ => release.Task);

        var unknown = models.TryGetLoaded(V(1), out _);
        var loading = models.GetAsync(V(1), CancellationToken.None);
        var whileLoading = models.TryGetLoaded(V(1), out _);
        release.SetResult();
        var loaded = await loading.WaitAsync(Timeout);

        Assert.False(unknown);
        Assert.False(whileLoading);
        Assert.True(models.TryGetLoaded(V(1), out var predictor));
        Assert.Same(loaded, predictor);
        Assert.Equal([1], _loads);
    }

    [Fact]
    public async Task SimultaneousFirstRequestsLoadTheVersionOnce()
    {
        var predictor = TestModels.LoadTrained();
        var metrics = new InferenceMetrics(MeterFactory);
        var rounds = Enumerable.Range(0, 300).Select(_ => new int[1]).ToArray();

        foreach (var calls in rounds)
        {
            var models = new LoadedModels(_ =>
            {
                Interlocked.Increment(ref calls[0]);
                return Task.FromResult(predictor);
            }, long.MaxValue, metrics, NullLogger<LoadedModels>.Instance);
            using var start = new Barrier(4);
            var requests = Enumerable.Range(0, 4).Select(_ => Task.Factory.StartNew(() =>
            {
                start.SignalAndWait();
                return models.GetAsync(V(1), CancellationToken.None);
            }, TaskCreationOptions.LongRunning).Unwrap()).ToList();
            await Task.WhenAll(requests).WaitAsync(Timeout);
        }

        // A load started by a losing factory call runs on in the background.
        await Task.Delay(200);
        Assert.All(rounds, calls => Assert.Equal(1, Volatile.Read(ref calls[0])));
    }

    [Fact]
    public async Task AFailedLoadIsTriedAgainByTheNextRequest()
    {
        var attempts = 0;
        var models = Models(before: _ => Interlocked.Increment(ref attempts) == 1
            ? Task.FromException(new HttpRequestException("registry unreachable"))
            : Task.CompletedTask);

        var failure = await Assert.ThrowsAsync<HttpRequestException>(() => models.GetAsync(V(1), CancellationToken.None));
        var loadedAfterFailure = models.IsLoaded("churn", 1);
        var predictor = await models.GetAsync(V(1), CancellationToken.None);

        Assert.Equal("registry unreachable", failure.Message);
        Assert.False(loadedAfterFailure);
        Assert.Equal([1, 1], _loads);
        Assert.True(models.IsLoaded("churn", 1));
        Assert.Equal(TestModels.Trained.Value.Signature, predictor.Signature);
    }

    [Fact]
    public async Task ALoadThatTimedOutIsTriedAgainByTheNextRequest()
    {
        var attempts = 0;
        var models = Models(before: _ => Interlocked.Increment(ref attempts) == 1
            ? throw new TaskCanceledException(
                "The request was canceled due to the configured HttpClient.Timeout of 100 seconds elapsing.", new TimeoutException())
            : Task.CompletedTask);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => models.GetAsync(V(1), CancellationToken.None));
        await models.GetAsync(V(1), CancellationToken.None).WaitAsync(Timeout);

        Assert.Equal([1, 1], _loads);
        Assert.True(models.IsLoaded("churn", 1));
    }

    [Fact]
    public async Task ARequestThatGivesUpDoesNotCancelTheLoadForOthers()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var models = Models(before: _ => release.Task);
        using var impatient = new CancellationTokenSource();

        var first = models.GetAsync(V(1), impatient.Token);
        var second = models.GetAsync(V(1), CancellationToken.None);
        await impatient.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        release.SetResult();
        await second.WaitAsync(Timeout);

        Assert.True(models.IsLoaded("churn", 1));
        Assert.Equal([1], _loads);
    }

    [Fact]
    public async Task TheLeastRecentlyUsedModelIsUnloadedPastTheBudget()
    {
        var models = Models(budgetBytes: ModelBytes * 5 / 2);
        var evictions = new ConcurrentQueue<(string? Model, object? Version)>();
        using var listener = Listen("modelplatform.inference.model_evictions", (value, tags) =>
            evictions.Enqueue(((string?)Tag(tags, "model"), Tag(tags, "version"))));

        await models.GetAsync(V(1), CancellationToken.None);
        var second = await models.GetAsync(V(2), CancellationToken.None);
        await models.GetAsync(V(1), CancellationToken.None);
        await models.GetAsync(V(3), CancellationToken.None);

        Assert.True(models.IsLoaded("churn", 1));
        Assert.False(models.IsLoaded("churn", 2));
        Assert.True(models.IsLoaded("churn", 3));
        Assert.Equal([("churn", (object?)2)], evictions);
        // A request still holding the unloaded model finishes on it.
        Assert.Single(second.Predict([ModelRecord.Empty(second.Signature.Inputs.Count)]));
    }

    [Fact]
    public async Task WithoutRecentUseTheFirstLoadedIsUnloadedFirst()
    {
        var models = Models(budgetBytes: ModelBytes * 5 / 2);

        await models.GetAsync(V(1), CancellationToken.None);
        await models.GetAsync(V(2), CancellationToken.None);
        await models.GetAsync(V(3), CancellationToken.None);
        await models.GetAsync(V(1), CancellationToken.None);

        // Reloading v1 made room by unloading v2, the least recently used.
        Assert.Equal([1, 2, 3, 1], _loads);
        Assert.Equal([1, 3], models.Snapshot().Select(model => model.Version).Order());
    }

    [Fact]
    public async Task ModelsThatFitTheBudgetStayLoaded()
    {
        var models = Models(budgetBytes: ModelBytes * 3);

        foreach (var version in new[] { 1, 2, 3, 1, 2, 3 })
        {
            await models.GetAsync(V(version), CancellationToken.None);
        }

        Assert.Equal([1, 2, 3], _loads);
    }

    [Fact]
    public async Task SnapshotReportsEachLoadedModelWithItsUncompressedSize()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var models = Models(before: version => version.Version == 3 ? release.Task : Task.CompletedTask);
        var gauge = new ConcurrentQueue<(long Bytes, object? Version)>();
        using var listener = Listen("modelplatform.inference.models.memory", (value, tags) => gauge.Enqueue((value, Tag(tags, "version"))));

        var predictor = await models.GetAsync(V(1), CancellationToken.None);
        await models.GetAsync(V(2), CancellationToken.None);
        var loading = models.GetAsync(V(3), CancellationToken.None);
        var snapshot = models.Snapshot();
        listener.RecordObservableInstruments();
        release.SetResult();
        await loading.WaitAsync(Timeout);

        Assert.True(ModelBytes > TestModels.Trained.Value.Artifact.Length);
        Assert.Equal(ModelBytes, predictor.SizeBytes);
        Assert.Equal([("churn", 1, ModelBytes), ("churn", 2, ModelBytes)], snapshot.OrderBy(model => model.Version));
        Assert.Equal([(ModelBytes, (object?)1), (ModelBytes, 2)], gauge.OrderBy(measurement => (int)measurement.Version!));
        Assert.Equal(3, models.Snapshot().Count);
    }

    private MeterListener Listen(string instrumentName, Action<long, KeyValuePair<string, object?>[]> measured)
    {
        var factory = MeterFactory;
        var listener = new MeterListener
        {
            // Only this test's meter: other tests running at the same time have their own factories.
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Name == instrumentName && ReferenceEquals(instrument.Meter.Scope, factory))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) => measured(value, tags.ToArray()));
        listener.Start();
        return listener;
    }

    private static object? Tag(KeyValuePair<string, object?>[] tags, string name) => tags.Single(tag => tag.Key == name).Value;
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ModelPlatform.Contracts;
using ModelPlatform.Inference.Serving;

namespace ModelPlatform.Inference.Tests;

public class ModelCatalogTests
{
    [Fact]
    public async Task APromotionThatLandsDuringARegistryReadIsNotUndoneByIt()
    {
        // Arrange: a registry that still says v1 and answers only when told; Redis shared by two replicas.
        var redis = new FakeRedis();
        var registry = new SlowRegistry(new AliasInfo("iris", "production", Version: 1, PreviousVersion: null));
        var replica = Catalog(redis, registry);

        // Act: a request misses every cache and asks the registry; while it waits, AliasChanged moves production to v2.
        var inFlight = replica.ResolveAliasAsync("iris", "production", CancellationToken.None).AsTask();
        await registry.Asked.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await replica.SetAliasAsync("iris", "production", new AliasRoute(2), sequence: 2);
        registry.Answer.SetResult();
        await inFlight.WaitAsync(TimeSpan.FromSeconds(30));

        // Assert: the older answer replaced the event's route neither in this replica's memory nor in Redis.
        Assert.Equal(new AliasRoute(2), await replica.ResolveAliasAsync("iris", "production", CancellationToken.None));
        var staleRegistry = new SlowRegistry(new AliasInfo("iris", "production", Version: 1, PreviousVersion: null));
        staleRegistry.Answer.SetResult();
        var anotherReplica = Catalog(redis, staleRegistry);
        Assert.Equal(new AliasRoute(2), await anotherReplica.ResolveAliasAsync("iris", "production", CancellationToken.None));
    }

    [Fact]
    public async Task AnOlderMoveOfAnAliasArrivingAfterANewerOneIsIgnored()
    {
        // Arrange: moves 3 (to v3) and 2 (to v2) of production arrive in the wrong order.
        var registry = new SlowRegistry(new AliasInfo("iris", "production", Version: 1, PreviousVersion: null));
        var replica = Catalog(new FakeRedis(), registry);

        // Act
        var newer = await replica.SetAliasAsync("iris", "production", new AliasRoute(3), sequence: 3);
        var stale = replica.IsStale("iris", "production", 2);
        var older = await replica.SetAliasAsync("iris", "production", new AliasRoute(2), sequence: 2);

        // Assert: the replica serves move 3.
        Assert.True(newer);
        Assert.True(stale);
        Assert.False(older);
        Assert.Equal(new AliasRoute(3), await replica.ResolveAliasAsync("iris", "production", CancellationToken.None));
    }

    private static ModelCatalog Catalog(FakeRedis redis, SlowRegistry registry) =>
        new(new RegistryClient(new HttpClient(registry) { BaseAddress = new Uri("http://registry") }),
            new RedisCache(redis.Connection(), TimeProvider.System, NullLogger<RedisCache>.Instance),
            Options.Create(new InferenceOptions()),
            TimeProvider.System);

    /// <summary>A registry whose alias answer waits for <see cref="Answer"/> after saying it was <see cref="Asked"/>.</summary>
    private sealed class SlowRegistry(AliasInfo alias) : HttpMessageHandler
    {
        public TaskCompletionSource Asked { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Assert.Equal($"/models/{alias.ModelName}/aliases/{alias.Alias}", request.RequestUri!.AbsolutePath);
            Asked.TrySetResult();
            await Answer.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);

            return new HttpResponseMessage(HttpStatusCode.OK) { Content = JsonContent.Create(alias, options: JsonSerializerOptions.Web) };
        }
    }
}

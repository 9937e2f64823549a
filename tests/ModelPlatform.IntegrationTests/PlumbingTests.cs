using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using StackExchange.Redis;

namespace ModelPlatform.IntegrationTests;

/// <summary>What flows between the services: trace context on RabbitMQ messages and the Redis cache.</summary>
[Collection(PlatformCollection.Name)]
public class PlumbingTests(PlatformFixture platform) : IAsyncLifetime
{
    // An earlier test may have stopped a server or service; each test starts from a running platform.
    public Task InitializeAsync() => platform.EnsureEverythingRunsAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task OneTraceRunsFromJobSubmissionThroughTrainingToRegistrationAndPromotion()
    {
        // Arrange: listen to the platform's event exchange as one more subscriber.
        await using var connection = await new ConnectionFactory { Uri = new(await platform.ConnectionStringAsync("rabbitmq")) }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var queue = (await channel.QueueDeclareAsync(exclusive: true, autoDelete: true)).QueueName;
        foreach (var routingKey in new[] { "TrainingJobSubmitted", "ModelVersionRegistered", "AliasChanged" })
        {
            await channel.QueueBindAsync(queue, "modelplatform.events", routingKey);
        }

        var traceIds = new Dictionary<string, List<string>>();
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, delivery) =>
        {
            var traceParent = delivery.BasicProperties.Headers?.TryGetValue("traceparent", out var value) == true
                ? Encoding.UTF8.GetString((byte[])value!)
                : "none";
            lock (traceIds)
            {
                traceIds.TryAdd(delivery.RoutingKey, []);
                traceIds[delivery.RoutingKey].Add(traceParent.Split('-')[1]);
            }

            return Task.CompletedTask;
        };
        await channel.BasicConsumeAsync(queue, autoAck: true, consumer);

        var dataset = PlatformSteps.UniqueName("traced");
        (await platform.UploadCsvAsync(dataset, PlatformSteps.IrisCsv())).EnsureSuccessStatusCode();
        var submitTrace = ActivityTraceId.CreateRandom().ToString();
        var promoteTrace = ActivityTraceId.CreateRandom().ToString();

        // Act
        var submitted = await platform.SubmitJobAsync(
            new { modelName = dataset, dataset, label = "species", task = "multiclass" }, $"00-{submitTrace}-{ActivitySpanId.CreateRandom()}-01");
        var job = await platform.WaitForJobAsync(submitted["id"]!.GetValue<string>());
        (await platform.SetAliasAsync(dataset, "production", job["modelVersion"]!.GetValue<int>(), $"00-{promoteTrace}-{ActivitySpanId.CreateRandom()}-01"))
            .EnsureSuccessStatusCode();
        await Task.Delay(TimeSpan.FromSeconds(2));

        // Assert: the job's message and the registration it caused carry the submitter's trace.
        lock (traceIds)
        {
            Assert.Contains(submitTrace, traceIds["TrainingJobSubmitted"]);
            Assert.Contains(submitTrace, traceIds["ModelVersionRegistered"]);
            Assert.Contains(promoteTrace, traceIds["AliasChanged"]);
        }
    }

    [Fact]
    public async Task InferenceCachesResolvedAliasesAndModelMetadataInRedis()
    {
        var dataset = PlatformSteps.UniqueName("cached");
        (await platform.UploadCsvAsync(dataset, PlatformSteps.IrisCsv())).EnsureSuccessStatusCode();
        var version = (await platform.TrainAsync(new { modelName = dataset, dataset, label = "species", task = "multiclass" }))["modelVersion"]!.GetValue<int>();
        (await platform.SetAliasAsync(dataset, "production", version)).EnsureSuccessStatusCode();

        (await platform.PredictAsync(dataset, [PlatformSteps.IrisRows()[0].Record])).EnsureSuccessStatusCode();

        await using var redis = await ConnectionMultiplexer.ConnectAsync(await platform.ConnectionStringAsync("redis"));
        var db = redis.GetDatabase();
        var route = JsonNode.Parse((string)(await db.StringGetAsync($"modelplatform:inference:alias:{dataset}:production"))!)!;
        Assert.Equal(version, route["version"]!.GetValue<int>());
        var metadata = JsonNode.Parse((string)(await db.StringGetAsync($"modelplatform:inference:model:{dataset}:{version}"))!)!;
        Assert.Equal(dataset, metadata["modelName"]!.GetValue<string>());
        Assert.True(await db.KeyTimeToLiveAsync($"modelplatform:inference:alias:{dataset}:production") > TimeSpan.Zero);
    }
}

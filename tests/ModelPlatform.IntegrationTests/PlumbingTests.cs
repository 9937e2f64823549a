using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using StackExchange.Redis;

namespace ModelPlatform.IntegrationTests;

/// <summary>What flows between the services: trace context on RabbitMQ messages and the Redis cache.</summary>
public class PlumbingTests(PlatformFixture platform) : PlatformTest(platform)
{
    [Fact]
    public async Task OneTraceRunsFromJobSubmissionThroughTrainingToRegistrationAndPromotion()
    {
        // Arrange: listen to the platform's event exchange as one more subscriber.
        var factory = new ConnectionFactory { Uri = new(await Platform.ConnectionStringAsync("rabbitmq")) };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var queue = (await channel.QueueDeclareAsync(exclusive: true, autoDelete: true)).QueueName;
        foreach (var routingKey in new[] { "TrainingJobSubmitted", "ModelVersionRegistered", "AliasChanged" })
        {
            await channel.QueueBindAsync(queue, "modelplatform.events", routingKey);
        }

        var traceIds = new List<(string RoutingKey, string TraceId)>();
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, delivery) =>
        {
            var traceParent = delivery.BasicProperties.Headers?.TryGetValue("traceparent", out var value) == true
                ? Encoding.UTF8.GetString((byte[])value!)
                : "none";
            lock (traceIds)
            {
                traceIds.Add((delivery.RoutingKey, traceParent.Split('-') is [_, var traceId, ..] ? traceId : traceParent));
            }

            return Task.CompletedTask;
        };
        await channel.BasicConsumeAsync(queue, autoAck: true, consumer);

        var dataset = await Platform.UploadIrisAsync("traced");
        var submitTrace = ActivityTraceId.CreateRandom().ToString();
        var promoteTrace = ActivityTraceId.CreateRandom().ToString();

        // Act
        var submitted = await Platform.SubmitJobAsync(
            new { modelName = dataset, dataset, label = "species", task = "multiclass" }, $"00-{submitTrace}-{ActivitySpanId.CreateRandom()}-01");
        var job = await Platform.WaitForJobAsync(submitted["id"]!.GetValue<string>());
        Platform.AssertJobStatus(job, "succeeded");
        using var promoted = await Platform.SetAliasAsync(
            dataset, "production", job["modelVersion"]!.GetValue<int>(), $"00-{promoteTrace}-{ActivitySpanId.CreateRandom()}-01");
        await promoted.AssertSuccessAsync();

        // Assert: the job's message and the registration it caused carry the submitter's trace, the promotion its own.
        (string, string)[] expected =
        [
            ("TrainingJobSubmitted", submitTrace), ("ModelVersionRegistered", submitTrace), ("AliasChanged", promoteTrace),
        ];
        await Platform.WaitUntilAsync("the job's, the registration's and the promotion's events, each with its trace", () =>
        {
            lock (traceIds)
            {
                return Task.FromResult(traceIds.ToList());
            }
        }, received => expected.All(received.Contains), PlatformSteps.EventTimeout, ["training", "registry"],
        received => string.Join(", ", received.Select(message => $"{message.RoutingKey} {message.TraceId}")));
    }

    [Fact]
    public async Task InferenceCachesResolvedAliasesAndModelMetadataInRedis()
    {
        var dataset = await Platform.UploadIrisAsync("cached");
        var version = await Platform.TrainIrisAsync(dataset);
        await Platform.PromoteAsync(dataset, new { version });

        await Platform.PredictAsync(dataset, [PlatformSteps.IrisRows()[0].Record]).AssertJsonAsync();

        await using var redis = await ConnectionMultiplexer.ConnectAsync(await Platform.ConnectionStringAsync("redis"));
        var db = redis.GetDatabase();
        var aliasKey = $"modelplatform:inference:alias:{dataset}:production";
        var route = await ReadJsonAsync(aliasKey);
        Assert.Equal(version, route["version"]!.GetValue<int>());
        var metadata = await ReadJsonAsync($"modelplatform:inference:model:{dataset}:{version}");
        Assert.Equal(dataset, metadata["modelName"]!.GetValue<string>());
        Assert.True(await db.KeyTimeToLiveAsync(aliasKey) > TimeSpan.Zero);

        async Task<JsonNode> ReadJsonAsync(string key)
        {
            var value = await db.StringGetAsync(key);
            Assert.True(value.HasValue, $"Expected Redis to hold {key} once a prediction has been answered.\n{Platform.Describe("inference")}");
            return JsonNode.Parse((string)value!)!;
        }
    }
}

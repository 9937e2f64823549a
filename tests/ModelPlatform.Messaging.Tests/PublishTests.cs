using System.Diagnostics;
using System.Reflection;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ModelPlatform.Contracts;
using RabbitMQ.Client;

namespace ModelPlatform.Messaging.Tests;

public sealed class PublishTests : IDisposable
{
    private readonly List<Activity> _stopped = [];
    private readonly ActivityListener _listener;

    public PublishTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == MessagingTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                lock (_stopped)
                {
                    _stopped.Add(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    [Fact]
    public async Task ThePublishSpanLastsUntilTheBrokerConfirms()
    {
        var confirm = new TaskCompletionSource();
        await using var bus = BusOverOneChannel(_ => new ValueTask(confirm.Task));
        var submitted = new TrainingJobSubmitted(Guid.NewGuid());

        var publishing = bus.PublishAsync(submitted);
        var beforeConfirm = Spans(submitted);
        confirm.SetResult();
        await publishing;

        Assert.Empty(beforeConfirm);
        var span = Assert.Single(Spans(submitted));
        Assert.Equal("publish modelplatform.events:TrainingJobSubmitted", span.DisplayName);
        Assert.Equal(ActivityKind.Producer, span.Kind);
        Assert.Equal("send", span.GetTagItem("messaging.operation.type"));
        Assert.Equal("modelplatform.events:TrainingJobSubmitted", span.GetTagItem("messaging.destination.name"));
    }

    [Fact]
    public async Task AnEventInALaneIsRoutedToTheLaneAndKeepsItsTypeAndBody()
    {
        var published = new List<object?[]>();
        await using var bus = BusOverOneChannel(Record);

        await bus.PublishAsync(new TrainingJobSubmitted(Guid.NewGuid(), JobPriority.Background));
        await bus.PublishAsync(new TrainingJobSubmitted(Guid.NewGuid()));

        Assert.Equal(["TrainingJobSubmitted.background", "TrainingJobSubmitted"], published.Select(args => (string)args[1]!));
        Assert.All(published, args => Assert.Equal("TrainingJobSubmitted", ((BasicProperties)args[3]!).Type));
        var body = Encoding.UTF8.GetString(((ReadOnlyMemory<byte>)published[0][4]!).Span);
        Assert.Contains("\"priority\":\"background\"", body);
        Assert.DoesNotContain("lane", body, StringComparison.OrdinalIgnoreCase);

        ValueTask Record(object?[] args)
        {
            published.Add(args);
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>The publish spans of <paramref name="event"/> that have ended (other tests publish at the same time).</summary>
    private List<Activity> Spans(IntegrationEvent @event)
    {
        lock (_stopped)
        {
            return [.. _stopped.Where(activity => activity.GetTagItem("messaging.message.id") as string == @event.Id.ToString())];
        }
    }

    /// <summary>A bus whose connection has one open channel, on which <paramref name="publish"/> answers each publish (given its arguments).</summary>
    private static RabbitMQEventBus BusOverOneChannel(Func<object?[], ValueTask> publish)
    {
        var channel = Fake<IChannel>((method, args) => method.Name switch
        {
            "get_IsOpen" => true,
            "BasicPublishAsync" => publish(args),
            "DisposeAsync" => ValueTask.CompletedTask,
            _ => throw new NotSupportedException(method.Name),
        });
        var connection = Fake<IConnection>((method, _) => method.Name == "CreateChannelAsync"
            ? Task.FromResult(channel)
            : throw new NotSupportedException(method.Name));
        return new RabbitMQEventBus(connection, null!, Options.Create(new EventBusOptions()),
            Options.Create(new EventBusSubscriptions()), NullLogger<RabbitMQEventBus>.Instance);
    }

    /// <summary>An implementation of <typeparamref name="T"/> whose every call <paramref name="handle"/> answers.</summary>
    private static T Fake<T>(Func<MethodInfo, object?[], object?> handle) where T : class
    {
        var fake = DispatchProxy.Create<T, Proxy>();
        ((Proxy)(object)fake).Handle = handle;
        return fake;
    }

    public class Proxy : DispatchProxy
    {
        public Func<MethodInfo, object?[], object?> Handle { get; set; } = null!;

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) => Handle(targetMethod!, args ?? []);
    }

    public void Dispose() => _listener.Dispose();
}

using System.Diagnostics;
using System.Text;
using RabbitMQ.Client;

namespace ModelPlatform.Messaging.Tests;

public sealed class TraceContextTests : IDisposable
{
    private readonly ActivitySource _source = new("ModelPlatform.Messaging.Tests");
    private readonly ActivityListener _listener = new()
    {
        ShouldListenTo = source => source.Name.StartsWith("ModelPlatform.", StringComparison.Ordinal),
        Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
    };

    public TraceContextTests() => ActivitySource.AddActivityListener(_listener);

    [Fact]
    public void ConsumerContinuesThePublishersTrace()
    {
        using var request = _source.StartActivity("POST /training-jobs")!;
        var headers = new Dictionary<string, object?>();
        string publishSpanId;
        using (var publish = MessagingTelemetry.StartPublish("modelplatform.events", "TrainingJobSubmitted", "m1", headers)!)
        {
            publishSpanId = publish.SpanId.ToString();
        }

        request.Stop();
        Activity.Current = null;

        // AMQP delivers string headers as UTF-8 bytes.
        var delivered = new BasicProperties
        {
            MessageId = "m1",
            Headers = headers.ToDictionary(pair => pair.Key, pair => (object?)Encoding.UTF8.GetBytes((string)pair.Value!)),
        };
        using var process = MessagingTelemetry.StartProcess("training", "modelplatform.events", "TrainingJobSubmitted", delivered)!;

        Assert.Equal(request.TraceId, process.TraceId);
        Assert.Equal(publishSpanId, process.ParentSpanId.ToString());
        Assert.Equal(ActivityKind.Consumer, process.Kind);
        Assert.Equal("training", process.GetTagItem("messaging.destination.subscription.name"));
        Assert.Equal("process modelplatform.events:TrainingJobSubmitted", process.DisplayName);
        Assert.Equal("modelplatform.events:TrainingJobSubmitted:training", process.GetTagItem("messaging.destination.name"));
    }

    [Fact]
    public void MessageWithoutTraceHeadersStartsANewTrace()
    {
        Activity.Current = null;

        using var process = MessagingTelemetry.StartProcess("training", "x", "TrainingJobSubmitted", new BasicProperties())!;

        Assert.Equal(default, process.ParentSpanId);
    }

    public void Dispose()
    {
        _listener.Dispose();
        _source.Dispose();
    }
}

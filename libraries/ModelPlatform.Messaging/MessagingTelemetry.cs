using System.Diagnostics;
using System.Text;
using OpenTelemetry;
using OpenTelemetry.Context.Propagation;
using RabbitMQ.Client;

namespace ModelPlatform.Messaging;

/// <summary>
/// Carries the W3C trace context (and baggage) across RabbitMQ in message headers, so one trace runs
/// from the HTTP request that published a message through every consumer that handled it.
/// </summary>
/// <remarks>
/// Spans, names and tags follow https://opentelemetry.io/docs/specs/semconv/messaging/rabbitmq/: a producer's destination
/// is <c>{exchange}:{routing key}</c>, a consumer's adds the queue.
/// </remarks>
public static class MessagingTelemetry
{
    public const string ActivitySourceName = "ModelPlatform.Messaging";

    internal static readonly ActivitySource Source = new(ActivitySourceName);

    // W3C trace context and baggage, explicitly: the SDK's default propagator is a no-op until the SDK starts.
    private static readonly TextMapPropagator Propagator = new CompositeTextMapPropagator([new TraceContextPropagator(), new BaggagePropagator()]);

    /// <summary>
    /// Starts the span of one publish, <c>publish {exchange}:{event}</c>, and writes its trace context into the headers.
    /// The caller ends it once the broker has confirmed the message.
    /// </summary>
    internal static Activity? StartPublish(string exchange, string routingKey, string? messageId, IDictionary<string, object?> headers)
    {
        var destination = Destination(exchange, routingKey);
        var activity = Source.StartActivity($"publish {destination}", ActivityKind.Producer);
        AddTags(activity, "publish", "send", destination, routingKey);
        activity?.SetTag("messaging.message.id", messageId);
        var context = activity?.Context ?? Activity.Current?.Context ?? default;
        Propagator.Inject(new PropagationContext(context, Baggage.Current), headers, static (carrier, key, value) => carrier[key] = value);
        return activity;
    }

    /// <summary>Starts the span of handling one delivery, <c>process {exchange}:{event}</c>, as a child of its publisher's span.</summary>
    internal static Activity? StartProcess(string queue, string exchange, string routingKey, IReadOnlyBasicProperties properties)
    {
        var parent = ExtractContext(properties);
        Baggage.Current = parent.Baggage;
        var destination = Destination(exchange, routingKey);
        var activity = Source.StartActivity($"process {destination}", ActivityKind.Consumer, parent.ActivityContext);
        // The queue goes in the attributes, not the name: a per-instance queue has a generated, unbounded name.
        AddTags(activity, "process", "process", $"{destination}:{queue}", routingKey);
        activity?.SetTag("messaging.destination.subscription.name", queue);
        activity?.SetTag("messaging.message.id", properties.MessageId);
        return activity;
    }

    internal static PropagationContext ExtractContext(IReadOnlyBasicProperties properties) =>
        Propagator.Extract(default, properties, static (props, key) =>
            props.Headers?.TryGetValue(key, out var value) == true ? [HeaderText(value)] : []);

    // AMQP delivers string headers as UTF-8 byte arrays.
    private static string HeaderText(object? value) => value switch
    {
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        _ => value?.ToString() ?? string.Empty,
    };

    // RabbitMQ names a destination by exchange and routing key (the event type here): "modelplatform.events:AliasChanged".
    private static string Destination(string exchange, string routingKey) => $"{(exchange.Length == 0 ? "amq.default" : exchange)}:{routingKey}";

    private static void AddTags(Activity? activity, string operation, string operationType, string destination, string routingKey)
    {
        activity?.SetTag("messaging.system", "rabbitmq");
        activity?.SetTag("messaging.operation.name", operation);
        activity?.SetTag("messaging.operation.type", operationType);
        // The older attribute, which the Aspire dashboard reads to title messaging spans ("MSG rabbitmq publish …").
        activity?.SetTag("messaging.operation", operation);
        activity?.SetTag("messaging.destination.name", destination);
        activity?.SetTag("messaging.rabbitmq.destination.routing_key", routingKey);
    }
}

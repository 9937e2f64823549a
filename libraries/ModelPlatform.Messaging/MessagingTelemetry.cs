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
/// <remarks>Tags follow https://opentelemetry.io/docs/specs/semconv/messaging/rabbitmq/.</remarks>
public static class MessagingTelemetry
{
    public const string ActivitySourceName = "ModelPlatform.Messaging";

    internal static readonly ActivitySource Source = new(ActivitySourceName);

    // W3C trace context and baggage, explicitly: the SDK's default propagator is a no-op until the SDK starts.
    private static readonly TextMapPropagator Propagator = new CompositeTextMapPropagator([new TraceContextPropagator(), new BaggagePropagator()]);

    internal static Activity? StartPublish(string exchange, string routingKey, IDictionary<string, object?> headers)
    {
        var activity = Source.StartActivity($"publish {routingKey}", ActivityKind.Producer);
        AddTags(activity, "publish", exchange, routingKey);
        var context = activity?.Context ?? Activity.Current?.Context ?? default;
        Propagator.Inject(new PropagationContext(context, Baggage.Current), headers, static (carrier, key, value) => carrier[key] = value);
        return activity;
    }

    internal static Activity? StartProcess(string queue, string exchange, string routingKey, IReadOnlyBasicProperties properties)
    {
        var parent = ExtractContext(properties);
        Baggage.Current = parent.Baggage;
        var activity = Source.StartActivity($"process {routingKey}", ActivityKind.Consumer, parent.ActivityContext);
        AddTags(activity, "process", exchange, routingKey);
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

    private static void AddTags(Activity? activity, string operation, string exchange, string routingKey)
    {
        activity?.SetTag("messaging.system", "rabbitmq");
        activity?.SetTag("messaging.operation.type", operation);
        activity?.SetTag("messaging.destination.name", exchange);
        activity?.SetTag("messaging.rabbitmq.destination.routing_key", routingKey);
    }
}

using ModelPlatform.Contracts;

namespace ModelPlatform.Messaging;

/// <summary>The events a service subscribes to, keyed by routing key (the event's type name).</summary>
public sealed class EventBusSubscriptions
{
    private readonly Dictionary<string, Type> _eventTypes = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, Type> EventTypes => _eventTypes;

    public static string RoutingKeyFor(Type eventType) => eventType.Name;

    internal void Add<TEvent>() where TEvent : IntegrationEvent => _eventTypes[RoutingKeyFor(typeof(TEvent))] = typeof(TEvent);
}

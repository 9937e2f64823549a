using ModelPlatform.Contracts;

namespace ModelPlatform.Messaging;

public interface IEventBus
{
    /// <summary>Publishes <paramref name="event"/> and returns once the broker has confirmed it is stored.</summary>
    Task PublishAsync(IntegrationEvent @event, CancellationToken cancellationToken = default);
}

public interface IIntegrationEventHandler<in TEvent> where TEvent : IntegrationEvent
{
    /// <summary>Handles one delivery. Throwing sends the message to the dead-letter queue.</summary>
    Task HandleAsync(TEvent @event, CancellationToken cancellationToken);
}

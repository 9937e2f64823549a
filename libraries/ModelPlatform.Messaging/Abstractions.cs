using ModelPlatform.Contracts;

namespace ModelPlatform.Messaging;

public interface IEventBus
{
    /// <summary>
    /// Publishes <paramref name="event"/> and returns once the broker has confirmed it is stored; throws
    /// <see cref="UnroutableEventException"/> when no queue takes it.
    /// </summary>
    Task PublishAsync(IntegrationEvent @event, PublishOptions? options = null, CancellationToken cancellationToken = default);
}

/// <summary>The broker took the event but no queue is bound for it: nothing consumes it (yet).</summary>
public sealed class UnroutableEventException(string routingKey, Exception inner)
    : Exception($"No queue takes {routingKey} messages: nothing consumes them yet.", inner)
{
    public string RoutingKey { get; } = routingKey;
}

/// <summary>How a message is to be handled by its consumers.</summary>
/// <param name="MaxAttempts">How many times a handler may try before the message is dead-lettered; null for the consumer's default.</param>
public sealed record PublishOptions(int? MaxAttempts = null);

public interface IIntegrationEventHandler<in TEvent> where TEvent : IntegrationEvent
{
    /// <summary>
    /// Handles one delivery. Returning acknowledges the message. Throwing retries it after a growing delay,
    /// until <see cref="MessageContext.IsLastAttempt"/>; then it goes to the dead-letter queue with the error.
    /// </summary>
    Task HandleAsync(TEvent @event, CancellationToken cancellationToken);
}

/// <summary>The delivery being handled, for handlers that act differently on their last attempt.</summary>
public sealed class MessageContext
{
    public string? MessageId { get; internal set; }

    /// <summary>1 for the first delivery, 2 for the first retry, and so on.</summary>
    public int Attempt { get; internal set; } = 1;

    public int MaxAttempts { get; internal set; } = 1;

    public bool IsLastAttempt => Attempt >= MaxAttempts;
}

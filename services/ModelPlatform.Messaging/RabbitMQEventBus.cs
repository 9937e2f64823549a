using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelPlatform.Contracts;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace ModelPlatform.Messaging;

/// <summary>
/// Publishes integration events with publisher confirms and consumes this service's queue with manual
/// acknowledgements: a message is acked only after its handlers succeed, dead-lettered when they fail,
/// and requeued when the service stops mid-handling so another replica can take it.
/// </summary>
internal sealed partial class RabbitMQEventBus(
    IConnection connection,
    IServiceScopeFactory scopeFactory,
    IOptions<EventBusOptions> options,
    IOptions<EventBusSubscriptions> subscriptionOptions,
    ILogger<RabbitMQEventBus> logger) : IEventBus, IHostedService, IAsyncDisposable
{
    private static readonly JsonSerializerOptions SerializerOptions = JsonSerializerOptions.Web;

    private readonly EventBusOptions _options = options.Value;
    private readonly EventBusSubscriptions _subscriptions = subscriptionOptions.Value;
    private readonly SemaphoreSlim _publishLock = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private IChannel? _publishChannel;
    private IChannel? _consumeChannel;

    public async Task PublishAsync(IntegrationEvent @event, CancellationToken cancellationToken = default)
    {
        var routingKey = EventBusSubscriptions.RoutingKeyFor(@event.GetType());
        var body = JsonSerializer.SerializeToUtf8Bytes(@event, @event.GetType(), SerializerOptions);
        var properties = new BasicProperties
        {
            MessageId = @event.Id.ToString(),
            Type = routingKey,
            ContentType = "application/json",
            DeliveryMode = DeliveryModes.Persistent,
            Timestamp = new AmqpTimestamp(@event.CreatedAt.ToUnixTimeSeconds()),
            Headers = new Dictionary<string, object?>(),
        };

        using var activity = MessagingTelemetry.StartPublish(_options.Exchange, routingKey, properties.Headers);
        await _publishLock.WaitAsync(cancellationToken);
        try
        {
            var channel = _publishChannel ??= await connection.CreateChannelAsync(
                new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true),
                cancellationToken);
            // With confirmation tracking on, this completes only once the broker has the message (or throws).
            await channel.BasicPublishAsync(_options.Exchange, routingKey, mandatory: false, properties, body, cancellationToken);
        }
        catch (Exception ex)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            throw;
        }
        finally
        {
            _publishLock.Release();
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Topology is declared before the host serves requests, so nothing published here is unroutable.
        await using var setup = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        await setup.ExchangeDeclareAsync(_options.Exchange, ExchangeType.Topic, durable: true, cancellationToken: cancellationToken);
        await setup.ExchangeDeclareAsync(_options.DeadLetterExchange, ExchangeType.Direct, durable: true, cancellationToken: cancellationToken);

        if (_subscriptions.EventTypes.Count == 0)
        {
            return;
        }

        _consumeChannel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        await _consumeChannel.BasicQosAsync(0, _options.PrefetchCount, global: false, cancellationToken);
        var queue = await DeclareQueueAsync(_consumeChannel, cancellationToken);
        foreach (var routingKey in _subscriptions.EventTypes.Keys)
        {
            await _consumeChannel.QueueBindAsync(queue, _options.Exchange, routingKey, cancellationToken: cancellationToken);
        }

        var consumer = new AsyncEventingBasicConsumer(_consumeChannel);
        consumer.ReceivedAsync += (_, delivery) => OnReceivedAsync(queue, delivery);
        await _consumeChannel.BasicConsumeAsync(queue, autoAck: false, consumer, cancellationToken);
        LogConsuming(queue, string.Join(", ", _subscriptions.EventTypes.Keys));
    }

    private async Task<string> DeclareQueueAsync(IChannel channel, CancellationToken cancellationToken)
    {
        if (_options.QueuePerInstance)
        {
            var instanceQueue = await channel.QueueDeclareAsync(
                queue: "", durable: false, exclusive: true, autoDelete: true, cancellationToken: cancellationToken);
            return instanceQueue.QueueName;
        }

        var queue = _options.QueueName
            ?? throw new InvalidOperationException($"{nameof(EventBusOptions)}:{nameof(EventBusOptions.QueueName)} is required to subscribe.");
        var deadLetterQueue = queue + ".dead-letter";
        await channel.QueueDeclareAsync(deadLetterQueue, durable: true, exclusive: false, autoDelete: false,
            arguments: new Dictionary<string, object?> { ["x-queue-type"] = "quorum" }, cancellationToken: cancellationToken);
        await channel.QueueBindAsync(deadLetterQueue, _options.DeadLetterExchange, queue, cancellationToken: cancellationToken);
        await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false,
            arguments: new Dictionary<string, object?>
            {
                // Quorum queues are replicated and keep a delivery count; survivable on one node too.
                ["x-queue-type"] = "quorum",
                ["x-dead-letter-exchange"] = _options.DeadLetterExchange,
                ["x-dead-letter-routing-key"] = queue,
            },
            cancellationToken: cancellationToken);
        return queue;
    }

    private async Task OnReceivedAsync(string queue, BasicDeliverEventArgs delivery)
    {
        var channel = _consumeChannel!;
        using var activity = MessagingTelemetry.StartProcess(queue, delivery.Exchange, delivery.RoutingKey, delivery.BasicProperties);
        try
        {
            if (!_subscriptions.EventTypes.TryGetValue(delivery.RoutingKey, out var eventType))
            {
                throw new InvalidOperationException($"No subscription for routing key '{delivery.RoutingKey}'.");
            }

            var @event = (IntegrationEvent?)JsonSerializer.Deserialize(delivery.Body.Span, eventType, SerializerOptions)
                ?? throw new JsonException("The message body is empty.");

            await using (var scope = scopeFactory.CreateAsyncScope())
            {
                var dispatcher = scope.ServiceProvider.GetRequiredKeyedService<IntegrationEventDispatcher>(delivery.RoutingKey);
                await dispatcher(scope.ServiceProvider, @event, _stopping.Token);
            }

            await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Stopping mid-message: hand it back so another replica (or this one after restart) finishes it.
            LogRequeuedOnStop(delivery.RoutingKey, delivery.BasicProperties.MessageId);
            await channel.BasicNackAsync(delivery.DeliveryTag, multiple: false, requeue: true);
        }
        catch (Exception ex)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            activity?.AddException(ex);
            LogHandlerFailed(ex, delivery.RoutingKey, delivery.BasicProperties.MessageId);
            await channel.BasicNackAsync(delivery.DeliveryTag, multiple: false, requeue: false);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (_consumeChannel is { IsOpen: true })
        {
            await _consumeChannel.CloseAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_publishChannel is not null)
        {
            await _publishChannel.DisposeAsync();
        }

        if (_consumeChannel is not null)
        {
            await _consumeChannel.DisposeAsync();
        }

        _stopping.Dispose();
        _publishLock.Dispose();
    }

    [LoggerMessage(LogLevel.Information, "Consuming {Queue} for {RoutingKeys}")]
    private partial void LogConsuming(string queue, string routingKeys);

    [LoggerMessage(LogLevel.Warning, "Stopping: requeued {RoutingKey} message {MessageId}")]
    private partial void LogRequeuedOnStop(string routingKey, string? messageId);

    [LoggerMessage(LogLevel.Error, "Handling {RoutingKey} message {MessageId} failed; dead-lettered")]
    private partial void LogHandlerFailed(Exception exception, string routingKey, string? messageId);
}

/// <summary>Runs every handler registered for one event type.</summary>
internal delegate Task IntegrationEventDispatcher(IServiceProvider services, IntegrationEvent @event, CancellationToken cancellationToken);

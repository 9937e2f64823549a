using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelPlatform.Contracts;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace ModelPlatform.Messaging;

/// <summary>
/// Publishes integration events with publisher confirms and consumes this service's queue, and beside it each of its lanes'
/// queues (<see cref="EventBusOptions.Lanes"/>), with manual acknowledgements. A message is acked only after its handlers
/// succeed. When they throw, it waits in a delay queue and comes back to its queue (twice the wait each time) until its
/// last attempt, then goes to the service's dead-letter queue with the error. When the service stops mid-message, the
/// message is handed back to the broker so another replica (or this one after restart) takes it.
/// </summary>
internal sealed partial class RabbitMQEventBus(
    IConnection connection,
    IServiceScopeFactory scopeFactory,
    IOptions<EventBusOptions> options,
    IOptions<EventBusSubscriptions> subscriptionOptions,
    ILogger<RabbitMQEventBus> logger) : IEventBus, IHostedService, IAsyncDisposable
{
    internal const string AttemptHeader = "x-attempt";
    internal const string MaxAttemptsHeader = "x-max-attempts";
    internal const string ErrorHeader = "x-error";

    private static readonly JsonSerializerOptions SerializerOptions = JsonSerializerOptions.Web;

    private readonly EventBusOptions _options = options.Value;
    private readonly EventBusSubscriptions _subscriptions = subscriptionOptions.Value;
    private readonly SemaphoreSlim _publishLock = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly HashSet<Task> _inFlight = [];
    private readonly List<(IChannel Channel, string ConsumerTag)> _consumers = [];
    private IChannel? _publishChannel;

    public async Task PublishAsync(IntegrationEvent @event, PublishOptions? publishOptions = null, CancellationToken cancellationToken = default)
    {
        // The message's type stays the event's name, which consumers dispatch on, whichever lane it travels in.
        var eventType = EventBusSubscriptions.RoutingKeyFor(@event.GetType());
        var routingKey = LaneRoutingKey(eventType, @event.Lane);
        var properties = new BasicProperties
        {
            MessageId = @event.Id.ToString(),
            Type = eventType,
            ContentType = "application/json",
            DeliveryMode = DeliveryModes.Persistent,
            Timestamp = new AmqpTimestamp(@event.CreatedAt.ToUnixTimeSeconds()),
            Headers = new Dictionary<string, object?>(),
        };
        if (publishOptions?.MaxAttempts is { } maxAttempts)
        {
            properties.Headers[MaxAttemptsHeader] = maxAttempts;
        }

        var body = JsonSerializer.SerializeToUtf8Bytes(@event, @event.GetType(), SerializerOptions);
        // The span covers the broker's confirm, not only the hand-off.
        using var activity = MessagingTelemetry.StartPublish(_options.Exchange, routingKey, properties.MessageId, properties.Headers);
        await ConfirmedPublishAsync(_options.Exchange, routingKey, properties, body, activity, cancellationToken);
    }

    private async Task ConfirmedPublishAsync(
        string exchange, string routingKey, BasicProperties properties, ReadOnlyMemory<byte> body, Activity? activity, CancellationToken cancellationToken)
    {
        await _publishLock.WaitAsync(cancellationToken);
        try
        {
            if (_publishChannel is not { IsOpen: true })
            {
                // A channel the broker closed (rather than a lost connection, which recovers by itself) is replaced.
                if (_publishChannel is not null)
                {
                    await _publishChannel.DisposeAsync();
                }

                _publishChannel = await connection.CreateChannelAsync(
                    new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true),
                    cancellationToken);
            }

            // With confirmation tracking on, this completes only once the broker has the message (or throws). Mandatory:
            // a message no queue takes comes back as an error, rather than vanishing.
            await _publishChannel.BasicPublishAsync(exchange, routingKey, mandatory: true, properties, body, cancellationToken);
        }
        catch (PublishReturnException returned)
        {
            activity?.SetStatus(ActivityStatusCode.Error, returned.ReplyText);
            throw new UnroutableEventException(routingKey, returned);
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

        // The main queue, and each lane's beside it: a consumer and channel of its own, so the lanes' work runs side by side.
        // An event a lane takes as published (with no lane of its own) goes to that lane instead of the main queue.
        var taken = _options.Lanes.Values.SelectMany(settings => settings.Events).ToHashSet(StringComparer.Ordinal);
        await ConsumeAsync(lane: null, _options.PrefetchCount, [.. _subscriptions.EventTypes.Keys.Where(eventType => !taken.Contains(eventType))],
            cancellationToken);
        foreach (var (lane, settings) in _options.Lanes)
        {
            await ConsumeAsync(lane, settings.PrefetchCount,
                [
                    .. _subscriptions.EventTypes.Keys.Select(eventType => LaneRoutingKey(eventType, lane)),
                    .. settings.Events.Where(_subscriptions.EventTypes.ContainsKey),
                ],
                cancellationToken);
        }
    }

    private async Task ConsumeAsync(string? lane, ushort prefetchCount, List<string> routingKeys, CancellationToken cancellationToken)
    {
        // As many deliveries handled at once as the consumer holds.
        var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: false, publisherConfirmationTrackingEnabled: false,
                consumerDispatchConcurrency: prefetchCount),
            cancellationToken);
        await channel.BasicQosAsync(0, prefetchCount, global: false, cancellationToken);
        var queue = await DeclareQueuesAsync(channel, lane, cancellationToken);
        foreach (var routingKey in routingKeys)
        {
            await channel.QueueBindAsync(queue, _options.Exchange, routingKey, cancellationToken: cancellationToken);
        }

        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, delivery) => TrackAsync(OnReceivedAsync(channel, queue, delivery));
        _consumers.Add((channel, await channel.BasicConsumeAsync(queue, autoAck: false, consumer, cancellationToken)));
        LogConsuming(queue, string.Join(", ", routingKeys));
    }

    private static string LaneRoutingKey(string eventType, string? lane) => lane is null ? eventType : $"{eventType}.{lane}";

    private async Task<string> DeclareQueuesAsync(IChannel channel, string? lane, CancellationToken cancellationToken)
    {
        if (_options.QueuePerInstance)
        {
            var instanceQueue = await channel.QueueDeclareAsync(
                queue: "", durable: false, exclusive: true, autoDelete: true, cancellationToken: cancellationToken);
            return instanceQueue.QueueName;
        }

        var serviceQueue = ServiceQueue();
        var queue = lane is null ? serviceQueue : $"{serviceQueue}.{lane}";
        var quorum = new Dictionary<string, object?> { ["x-queue-type"] = "quorum" };
        // One dead-letter queue for the service, whichever lane a message failed in.
        await channel.QueueDeclareAsync(DeadLetterQueue(serviceQueue), durable: true, exclusive: false, autoDelete: false, arguments: quorum,
            cancellationToken: cancellationToken);
        await channel.QueueBindAsync(DeadLetterQueue(serviceQueue), _options.DeadLetterExchange, serviceQueue, cancellationToken: cancellationToken);
        await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false,
            arguments: new Dictionary<string, object?>(quorum)
            {
                // Quorum queues are replicated and survive broker restarts; on one node too.
                ["x-dead-letter-exchange"] = _options.DeadLetterExchange,
                ["x-dead-letter-routing-key"] = serviceQueue,
            },
            cancellationToken: cancellationToken);

        // One delay queue per wait: a message expires there, then the broker routes it back to the queue.
        for (var doublings = 0; doublings < _options.MaxRetryDoublings; doublings++)
        {
            await channel.QueueDeclareAsync(RetryQueue(queue, doublings), durable: true, exclusive: false, autoDelete: false,
                arguments: new Dictionary<string, object?>
                {
                    ["x-message-ttl"] = (int)RetryDelay(doublings).TotalMilliseconds,
                    ["x-dead-letter-exchange"] = "",
                    ["x-dead-letter-routing-key"] = queue,
                },
                cancellationToken: cancellationToken);
        }

        return queue;
    }

    private string ServiceQueue() => _options.QueueName
        ?? throw new InvalidOperationException($"{nameof(EventBusOptions)}:{nameof(EventBusOptions.QueueName)} is required to subscribe.");

    private static string DeadLetterQueue(string queue) => queue + ".dead-letter";

    private string RetryQueue(string queue, int doublings) =>
        $"{queue}.retry.{RetryDelay(doublings).TotalMilliseconds.ToString(CultureInfo.InvariantCulture)}ms";

    private TimeSpan RetryDelay(int doublings) => TimeSpan.FromSeconds(_options.RetryDelaySeconds * Math.Pow(2, doublings));

    /// <summary>Handles one delivery of <paramref name="queue"/>, acknowledging it on the <paramref name="channel"/> it came on.</summary>
    private async Task OnReceivedAsync(IChannel channel, string queue, BasicDeliverEventArgs delivery)
    {
        var properties = delivery.BasicProperties;
        var attempt = IntHeader(properties, AttemptHeader) ?? 1;
        var maxAttempts = IntHeader(properties, MaxAttemptsHeader) ?? _options.MaxAttempts;
        using var activity = MessagingTelemetry.StartProcess(queue, delivery.Exchange, delivery.RoutingKey, properties);
        activity?.SetTag("messaging.rabbitmq.attempt", attempt);
        var routingKey = properties.Type ?? delivery.RoutingKey;
        try
        {
            if (!_subscriptions.EventTypes.TryGetValue(routingKey, out var eventType))
            {
                throw new InvalidOperationException($"No subscription for message type '{routingKey}'.");
            }

            var @event = (IntegrationEvent?)JsonSerializer.Deserialize(delivery.Body.Span, eventType, SerializerOptions)
                ?? throw new JsonException("The message body is empty.");

            await using (var scope = scopeFactory.CreateAsyncScope())
            {
                var context = scope.ServiceProvider.GetRequiredService<MessageContext>();
                (context.MessageId, context.Attempt, context.MaxAttempts) = (properties.MessageId, attempt, maxAttempts);
                var dispatcher = scope.ServiceProvider.GetRequiredKeyedService<IntegrationEventDispatcher>(routingKey);
                await dispatcher(scope.ServiceProvider, @event, _stopping.Token);
            }

            await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Stopping mid-message: hand it back so another replica (or this one after restart) finishes it.
            LogRequeuedOnStop(routingKey, properties.MessageId);
            await channel.BasicNackAsync(delivery.DeliveryTag, multiple: false, requeue: true);
        }
        catch (Exception ex)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            activity?.AddException(ex);
            await RetryOrDeadLetterAsync(channel, queue, delivery, routingKey, attempt, maxAttempts, ex);
        }
    }

    private async Task RetryOrDeadLetterAsync(
        IChannel channel, string queue, BasicDeliverEventArgs delivery, string routingKey, int attempt, int maxAttempts, Exception error)
    {
        if (_options.QueuePerInstance)
        {
            // A per-instance queue serves caches: a failure is logged, and the next event or expiry corrects it.
            LogDropped(error, routingKey, delivery.BasicProperties.MessageId);
            await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false);
            return;
        }

        var properties = new BasicProperties(delivery.BasicProperties)
        {
            Headers = new Dictionary<string, object?>(delivery.BasicProperties.Headers ?? new Dictionary<string, object?>()),
        };
        properties.Type = routingKey;
        string target;
        if (attempt < maxAttempts)
        {
            var doublings = Math.Min(attempt - 1, _options.MaxRetryDoublings - 1);
            target = RetryQueue(queue, doublings);
            properties.Headers[AttemptHeader] = attempt + 1;
            LogRetrying(error, routingKey, delivery.BasicProperties.MessageId, attempt, maxAttempts, RetryDelay(doublings).TotalSeconds);
        }
        else
        {
            target = DeadLetterQueue(ServiceQueue());
            properties.Headers[ErrorHeader] = Encoding.UTF8.GetBytes(error.Message);
            LogDeadLettered(error, routingKey, delivery.BasicProperties.MessageId, attempt);
        }

        // The copy is confirmed before the original is acked, so a crash in between duplicates, never loses.
        await ConfirmedPublishAsync("", target, properties, delivery.Body.ToArray(), null, CancellationToken.None);
        await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false);
    }

    private static int? IntHeader(IReadOnlyBasicProperties properties, string name) =>
        properties.Headers?.TryGetValue(name, out var value) == true && value is not null
            ? Convert.ToInt32(value, CultureInfo.InvariantCulture)
            : null;

    private Task TrackAsync(Task handling)
    {
        lock (_inFlight)
        {
            _inFlight.Add(handling);
        }

        return handling.ContinueWith(done =>
        {
            lock (_inFlight)
            {
                _inFlight.Remove(done);
            }
        }, TaskScheduler.Default);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // No new deliveries, in any lane; then let the ones in hand stop and hand their messages back.
        foreach (var (channel, consumerTag) in _consumers.Where(consumer => consumer.Channel.IsOpen))
        {
            await channel.BasicCancelAsync(consumerTag, noWait: false, cancellationToken);
        }

        await _stopping.CancelAsync();
        Task[] running;
        lock (_inFlight)
        {
            running = [.. _inFlight];
        }

        await Task.WhenAll(running).WaitAsync(cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);

        // Closing the connection here, rather than leaving it to disposal, avoids RabbitMQ.Client 7's deadlock when a
        // connection that went through automatic recovery is disposed (rabbitmq-dotnet-client#1757): the process exits promptly.
        try
        {
            await connection.CloseAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogCloseFailed(ex);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_publishChannel is not null)
        {
            await _publishChannel.DisposeAsync();
        }

        foreach (var (channel, _) in _consumers)
        {
            await channel.DisposeAsync();
        }

        _stopping.Dispose();
        _publishLock.Dispose();
    }

    [LoggerMessage(LogLevel.Warning, "Closing the RabbitMQ connection failed")]
    private partial void LogCloseFailed(Exception exception);

    [LoggerMessage(LogLevel.Information, "Consuming {Queue} for {RoutingKeys}")]
    private partial void LogConsuming(string queue, string routingKeys);

    [LoggerMessage(LogLevel.Warning, "Stopping: requeued {RoutingKey} message {MessageId}")]
    private partial void LogRequeuedOnStop(string routingKey, string? messageId);

    [LoggerMessage(LogLevel.Warning, "Handling {RoutingKey} message {MessageId} failed (attempt {Attempt} of {MaxAttempts}); retrying in {DelaySeconds} s")]
    private partial void LogRetrying(Exception exception, string routingKey, string? messageId, int attempt, int maxAttempts, double delaySeconds);

    [LoggerMessage(LogLevel.Error, "Handling {RoutingKey} message {MessageId} failed on its last attempt ({Attempt}); dead-lettered")]
    private partial void LogDeadLettered(Exception exception, string routingKey, string? messageId, int attempt);

    [LoggerMessage(LogLevel.Warning, "Handling {RoutingKey} message {MessageId} failed; dropped from this instance's queue")]
    private partial void LogDropped(Exception exception, string routingKey, string? messageId);
}

/// <summary>Runs every handler registered for one event type.</summary>
internal delegate Task IntegrationEventDispatcher(IServiceProvider services, IntegrationEvent @event, CancellationToken cancellationToken);

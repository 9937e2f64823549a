using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using ModelPlatform.Contracts;

namespace ModelPlatform.Messaging;

public interface IEventBusBuilder
{
    IServiceCollection Services { get; }
}

public static class EventBusExtensions
{
    /// <summary>
    /// Adds the RabbitMQ connection named <paramref name="connectionName"/> (an AppHost resource) and the event bus.
    /// Options bind from the <c>EventBus</c> configuration section.
    /// </summary>
    /// <param name="brokerDownStatus">What the service's health is while RabbitMQ is unreachable: unhealthy where the
    /// broker carries its work, degraded where the service goes on serving without it.</param>
    public static IEventBusBuilder AddRabbitMQEventBus(
        this IHostApplicationBuilder builder, string connectionName, HealthStatus brokerDownStatus = HealthStatus.Unhealthy)
    {
        // The bus traces every publish and process itself (MessagingTelemetry); the client's own spans would repeat each one.
        // Its own health check is replaced by one that reports the status the service chose.
        builder.AddRabbitMQClient(connectionName, settings =>
        {
            settings.DisableTracing = true;
            settings.DisableHealthChecks = true;
        });
        builder.Services.AddHealthChecks().AddCheck<BrokerHealthCheck>(BrokerHealthCheck.Name, brokerDownStatus);

        builder.Services.AddOptions<EventBusOptions>()
            .BindConfiguration("EventBus")
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddScoped<MessageContext>();
        builder.Services.AddSingleton<RabbitMQEventBus>();
        builder.Services.AddSingleton<IEventBus>(services => services.GetRequiredService<RabbitMQEventBus>());
        builder.Services.AddHostedService(services => services.GetRequiredService<RabbitMQEventBus>());

        return new EventBusBuilder(builder.Services);
    }

    /// <summary>Subscribes this service's queue to <typeparamref name="TEvent"/>, handled by <typeparamref name="THandler"/>.</summary>
    public static IEventBusBuilder AddSubscription<TEvent, THandler>(this IEventBusBuilder eventBus)
        where TEvent : IntegrationEvent
        where THandler : class, IIntegrationEventHandler<TEvent>
    {
        eventBus.Services.AddScoped<IIntegrationEventHandler<TEvent>, THandler>();
        eventBus.Services.AddKeyedSingleton<IntegrationEventDispatcher>(
            EventBusSubscriptions.RoutingKeyFor(typeof(TEvent)),
            static (_, _) => static async (services, @event, cancellationToken) =>
            {
                foreach (var handler in services.GetServices<IIntegrationEventHandler<TEvent>>())
                {
                    await handler.HandleAsync((TEvent)@event, cancellationToken);
                }
            });
        eventBus.Services.Configure<EventBusSubscriptions>(subscriptions => subscriptions.Add<TEvent>());
        return eventBus;
    }

    private sealed record EventBusBuilder(IServiceCollection Services) : IEventBusBuilder;
}

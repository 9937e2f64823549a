using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ModelPlatform.Contracts;

namespace ModelPlatform.Messaging.Tests;

public class SubscriptionTests
{
    private sealed record TestEventBus(IServiceCollection Services) : IEventBusBuilder;

    private sealed class RecordingHandler(List<AliasChanged> seen) : IIntegrationEventHandler<AliasChanged>
    {
        public Task HandleAsync(AliasChanged @event, CancellationToken cancellationToken)
        {
            seen.Add(@event);
            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task RoutesAnEventToItsHandlerByTypeName()
    {
        var seen = new List<AliasChanged>();
        var services = new ServiceCollection().AddSingleton(seen);
        new TestEventBus(services).AddSubscription<AliasChanged, RecordingHandler>();
        await using var provider = services.BuildServiceProvider();
        var subscriptions = provider.GetRequiredService<IOptions<EventBusSubscriptions>>().Value;
        var @event = new AliasChanged(new AliasInfo("iris", "production", 2, 1));

        Assert.Equal(typeof(AliasChanged), subscriptions.EventTypes["AliasChanged"]);
        await using var scope = provider.CreateAsyncScope();
        var dispatch = scope.ServiceProvider.GetRequiredKeyedService<IntegrationEventDispatcher>("AliasChanged");
        await dispatch(scope.ServiceProvider, @event, CancellationToken.None);

        Assert.Equal([@event], seen);
    }
}

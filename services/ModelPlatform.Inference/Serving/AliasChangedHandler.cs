using ModelPlatform.Contracts;
using ModelPlatform.Messaging;

namespace ModelPlatform.Inference.Serving;

/// <summary>
/// Hot swap: when an alias moves, load and warm every version of its new route first (main, canary, shadow), then
/// switch the alias in one step, so requests never wait on a load and never see an error. Requests already running
/// finish on the version they resolved.
/// </summary>
public sealed partial class AliasChangedHandler(ModelCatalog catalog, LoadedModels models, ILogger<AliasChangedHandler> logger)
    : IIntegrationEventHandler<AliasChanged>
{
    public async Task HandleAsync(AliasChanged @event, CancellationToken cancellationToken)
    {
        var route = @event.Route;
        foreach (var versionNumber in route.Versions())
        {
            var version = await catalog.GetVersionAsync(@event.ModelName, versionNumber, cancellationToken)
                ?? throw new InvalidOperationException($"The registry has no {@event.ModelName} v{versionNumber}.");
            await models.GetAsync(version, cancellationToken);
        }

        await catalog.SetAliasAsync(@event.ModelName, @event.Alias, route);
        LogSwapped(@event.ModelName, @event.Alias, @event.PreviousVersion, @event.Version, @event.Canary?.Version, @event.Canary?.Percent, @event.Shadow);
    }

    [LoggerMessage(LogLevel.Information, "{ModelName}@{Alias} now serves v{Version} (was v{PreviousVersion}); canary v{CanaryVersion} at {CanaryPercent}%, shadow v{ShadowVersion}")]
    private partial void LogSwapped(string modelName, string alias, int? previousVersion, int version, int? canaryVersion, int? canaryPercent, int? shadowVersion);
}

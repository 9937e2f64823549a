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
        var alias = @event.Alias;
        foreach (var versionNumber in alias.Route.Versions())
        {
            var version = await catalog.GetVersionAsync(alias.ModelName, versionNumber, cancellationToken)
                ?? throw new InvalidOperationException($"The registry has no {alias.ModelName} v{versionNumber}.");
            await models.GetAsync(version, cancellationToken);
        }

        await catalog.SetAliasAsync(alias.ModelName, alias.Alias, alias.Route);
        LogSwapped(alias.ModelName, alias.Alias, alias.PreviousVersion, alias.Version, alias.Canary?.Version, alias.Canary?.Percent, alias.Shadow);
    }

    [LoggerMessage(LogLevel.Information,
        "{ModelName}@{Alias} now serves v{Version} (was v{PreviousVersion}); canary v{CanaryVersion} at {CanaryPercent}%, shadow v{ShadowVersion}")]
    private partial void LogSwapped(
        string modelName, string alias, int? previousVersion, int version, int? canaryVersion, int? canaryPercent, int? shadowVersion);
}

using ModelPlatform.Contracts;
using ModelPlatform.Messaging;

namespace ModelPlatform.Inference.Serving;

/// <summary>
/// Hot swap: when an alias moves, load and warm every version of its new route first (main, canary, shadow), then
/// switch the alias in one step, so requests never wait on a load and never see an error. Requests already running
/// finish on the version they resolved. Each move carries the alias's sequence number; a move older than one already
/// known (events can arrive out of order, or after this replica read a newer route) is ignored.
/// </summary>
public sealed partial class AliasChangedHandler(ModelCatalog catalog, LoadedModels models, ILogger<AliasChangedHandler> logger)
    : IIntegrationEventHandler<AliasChanged>
{
    public async Task HandleAsync(AliasChanged @event, CancellationToken cancellationToken)
    {
        var alias = @event.Alias;
        if (catalog.IsStale(alias.ModelName, alias.Alias, alias.Sequence))
        {
            LogStale(alias.ModelName, alias.Alias, alias.Sequence);
            return;
        }

        foreach (var versionNumber in alias.Route.Versions())
        {
            var version = await catalog.GetVersionAsync(alias.ModelName, versionNumber, cancellationToken)
                ?? throw new InvalidOperationException($"The registry has no {alias.ModelName} v{versionNumber}.");
            await models.GetAsync(version, cancellationToken);
        }

        if (!await catalog.SetAliasAsync(alias.ModelName, alias.Alias, alias.Route, alias.Sequence))
        {
            LogStale(alias.ModelName, alias.Alias, alias.Sequence);
            return;
        }

        LogSwapped(alias.ModelName, alias.Alias, alias.PreviousVersion, alias.Version, alias.Canary?.Version, alias.Canary?.Percent, alias.Shadow);
    }

    [LoggerMessage(LogLevel.Information, "{ModelName}@{Alias}: move {Sequence} is older than one already applied; ignored")]
    private partial void LogStale(string modelName, string alias, long sequence);

    [LoggerMessage(LogLevel.Information,
        "{ModelName}@{Alias} now serves v{Version} (was v{PreviousVersion}); canary v{CanaryVersion} at {CanaryPercent}%, shadow v{ShadowVersion}")]
    private partial void LogSwapped(
        string modelName, string alias, int? previousVersion, int version, int? canaryVersion, int? canaryPercent, int? shadowVersion);
}

using ModelPlatform.Contracts;
using ModelPlatform.Messaging;

namespace ModelPlatform.Inference.Serving;

/// <summary>
/// Hot swap: when an alias moves, load the new version first, then point the alias at it, so requests
/// never wait on a load and never see an error. Requests already running finish on the version they resolved.
/// </summary>
public sealed partial class AliasChangedHandler(ModelCatalog catalog, LoadedModels models, ILogger<AliasChangedHandler> logger)
    : IIntegrationEventHandler<AliasChanged>
{
    public async Task HandleAsync(AliasChanged @event, CancellationToken cancellationToken)
    {
        var version = await catalog.GetVersionAsync(@event.ModelName, @event.Version, cancellationToken)
            ?? throw new InvalidOperationException($"The registry has no {@event.ModelName} v{@event.Version}.");
        await models.GetAsync(version, cancellationToken);
        await catalog.SetAliasAsync(@event.ModelName, @event.Alias, @event.Version);
        LogSwapped(@event.ModelName, @event.Alias, @event.PreviousVersion, @event.Version);
    }

    [LoggerMessage(LogLevel.Information, "{ModelName}@{Alias} now serves v{Version} (was v{PreviousVersion})")]
    private partial void LogSwapped(string modelName, string alias, int? previousVersion, int version);
}

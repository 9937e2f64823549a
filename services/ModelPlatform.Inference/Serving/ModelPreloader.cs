namespace ModelPlatform.Inference.Serving;

/// <summary>
/// At start-up, loads and warms the versions behind every alias, <c>production</c> first; the service reports ready
/// once those are in. A model that cannot load (a bad artifact) is logged and left to fail its own requests rather
/// than keep every other model from serving; an unreachable registry is retried until it answers.
/// </summary>
public sealed partial class ModelPreloader(
    RegistryClient registry, ModelCatalog catalog, LoadedModels models, ServingReadiness readiness, ILogger<ModelPreloader> logger) : BackgroundService
{
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var registered = await RetryAsync(async () => (await registry.ListModelsAsync(stoppingToken))!, "the list of models", stoppingToken);
        var production = registered.Where(model => model.Aliases.ContainsKey(Scoring.DefaultAlias)).ToList();
        for (var i = 0; i < production.Count; i++)
        {
            readiness.WaitingFor($"production model {i + 1} of {production.Count} ({production[i].Name})");
            await LoadAliasAsync(production[i].Name, Scoring.DefaultAlias, stoppingToken);
        }

        readiness.Ready();
        LogReady(production.Count);
        foreach (var model in registered)
        {
            foreach (var alias in model.Aliases.Keys.Where(alias => alias != Scoring.DefaultAlias))
            {
                await LoadAliasAsync(model.Name, alias, stoppingToken);
            }
        }
    }

    private async Task LoadAliasAsync(string model, string alias, CancellationToken stoppingToken)
    {
        var route = await RetryAsync(() => catalog.ResolveAliasAsync(model, alias, stoppingToken).AsTask(), $"{model}@{alias}", stoppingToken);
        foreach (var version in route?.Versions() ?? [])
        {
            try
            {
                var info = await RetryAsync(() => catalog.GetVersionAsync(model, version, stoppingToken).AsTask(), $"{model} v{version}", stoppingToken);
                if (info is not null)
                {
                    await RetryAsync(() => models.GetAsync(info, stoppingToken), $"{model} v{version}", stoppingToken);
                }
            }
            catch (InvalidDataException ex)
            {
                LogUnloadable(ex, model, version);
            }
        }
    }

    /// <summary>Retries while the registry is unreachable, with a growing delay; other failures are the caller's.</summary>
    private async Task<T> RetryAsync<T>(Func<Task<T>> action, string what, CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromSeconds(1);
        while (true)
        {
            try
            {
                return await action();
            }
            catch (Exception ex) when (ex is HttpRequestException or TimeoutException
                or Polly.Timeout.TimeoutRejectedException or Polly.CircuitBreaker.BrokenCircuitException && !stoppingToken.IsCancellationRequested)
            {
                LogRetrying(what, delay.TotalSeconds, ex.Message);
                await Task.Delay(delay, stoppingToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
            }
        }
    }

    [LoggerMessage(LogLevel.Information, "Ready: the {Count} production models are loaded and warm")]
    private partial void LogReady(int count);

    [LoggerMessage(LogLevel.Warning, "Could not load {What} yet, retrying in {DelaySeconds} s: {Reason}")]
    private partial void LogRetrying(string what, double delaySeconds, string reason);

    [LoggerMessage(LogLevel.Error, "{ModelName} v{Version} cannot be loaded; its requests will fail until it is fixed or unaliased")]
    private partial void LogUnloadable(Exception exception, string modelName, int version);
}

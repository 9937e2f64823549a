using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ModelPlatform.Storage;

/// <summary>
/// Cleans up after writers that stopped mid-way (a crash, a killed process): at start and then every minute. Every replica
/// sweeps, so a sweep must be safe to run on several at once, and take only what nobody is still writing.
/// </summary>
public sealed partial class Sweeper(string what, Func<CancellationToken, Task<int>> sweep, TimeProvider clock, ILogger<Sweeper> logger)
    : BackgroundService
{
    private static readonly TimeSpan Period = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period, clock);
        try
        {
            do
            {
                try
                {
                    if (await sweep(stoppingToken) is var deleted and > 0)
                    {
                        LogDeleted(deleted, what);
                    }
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    LogSweepFailed(ex, what);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException)
        {
        }
    }

    [LoggerMessage(LogLevel.Warning, "Deleted {Count} {What}")]
    private partial void LogDeleted(int count, string what);

    [LoggerMessage(LogLevel.Warning, "Looking for {What} failed; trying again at the next sweep")]
    private partial void LogSweepFailed(Exception exception, string what);
}

public static class SweeperExtensions
{
    /// <summary>Sweeps <paramref name="what"/> (for the log: "dataset uploads whose writer stopped") with <paramref name="sweep"/>.</summary>
    public static IServiceCollection AddSweeper<TStore>(
        this IServiceCollection services, string what, Func<TStore, CancellationToken, Task<int>> sweep) where TStore : notnull =>
        services.AddSingleton<IHostedService>(provider => new Sweeper(
            what, cancellationToken => sweep(provider.GetRequiredService<TStore>(), cancellationToken),
            provider.GetRequiredService<TimeProvider>(), provider.GetRequiredService<ILogger<Sweeper>>()));
}

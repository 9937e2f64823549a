using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Ends the process if stopping or disposing its services hangs. RabbitMQ.Client 7 can deadlock while
/// disposing a connection that has been through automatic recovery (rabbitmq/rabbitmq-dotnet-client#1757, #1825);
/// a replica that never exits would hold its port and its jobs' leases until an orchestrator kills it.
/// </summary>
internal sealed partial class ShutdownWatchdog(IHostApplicationLifetime lifetime, ILogger<ShutdownWatchdog> logger) : IHostedService
{
    // The host gives hosted services 30 s to stop (a training job hands itself back within that); disposal then gets 15 s.
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(45);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStopping.Register(() => _ = Task.Delay(Grace).ContinueWith(_ =>
        {
            LogForcedExit(Grace.TotalSeconds);
            Environment.Exit(0);
        }, TaskScheduler.Default));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(LogLevel.Warning, "The host was still stopping {Seconds} s after it began; exiting")]
    private partial void LogForcedExit(double seconds);
}

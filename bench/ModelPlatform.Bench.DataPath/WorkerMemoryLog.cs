using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;

namespace ModelPlatform.Bench;

/// <summary>
/// The memory a training worker logs at points of a job (TrainingJobSubmittedHandler.LogMemory), read from the console
/// output of every replica: resident memory beside the managed heap at the GC's last collection, so the benchmark can tell
/// the rows and the GC's garbage apart from native memory.
/// </summary>
internal sealed partial class WorkerMemoryLog : IAsyncDisposable
{
    private readonly ConcurrentDictionary<(string Job, string Point), Figures> _figures = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _watching = [];

    private WorkerMemoryLog()
    {
    }

    /// <summary>A worker's memory in MiB: resident, the heap at the last GC and how much of it was free, GC committed, allocated now.</summary>
    public sealed record Figures(long Resident, long Heap, long Free, long Committed, long Allocated);

    /// <summary>Follows the console output of each replica of <paramref name="resource"/>.</summary>
    public static async Task<WorkerMemoryLog> WatchAsync(DistributedApplication app, string resource)
    {
        var replicas = app.Services.GetRequiredService<DistributedApplicationModel>().Resources.Single(candidate => candidate.Name == resource)
            .GetReplicaCount();
        var ids = new HashSet<string>();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            await foreach (var update in app.ResourceNotifications.WatchAsync(timeout.Token))
            {
                if (update.Resource.Name == resource && ids.Add(update.ResourceId) && ids.Count == replicas)
                {
                    break;
                }
            }
        }

        var log = new WorkerMemoryLog();
        var loggers = app.Services.GetRequiredService<ResourceLoggerService>();
        log._watching.AddRange(ids.Select(id => log.FollowAsync(loggers, id)));
        return log;
    }

    /// <summary>The figures the job's worker logged at <paramref name="point"/> ("loaded", "trained"); null if none came within 10 s.</summary>
    public async Task<Figures?> ForAsync(string job, string point)
    {
        for (var waited = 0; waited < 100; waited++)
        {
            if (_figures.TryGetValue((job, point), out var figures))
            {
                return figures;
            }

            await Task.Delay(100);
        }

        return null;
    }

    private async Task FollowAsync(ResourceLoggerService loggers, string resourceId)
    {
        try
        {
            await foreach (var batch in loggers.WatchAsync(resourceId).WithCancellation(_stop.Token))
            {
                foreach (var match in batch.Select(line => MemoryLine().Match(line.Content)).Where(match => match.Success))
                {
                    long MiB(string name) => long.Parse(match.Groups[name].Value, CultureInfo.InvariantCulture);
                    _figures[(match.Groups["job"].Value, match.Groups["point"].Value)] =
                        new(MiB("resident"), MiB("heap"), MiB("free"), MiB("committed"), MiB("allocated"));
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed: the benchmark is done.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_watching);
        _stop.Dispose();
    }

    [GeneratedRegex(@"Job (?<job>[0-9a-f-]{36}) memory when (?<point>\w+): resident (?<resident>\d+) MiB; managed heap (?<heap>\d+) MiB at the last GC, "
        + @"(?<free>\d+) MiB of it free; GC committed (?<committed>\d+) MiB; allocated now (?<allocated>\d+) MiB")]
    private static partial Regex MemoryLine();
}

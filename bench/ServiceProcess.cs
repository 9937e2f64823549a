using System.Diagnostics;
using System.Globalization;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;

namespace ModelPlatform.Bench;

/// <summary>
/// A process of the platform this benchmark started, and its resident memory as Linux reports it (proc(5): VmRSS now,
/// VmHWM the peak since start or since <see cref="ResetPeak"/>).
/// </summary>
internal sealed record ServiceProcess(int Id)
{
    /// <summary>
    /// The processes of the executable <paramref name="name"/> that run the replicas of the AppHost's <paramref name="resource"/>.
    /// Aspire reports the process it started for each replica, a <c>dotnet run</c>, whose child is the service.
    /// </summary>
    public static async Task<IReadOnlyList<ServiceProcess>> FindAsync(DistributedApplication app, string resource, string name)
    {
        var replicas = app.Services.GetRequiredService<DistributedApplicationModel>().Resources.Single(candidate => candidate.Name == resource)
            .GetReplicaCount();
        // The watch begins with every replica's present state.
        var started = new Dictionary<string, int>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await foreach (var update in app.ResourceNotifications.WatchAsync(timeout.Token))
        {
            var pid = update.Snapshot.Properties.FirstOrDefault(property => property.Name == "executable.pid")?.Value;
            if (update.Resource.Name == resource && pid is not null)
            {
                started[update.ResourceId] = Convert.ToInt32(pid, CultureInfo.InvariantCulture);
                if (started.Count == replicas)
                {
                    break;
                }
            }
        }

        return [.. Process.GetProcessesByName(name).Select(process => process.Id)
            .Where(id => started.ContainsValue(id) || started.ContainsValue(ParentOf(id))).Order().Select(id => new ServiceProcess(id))];
    }

    public long ResidentBytes => Kilobytes("VmRSS:") * 1024;

    public long PeakBytes => Kilobytes("VmHWM:") * 1024;

    /// <summary>Starts the peak over from the present resident size (writing 5 to clear_refs).</summary>
    public void ResetPeak() => File.WriteAllText($"/proc/{Id}/clear_refs", "5");

    private long Kilobytes(string field)
    {
        var line = File.ReadLines($"/proc/{Id}/status").First(line => line.StartsWith(field, StringComparison.Ordinal));
        return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }

    // The parent is the second field after the command's name, which is in parentheses and may hold spaces.
    private static int ParentOf(int id)
    {
        var stat = File.ReadAllText($"/proc/{id}/stat");
        return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
    }
}

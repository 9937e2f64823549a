using System.Diagnostics;

namespace ModelPlatform.Bench;

/// <summary>
/// Reads a process's resident memory every 100 ms while it works, and keeps the highest reading of each phase the caller
/// names (VmHWM gives the exact peak, this says when it came); each second's reading goes to stderr as a timeline.
/// </summary>
internal sealed class ResidentSampler : IAsyncDisposable
{
    private readonly ServiceProcess _process;
    private readonly string _name;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(string Phase, long PeakBytes)> _phases = [];
    private readonly Task _sampling;

    public ResidentSampler(ServiceProcess process, string name, string phase)
    {
        (_process, _name, Phase) = (process, name, phase);
        _sampling = SampleAsync();
    }

    /// <summary>What the process is doing now; readings are kept per phase.</summary>
    public string Phase { get; set; }

    /// <summary>The highest reading of each phase, in the order the phases came; complete once disposed.</summary>
    public IReadOnlyList<(string Phase, long PeakBytes)> Phases => _phases;

    private async Task SampleAsync()
    {
        var clock = Stopwatch.StartNew();
        var nextLine = TimeSpan.Zero;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        try
        {
            do
            {
                var (phase, resident) = (Phase, _process.ResidentBytes);
                if (_phases.Count == 0 || _phases[^1].Phase != phase)
                {
                    _phases.Add((phase, resident));
                }
                else if (resident > _phases[^1].PeakBytes)
                {
                    _phases[^1] = (phase, resident);
                }

                if (clock.Elapsed >= nextLine)
                {
                    Console.Error.WriteLine($"{_name} {clock.Elapsed.TotalSeconds,6:F1} s  {phase,-14} {resident / (double)(1 << 20),7:F0} MiB");
                    nextLine += TimeSpan.FromSeconds(1);
                }
            }
            while (await timer.WaitForNextTickAsync(_stop.Token));
        }
        catch (OperationCanceledException)
        {
            // Disposed: the work it watched is over.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _sampling;
        _stop.Dispose();
    }
}

namespace ModelPlatform.Training.Pipelines;

/// <summary>Asks this replica's <see cref="PipelineScheduler"/> to check now rather than at its next check (after a run is asked for).</summary>
public sealed class PipelineWakeUp : IDisposable
{
    private readonly SemaphoreSlim _wake = new(0);

    public void Wake() => _wake.Release();

    /// <summary>Waits for a wake-up or for <paramref name="interval"/>, whichever comes first.</summary>
    public async Task WaitAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        await _wake.WaitAsync(interval, cancellationToken);
        // Wake-ups that came while the check ran are all answered by the next one.
        while (_wake.CurrentCount > 0 && await _wake.WaitAsync(0, cancellationToken))
        {
        }
    }

    public void Dispose() => _wake.Dispose();
}

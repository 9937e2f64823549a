using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ModelPlatform.Inference.Serving;

/// <summary>
/// Readiness of the models: unhealthy (so <c>/health</c> and <c>/v2/health/ready</c> answer 503 and Aspire waits)
/// until the models behind every <c>production</c> alias have loaded and warmed up.
/// </summary>
public sealed class ServingReadiness : IHealthCheck
{
    private volatile string? _waitingFor = "the list of production models from the registry";

    public bool IsReady => _waitingFor is null;

    public void WaitingFor(string what) => _waitingFor = what;

    public void Ready() => _waitingFor = null;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_waitingFor is { } waiting
            ? HealthCheckResult.Unhealthy($"Not ready: loading {waiting}.")
            : HealthCheckResult.Healthy());
}

using Microsoft.Extensions.Diagnostics.HealthChecks;
using RabbitMQ.Client;

namespace ModelPlatform.Messaging;

/// <summary>
/// Whether the connection to RabbitMQ is open (it reconnects by itself). When it is not, the result is the status the
/// service registered the check with: unhealthy where the broker carries its work, degraded where the service goes on
/// without it.
/// </summary>
public sealed class BrokerHealthCheck(IConnection connection) : IHealthCheck
{
    public const string Name = "rabbitmq";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(connection.IsOpen
            ? HealthCheckResult.Healthy()
            : new HealthCheckResult(context.Registration.FailureStatus, "RabbitMQ is unreachable; the connection is being recovered."));
}

using System.Reflection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using RabbitMQ.Client;

namespace ModelPlatform.Messaging.Tests;

public class BrokerHealthCheckTests
{
    [Theory]
    [InlineData(HealthStatus.Unhealthy)]
    [InlineData(HealthStatus.Degraded)]
    public async Task ABrokerOutageReportsTheStatusTheServiceChose(HealthStatus brokerDownStatus)
    {
        var check = new BrokerHealthCheck(Connection(isOpen: false));

        var result = await check.CheckHealthAsync(Context(check, brokerDownStatus));

        Assert.Equal(brokerDownStatus, result.Status);
        Assert.Contains("unreachable", result.Description);
    }

    [Fact]
    public async Task AnOpenConnectionIsHealthy()
    {
        var check = new BrokerHealthCheck(Connection(isOpen: true));

        var result = await check.CheckHealthAsync(Context(check, HealthStatus.Degraded));

        Assert.Equal(HealthStatus.Healthy, result.Status);
    }

    private static HealthCheckContext Context(IHealthCheck check, HealthStatus failureStatus) =>
        new() { Registration = new HealthCheckRegistration(BrokerHealthCheck.Name, check, failureStatus, tags: null) };

    private static IConnection Connection(bool isOpen)
    {
        var connection = DispatchProxy.Create<IConnection, ConnectionStub>();
        ((ConnectionStub)(object)connection).IsOpen = isOpen;
        return connection;
    }

    /// <summary>An <see cref="IConnection"/> that only says whether it is open.</summary>
    public class ConnectionStub : DispatchProxy
    {
        public bool IsOpen { get; set; }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
            targetMethod?.Name == "get_IsOpen" ? IsOpen : throw new NotSupportedException(targetMethod?.Name);
    }
}

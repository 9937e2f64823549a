using StackExchange.Redis;

namespace ModelPlatform.TestSupport;

/// <summary>One redis-server and one connection to it, shared by the tests of a class.</summary>
public sealed class RedisConnectionFixture : IDisposable
{
    public RedisConnectionFixture() => Redis = ConnectionMultiplexer.Connect(Server.ConnectionString);

    public RedisServer Server { get; } = new();

    public ConnectionMultiplexer Redis { get; }

    public void Dispose()
    {
        Redis.Dispose();
        Server.Dispose();
    }
}

using Microsoft.Extensions.ObjectPool;

namespace ModelPlatform.ML;

/// <summary>A pool's policy for objects made by a function and returned as they are (the sessions each thread rents in turn).</summary>
internal sealed class FactoryPolicy<T>(Func<T> create) : PooledObjectPolicy<T>
    where T : notnull
{
    public override T Create() => create();

    public override bool Return(T obj) => true;
}

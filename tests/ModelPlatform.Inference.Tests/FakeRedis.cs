using System.Reflection;
using StackExchange.Redis;

namespace ModelPlatform.Inference.Tests;

/// <summary>
/// An in-memory Redis for the few string, set and hash commands the inference caches use, with Redis's transaction semantics:
/// commands queued on a transaction take effect together when it executes. Every state another client could read
/// between two commands is kept in <see cref="ObservableStates"/>.
/// </summary>
internal sealed class FakeRedis
{
    private readonly Dictionary<string, string> _strings = [];
    private readonly Dictionary<string, HashSet<string>> _sets = [];
    private readonly Dictionary<string, Dictionary<string, double>> _hashes = [];

    public List<Dictionary<string, Dictionary<string, double>>> ObservableStates { get; } = [];

    public IConnectionMultiplexer Connection()
    {
        var connection = DispatchProxy.Create<IConnectionMultiplexer, Proxy>();
        ((Proxy)(object)connection).Handle = (method, _) => method.Name switch
        {
            "get_IsConnected" => true,
            "GetDatabase" => Database<IDatabase>(transaction: null),
            _ => throw new NotSupportedException(method.Name),
        };
        return connection;
    }

    /// <summary>A database (commands take effect at once) or, with a list to queue on, a transaction.</summary>
    private T Database<T>(List<Action>? transaction) where T : class, IDatabaseAsync
    {
        var database = DispatchProxy.Create<T, Proxy>();
        ((Proxy)(object)database).Handle = (method, args) =>
        {
            switch (method.Name)
            {
                case "CreateTransaction":
                    return Database<ITransaction>([]);
                case "ExecuteAsync":
                    lock (this)
                    {
                        transaction!.ForEach(command => command());
                        Observe();
                    }

                    return Task.FromResult(true);
                case "StringGetAsync":
                    lock (this)
                    {
                        return Task.FromResult(_strings.TryGetValue(Key(args[0]), out var text) ? (RedisValue)text : RedisValue.Null);
                    }

                case "StringSetAsync":
                    // The expiry is not kept: no test here outlives it.
                    return Run(transaction, () => args.OfType<When>().SingleOrDefault() == When.NotExists
                        ? _strings.TryAdd(Key(args[0]), Text((RedisValue)args[1]!))
                        : (_strings[Key(args[0])] = Text((RedisValue)args[1]!)) is not null);
                case "SetMembersAsync":
                    lock (this)
                    {
                        return Task.FromResult(_sets.GetValueOrDefault(Key(args[0]))?.Select(member => (RedisValue)member).ToArray() ?? []);
                    }

                case "HashGetAllAsync":
                    lock (this)
                    {
                        return Task.FromResult(_hashes.GetValueOrDefault(Key(args[0]))?.Select(field => new HashEntry(field.Key, field.Value)).ToArray() ?? []);
                    }

                case "SetAddAsync":
                    return Run(transaction, () => _sets.TryAdd(Key(args[0]), []) | _sets[Key(args[0])].Add(Text((RedisValue)args[1]!)));
                case "HashIncrementAsync" when args[2] is long by:
                    return Run(transaction, () => (long)Increment(Key(args[0]), Text((RedisValue)args[1]!), by));
                case "HashIncrementAsync" when args[2] is double by:
                    return Run(transaction, () => Increment(Key(args[0]), Text((RedisValue)args[1]!), by));
                default:
                    throw new NotSupportedException(method.Name);
            }
        };
        return database;
    }

    /// <summary>Runs a write now (a command of its own) or when the transaction executes.</summary>
    private Task<T> Run<T>(List<Action>? transaction, Func<T> write)
    {
        if (transaction is null)
        {
            lock (this)
            {
                var result = write();
                Observe();
                return Task.FromResult(result);
            }
        }

        var completion = new TaskCompletionSource<T>();
        transaction.Add(() => completion.SetResult(write()));
        return completion.Task;
    }

    private double Increment(string key, string field, double by)
    {
        var hash = _hashes.TryGetValue(key, out var existing) ? existing : _hashes[key] = [];
        return hash[field] = hash.GetValueOrDefault(field) + by;
    }

    private void Observe() =>
        ObservableStates.Add(_hashes.ToDictionary(hash => hash.Key, hash => new Dictionary<string, double>(hash.Value)));

    private static string Key(object? key) => ((RedisKey)key!).ToString();

    private static string Text(RedisValue value) => value.ToString();

    public class Proxy : DispatchProxy
    {
        public Func<MethodInfo, object?[], object?> Handle { get; set; } = null!;

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) => Handle(targetMethod!, args ?? []);
    }
}

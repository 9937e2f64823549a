using ModelPlatform.Contracts;
using StackExchange.Redis;

namespace ModelPlatform.Inference.Serving;

/// <summary>
/// The running totals of every answered/shadow version pair, kept in Redis so every replica adds to and reads the
/// same figures. A copy's totals are added in one transaction: a reader never sees its rows without its agreements,
/// which would understate the agreement by a whole copy.
/// </summary>
public sealed class ShadowTotals(RedisCache redis)
{
    /// <summary>Adds one scored copy to its pair's totals. False when Redis is unreachable (the copy is not counted).</summary>
    public async Task<bool> AddAsync(string model, int answered, int shadow, int rows, int agreed, double absoluteDifference) =>
        await redis.TryAsync(async db =>
        {
            var totals = TotalsKey(model, answered, shadow);
            var transaction = db.CreateTransaction();
            // Queued, not awaited: they run together on ExecuteAsync.
            _ = transaction.SetAddAsync(PairsKey(model), $"{answered}:{shadow}");
            _ = transaction.HashIncrementAsync(totals, "rows", rows);
            _ = transaction.HashIncrementAsync(totals, "agreed", agreed);
            _ = transaction.HashIncrementAsync(totals, "absolute_difference", absoluteDifference);
            return await transaction.ExecuteAsync();
        });

    /// <summary>Every pair of the model with its totals, ordered by version; null when Redis is unreachable.</summary>
    public Task<List<ShadowComparison>?> ReadAsync(string model) =>
        redis.TryAsync(async db =>
        {
            var pairs = (await db.SetMembersAsync(PairsKey(model)))
                .Select(pair => ((string)pair!).Split(':') switch { var versions => (Answered: int.Parse(versions[0]), Shadow: int.Parse(versions[1])) })
                .OrderBy(pair => pair.Answered).ThenBy(pair => pair.Shadow);
            var comparisons = new List<ShadowComparison>();
            foreach (var (answered, shadow) in pairs)
            {
                // One HGETALL: the pair's fields as of one moment.
                var totals = (await db.HashGetAllAsync(TotalsKey(model, answered, shadow)))
                    .ToDictionary(entry => (string)entry.Name!, entry => (double)entry.Value);
                var rows = (long)totals.GetValueOrDefault("rows");
                var agreed = (long)totals.GetValueOrDefault("agreed");
                comparisons.Add(new ShadowComparison(answered, shadow, rows, agreed,
                    rows == 0 ? 0 : (double)agreed / rows, rows == 0 ? 0 : totals.GetValueOrDefault("absolute_difference") / rows));
            }

            return comparisons;
        });

    private static string PairsKey(string model) => $"modelplatform:inference:shadow:{model}";

    private static string TotalsKey(string model, int answered, int shadow) => $"modelplatform:inference:shadow:{model}:{answered}:{shadow}";
}

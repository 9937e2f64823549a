using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ModelPlatform.Features.Online;

namespace ModelPlatform.Bench.OnlineStore;

/// <summary>
/// The workload: one entity, <c>customer</c> (join key <c>customer_id</c>), and three feature views of ten numbers each,
/// every one over its own dataset with a row for each of 100,000 customers, all fresh; one feature service of all 30 features.
/// Customer ids are <c>c</c> and twelve digits, the form redis-benchmark's <c>__rand_int__</c> takes, so the floor reads the
/// very keys the service reads. Values come from a seeded generator, so every run stores the same table.
/// </summary>
internal static class OnlineWorkload
{
    public const int Customers = 100_000;
    public const int FeaturesPerView = 10;
    public const string Entity = "customer";
    public const string JoinKey = "customer_id";
    public const string FeatureService = "churn_online";

    /// <summary>The views, with a TTL each as the point-in-time benchmark's: none, 30 days, 7 days. Every row is under a day old.</summary>
    public static readonly IReadOnlyList<OnlineView> Views =
    [
        new("profile", [JoinKey], TimeSpan.Zero),
        new("spend_30d", [JoinKey], TimeSpan.FromDays(30)),
        new("activity_7d", [JoinKey], TimeSpan.FromDays(7)),
    ];

    public static readonly IReadOnlyList<string> FeatureNames = [.. Enumerable.Range(0, FeaturesPerView).Select(k => $"f{k}")];

    /// <summary>All 30 features as <c>view:feature</c>, views in order.</summary>
    public static readonly IReadOnlyList<string> References = [.. Views.SelectMany(view => FeatureNames.Select(feature => $"{view.Name}:{feature}"))];

    public static string CustomerId(int customer) => $"c{customer:D12}";

    /// <summary>Uploads the datasets, defines the entity, views and service, and materializes every view; returns the rows written.</summary>
    public static async Task<int> DefineAndMaterializeAsync(HttpClient feature)
    {
        var now = DateTimeOffset.UtcNow;
        await SucceedAsync(feature.PutAsJsonAsync($"/entities/{Entity}", new { joinKeys = new[] { new { name = JoinKey, type = "categorical" } } }));
        var written = 0;
        foreach (var (view, seed) in Views.Select((view, i) => (view, i + 1)))
        {
            using var csv = new StringContent(Csv(now, seed), Encoding.UTF8, "text/csv");
            await SucceedAsync(feature.PostAsync($"/datasets/{view.Name}/versions", csv));
            await SucceedAsync(feature.PutAsJsonAsync($"/feature-views/{view.Name}", new
            {
                entity = Entity,
                dataset = view.Name,
                timestampField = "event_time",
                ttlSeconds = (long)view.Ttl.TotalSeconds,
                features = FeatureNames.Select(name => new { name }),
            }));
            var run = await SucceedAsync(feature.PostAsJsonAsync($"/feature-views/{view.Name}/materialize", new { }));
            written += run.GetProperty("written").GetInt32();
        }

        await SucceedAsync(feature.PutAsJsonAsync($"/feature-services/{FeatureService}", new { features = References }));
        return written;
    }

    /// <summary>
    /// <paramref name="count"/> request bodies for <c>POST /online-features</c>, each of <paramref name="entities"/> random customers,
    /// naming the feature service or listing the 30 features; and the same customers for the store called in process.
    /// </summary>
    public static (byte[][] ByService, byte[][] ByList, IReadOnlyDictionary<string, object?>[][] InProcess) Requests(int count, int entities, int seed)
    {
        var random = new Random(seed);
        var customers = Enumerable.Range(0, count)
            .Select(_ => Enumerable.Range(0, entities).Select(_ => CustomerId(random.Next(Customers))).ToArray())
            .ToArray();
        return (
            [.. customers.Select(ids => JsonSerializer.SerializeToUtf8Bytes(new { featureService = FeatureService, entities = new { customer_id = ids } }))],
            [.. customers.Select(ids => JsonSerializer.SerializeToUtf8Bytes(new { features = References, entities = new { customer_id = ids } }))],
            [.. customers.Select(ids => ids.Select(id => (IReadOnlyDictionary<string, object?>)new Dictionary<string, object?> { [JoinKey] = id }).ToArray())]);
    }

    // customer_id, event_time (under a day before now), f0..f9 (six decimals, as a stored feature would be).
    private static string Csv(DateTimeOffset now, int seed)
    {
        var random = new Random(seed);
        var csv = new StringBuilder($"{JoinKey},event_time,{string.Join(',', FeatureNames)}\n");
        for (var customer = 0; customer < Customers; customer++)
        {
            csv.Append(CustomerId(customer)).Append(',')
                .Append((now - TimeSpan.FromSeconds(random.Next(86_400))).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
            for (var k = 0; k < FeaturesPerView; k++)
            {
                csv.Append(',').Append(Math.Round(random.NextDouble(), 6).ToString(CultureInfo.InvariantCulture));
            }

            csv.Append('\n');
        }

        return csv.ToString();
    }

    private static async Task<JsonElement> SucceedAsync(Task<HttpResponseMessage> call)
    {
        using var response = await call;
        var body = await response.Content.ReadAsStringAsync();
        var request = response.RequestMessage!;
        return response.IsSuccessStatusCode
            ? JsonDocument.Parse(body).RootElement.Clone()
            : throw new InvalidOperationException($"{request.Method} {request.RequestUri} answered {response.StatusCode}: {body}");
    }
}

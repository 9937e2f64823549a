using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using ModelPlatform.Contracts;
using ModelPlatform.Inference.Serving;
using ModelPlatform.ML;
using ModelPlatform.TestSupport;

namespace ModelPlatform.Inference.Tests;

/// <summary>The drift sample against a real Redis: what a row is kept as, the counts, and the windows.</summary>
public sealed class InputSampleTests(RedisConnectionFixture redis) : IClassFixture<RedisConnectionFixture>, IDisposable
{
    private static readonly ModelSignature Signature = new(MLTask.Binary,
        [new("amount", ColumnType.Numeric), new("member", ColumnType.Boolean), new("channel", ColumnType.Categorical)],
        new("churned", ColumnType.Boolean), null);

    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 28, 10, 30, 0, TimeSpan.Zero));

    // A model of its own per test, so no test reads another's sample.
    private readonly ModelVersionInfo _version = TestModels.Version(Signature, model: $"churn-{Guid.NewGuid():N}");

    public void Dispose() => _services.Dispose();

    [Fact]
    public async Task RowsAreKeptAsTheDatasetHoldsThemWithMissingValuesAsNull()
    {
        var sample = Sample(size: 10);

        await sample.AddAsync([(_version, [Row(1.5f, 1, "web"), Row(float.NaN, float.NaN, "")]), (_version, [Row(-2, 0, "store")])]);
        var window = await sample.ReadAsync(_version, previous: false);

        Assert.Equal((3L, 3), (window!.ScoredRows, window.SampledRows));
        Assert.Equal(["amount", "member", "channel"], window.Columns.Select(column => column.Name));
        // Slots come back in no set order: compare each column's values as a set of their JSON texts.
        Assert.Equal(["-2", "1.5", "null"], Texts(window.Columns[0]));
        Assert.Equal(["false", "null", "true"], Texts(window.Columns[1]));
        Assert.Equal(["\"store\"", "\"web\"", "null"], Texts(window.Columns[2]));
    }

    [Fact]
    public async Task TheSampleIsBoundedWhileEveryRowIsCounted()
    {
        var sample = Sample(size: 5);

        for (var request = 0; request < 20; request++)
        {
            await sample.AddAsync([(_version, [.. Enumerable.Range(0, 10).Select(i => Row(request * 10 + i, 1, "web"))])]);
        }

        var window = await sample.ReadAsync(_version, previous: false);
        Assert.Equal((200L, 5), (window!.ScoredRows, window.SampledRows));
        Assert.Equal(5, window.Columns[0].Values.Select(value => value.GetDouble()).Distinct().Count());
    }

    [Fact]
    public async Task ANewWindowStartsAnEmptySampleAndTheLastOneIsStillRead()
    {
        var sample = Sample(size: 10);
        await sample.AddAsync([(_version, [Row(1, 1, "web")])]);

        _clock.Advance(TimeSpan.FromHours(1));
        await sample.AddAsync([(_version, [Row(2, 1, "web"), Row(3, 1, "web")])]);
        var current = await sample.ReadAsync(_version, previous: false);
        var previous = await sample.ReadAsync(_version, previous: true);

        Assert.Equal((2L, new DateTimeOffset(2026, 11, 28, 11, 0, 0, TimeSpan.Zero)), (current!.ScoredRows, current.Start));
        Assert.Equal((1L, current.Start, 1.0), (previous!.ScoredRows, previous.End, previous.Columns[0].Values.Single().GetDouble()));
    }

    private InputSample Sample(int size) => new(
        new RedisCache(redis.Redis, _clock, NullLogger<RedisCache>.Instance),
        _clock,
        new InferenceMetrics(_services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()),
        Options.Create(new InferenceOptions { DriftSampleSize = size, DriftWindowMinutes = 60 }),
        NullLogger<InputSample>.Instance);

    private static ModelRecord Row(float amount, float member, string channel) => new([amount, member, float.NaN], ["", "", channel]);

    private static string[] Texts(ColumnSample column) => [.. column.Values.Select(value => value.GetRawText()).Order(StringComparer.Ordinal)];
}

using System.Runtime.CompilerServices;
using ModelPlatform.Feature.Datasets;

namespace ModelPlatform.Feature.Tests;

/// <summary>The read-ahead an upload's rows pass through: every row, in order, and a failure on either side stops both.</summary>
public class ReadAheadTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(1000)]
    public async Task EveryItemArrivesInOrder(int count)
    {
        var read = await Numbers(count).ReadAheadAsync(batchSize: 8, batches: 2).ToListAsync();

        Assert.Equal(Enumerable.Range(0, count), read);
    }

    [Fact]
    public async Task TheSourcesFailureReachesTheCallerAfterTheItemsBeforeIt()
    {
        var read = new List<int>();

        var failure = await Assert.ThrowsAsync<CsvFormatException>(async () =>
        {
            await foreach (var number in Numbers(20, failAt: 13).ReadAheadAsync(batchSize: 4, batches: 2))
            {
                read.Add(number);
            }
        });

        Assert.Equal("line 14", failure.Message);
        Assert.Equal(Enumerable.Range(0, 13), read);
    }

    [Fact]
    public async Task ACallerThatStopsStopsTheSource()
    {
        var source = new CountingSource();

        await foreach (var number in source.ReadAsync().ReadAheadAsync(batchSize: 4, batches: 2))
        {
            if (number == 10)
            {
                break;
            }
        }

        // The source ran at most the queue (two batches), the batch waiting for room and the batch being read ahead of the caller.
        Assert.True(source.Disposed);
        Assert.InRange(source.Made, 11, 11 + (4 * 4));
    }

    [Fact]
    public async Task CancellingTheCallerCancelsTheRead()
    {
        using var cancellation = new CancellationTokenSource();
        var source = new CountingSource();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var number in source.ReadAsync().ReadAheadAsync(batchSize: 4, batches: 2, cancellation.Token))
            {
                if (number == 5)
                {
                    await cancellation.CancelAsync();
                }
            }
        });

        Assert.True(source.Disposed);
    }

    private static async IAsyncEnumerable<int> Numbers(int count, int? failAt = null)
    {
        for (var i = 0; i < count; i++)
        {
            await Task.Yield();
            if (i == failAt)
            {
                throw new CsvFormatException($"line {i + 1}", i + 1);
            }

            yield return i;
        }
    }

    /// <summary>An endless source that counts what it made and whether it was disposed.</summary>
    private sealed class CountingSource
    {
        public int Made { get; private set; }

        public bool Disposed { get; private set; }

        public async IAsyncEnumerable<int> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            try
            {
                while (true)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    await Task.Yield();
                    yield return Made++;
                }
            }
            finally
            {
                Disposed = true;
            }
        }
    }
}

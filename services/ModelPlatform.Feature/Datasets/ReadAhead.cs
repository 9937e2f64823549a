using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace ModelPlatform.Feature.Datasets;

public static class ReadAhead
{
    /// <summary>
    /// The items of <paramref name="source"/>, made on a thread of their own up to <paramref name="batches"/> batches of
    /// <paramref name="batchSize"/> ahead of the caller: an upload's rows are parsed on one core while the other appends them
    /// to DuckDB. A failure of the source is thrown to the caller where its items end; when the caller stops, so does the source.
    /// </summary>
    public static async IAsyncEnumerable<T> ReadAheadAsync<T>(
        this IAsyncEnumerable<T> source, int batchSize = 1024, int batches = 4, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // Batches, not items: a hand-over per row would cost as much as the work it moves.
        var channel = Channel.CreateBounded<T[]>(new BoundedChannelOptions(batches) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var producer = Task.Run(() => FillAsync(source, channel.Writer, batchSize, stop.Token), CancellationToken.None);
        try
        {
            while (await channel.Reader.WaitToReadAsync(cancellationToken))
            {
                while (channel.Reader.TryRead(out var batch))
                {
                    foreach (var item in batch)
                    {
                        yield return item;
                    }
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            await producer;
        }
    }

    private static async Task FillAsync<T>(IAsyncEnumerable<T> source, ChannelWriter<T[]> writer, int batchSize, CancellationToken cancellationToken)
    {
        var batch = new List<T>(batchSize);
        try
        {
            await foreach (var item in source.WithCancellation(cancellationToken))
            {
                batch.Add(item);
                if (batch.Count == batchSize)
                {
                    await writer.WriteAsync([.. batch], cancellationToken);
                    batch.Clear();
                }
            }

            if (batch.Count > 0)
            {
                await writer.WriteAsync([.. batch], cancellationToken);
            }

            writer.Complete();
        }
        catch (Exception failure)
        {
            // The items made before the source failed still reach the caller (unless it has stopped), then the failure itself.
            if (batch.Count > 0 && !cancellationToken.IsCancellationRequested)
            {
                try
                {
                    await writer.WriteAsync([.. batch], cancellationToken);
                }
                catch (OperationCanceledException)
                {
                }
            }

            writer.Complete(failure);
        }
    }
}

using ModelPlatform.Inference.Serving;

namespace ModelPlatform.Inference.Tests;

public sealed class ReservoirTests
{
    [Fact]
    public void TheFirstRowsFillTheSlotsInOrder()
    {
        var slots = Reservoir.Slots(seenBefore: 2, rows: 2, size: 4, new Random(1));

        // Rows 2 and 3 of the stream take the last free slots, without a draw.
        Assert.Equal(new Dictionary<int, int> { [2] = 0, [3] = 1 }, slots);
    }

    [Fact]
    public void BatchesChooseTheRowsOneRowAtATimeWould()
    {
        // The same random draws, one per row past the fill, whatever the batches: a batch is only a faster way to offer.
        var oneByOne = Sample(100_000, size: 1000, batch: 1);
        var batched = Sample(100_000, size: 1000, batch: 37);

        Assert.Equal(oneByOne, batched);
    }

    [Fact]
    public void EveryPartOfTheStreamIsSampledAlike()
    {
        var sample = Sample(100_000, size: 1000, batch: 64);

        // Ten slices of 10,000 rows: a uniform sample holds about 100 of each. Under a bias toward late rows (always
        // replacing) or early ones (never), the first or last slice would hold none.
        var perSlice = sample.GroupBy(position => position / 10_000).ToDictionary(slice => slice.Key, slice => slice.Count());
        Assert.Equal(1000, sample.Length);
        Assert.All(Enumerable.Range(0, 10), slice => Assert.InRange(perSlice.GetValueOrDefault(slice), 70, 130));
    }

    /// <summary>The stream positions in the slots after <paramref name="rows"/> rows offered in batches (a fixed seed).</summary>
    private static long[] Sample(long rows, int size, int batch)
    {
        var random = new Random(7);
        var slots = new long[size];
        for (long offered = 0; offered < rows; offered += batch)
        {
            var count = (int)Math.Min(batch, rows - offered);
            foreach (var (slot, row) in Reservoir.Slots(offered, count, size, random))
            {
                slots[slot] = offered + row;
            }
        }

        return slots;
    }
}

namespace ModelPlatform.Inference.Serving;

/// <summary>
/// Reservoir sampling (Vitter's algorithm R), a batch at a time: which rows of a batch go into a sample of
/// <c>size</c> slots, given how many rows came before it. Every row seen so far ends up in the sample with the same
/// chance, however many there were, so a fixed number of slots holds a uniform sample of any stream.
/// </summary>
public static class Reservoir
{
    /// <summary>
    /// The slot each chosen row of the batch takes. The first <paramref name="size"/> rows fill the slots in order; row n
    /// after them replaces a random slot with chance size / n. When two rows of a batch take one slot, the later wins, as
    /// it would have one row at a time.
    /// </summary>
    public static Dictionary<int, int> Slots(long seenBefore, int rows, int size, Random random)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(seenBefore);
        var slots = new Dictionary<int, int>();
        for (var row = 0; row < rows; row++)
        {
            var position = seenBefore + row;
            var slot = position < size ? position : random.NextInt64(position + 1);
            if (slot < size)
            {
                slots[(int)slot] = row;
            }
        }

        return slots;
    }
}
